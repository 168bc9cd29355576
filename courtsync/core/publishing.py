"""PURE: what a published calendar says now, from what it said last time: SEQUENCE, DTSTAMP and cancellations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from courtsync.models import PublishedEvent

# A session that leaves a calendar is published as CANCELLED this long (product.md: at least 90 days), so a
# subscriber that polls rarely, or a file imported once, still learns of it; then it is dropped.
KEEP_CANCELLED = timedelta(days=90)
CANCELLED_PREFIX = "Cancelled: "
REMOVED_NOTE = ("This session is no longer on this calendar (the date was removed, or its staff no longer "
                "attend); it is not protected.")
TICK = timedelta(seconds=1)   # DTSTAMP's resolution: a later change is stamped at least this much later


@dataclass(frozen=True)
class Plan:
    """The VEVENTs to write now, and the records that changed (to keep for next time)."""

    events: list[PublishedEvent]
    changed: list[PublishedEvent]


def digest(event: PublishedEvent) -> str:
    """A change that a person would see: start, end, status, summary or location (not description, not stamp)."""
    seen = [event.start.isoformat(), str(event.start.tzinfo), event.end.isoformat(), event.cancelled,
            event.summary, event.location]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:32]


def _stamp(now: datetime, previous: datetime | None) -> datetime:
    # DTSTAMP rises with every change, even when the clock (or --as-of) says an earlier time than last time.
    now = now.astimezone(UTC).replace(microsecond=0)
    return now if previous is None or now > previous else previous + TICK


def _in_range(event: PublishedEvent, first: date | None, last: date | None) -> bool:
    day = event.start.date()
    return (first is None or day >= first) and (last is None or day <= last)


def plan(previous: Mapping[str, PublishedEvent], current: Sequence[PublishedEvent], present: Collection[str],
         now: datetime, first: date | None = None, last: date | None = None,
         keep: timedelta = KEEP_CANCELLED) -> Plan:
    """`current`: the sessions in the range asked for, with the sequence each would start at (its
    baseline). `present`: the UIDs the calendar still holds at any date, so a session that only left the
    range is not taken for a removed one. A record in `previous` that is in neither is cancelled now."""
    out: list[PublishedEvent] = []
    changed: list[PublishedEvent] = []
    for event in current:
        event = replace(event, digest=digest(event))
        old = previous.get(event.uid)
        if old is None:
            new = replace(event, stamp=_stamp(now, None))
        elif old.digest == event.digest and old.gone_since is None:
            new = replace(event, sequence=old.sequence, stamp=old.stamp)
        else:   # moved, cancelled, un-cancelled, renamed, or back after being removed: always a higher SEQUENCE
            new = replace(event, sequence=max(old.sequence + 1, event.sequence), stamp=_stamp(now, old.stamp))
        out.append(new)
        if new != old:
            changed.append(new)
    shown = {e.uid for e in current}
    for uid, old in sorted(previous.items()):
        if uid in shown or uid in present:
            continue
        gone = old
        if old.gone_since is None:
            summary = old.summary if old.summary.startswith(CANCELLED_PREFIX) else CANCELLED_PREFIX + old.summary
            gone = replace(old, cancelled=True, summary=summary, description=f"{REMOVED_NOTE}\n{old.description}",
                           sequence=old.sequence + 1, stamp=_stamp(now, old.stamp), gone_since=now)
            gone = replace(gone, digest=digest(gone))
            changed.append(gone)
        assert gone.gone_since is not None
        if now - gone.gone_since < keep and _in_range(gone, first, last):
            out.append(gone)
    out.sort(key=lambda e: (e.start, e.uid))
    return Plan(events=out, changed=changed)
