"""What a sync may do beyond reading and storing: how long reads may take, how long commands leave a failing
source alone, and which reads are held because they suddenly lost most of a source's upcoming items."""

from __future__ import annotations

import time as clock
from dataclasses import dataclass
from datetime import timedelta

from courtsync.calendars.base import Source, Window
from courtsync.models import BusyItem
from courtsync.store.base import CalendarCache as Store  # the cache half of the store
from courtsync.store.base import Change

SYNC_READ_SECONDS = 60.0   # an explicit `sync`: each read may take max(deadline, this), never forever
BACKOFF_FIRST = 60.0       # seconds a command leaves a source alone after its first failed attempt; doubling
ANSWER_RESERVE = 0.5      # seconds of a command's deadline kept for answering after its reads stop
HOLD_FROM = 5              # upcoming busy items a source must have had before a partial drop can hold its read
                           # (a drop to none is always held)


@dataclass(frozen=True)
class Limit:
    """How long reads may take: one deadline shared by every read a command starts (a person is waiting:
    `shared`), or `seconds` for each read on its own (an explicit sync)."""

    seconds: float
    shared: bool = False
    _until: float | None = None   # time.monotonic() when shared

    @classmethod
    def command(cls, deadline: timedelta, began: float | None = None) -> Limit:
        """The reads of a command that began at `began` (time.monotonic(); None: now): the deadline counts
        from then, the time spent starting up included, and leaves ANSWER_RESERVE of it for the answer, so the
        whole command, every wait in it summed, ends within the deadline."""
        seconds = deadline.total_seconds()
        start = clock.monotonic() if began is None else min(began, clock.monotonic())
        return cls(seconds, True, start + seconds - min(ANSWER_RESERVE, seconds * 0.2))

    @classmethod
    def per_read(cls, deadline: timedelta) -> Limit:
        return cls(max(deadline.total_seconds(), SYNC_READ_SECONDS))

    def until(self) -> float:
        """The time.monotonic() by which a read starting now must be done."""
        return self._until if self._until is not None else clock.monotonic() + self.seconds


@dataclass(frozen=True)
class Policy:
    """What a sync may do beyond reading and storing. The defaults: no time limit, no backoff, nothing held."""

    limit: Limit | None = None
    max_age: timedelta = timedelta(0)        # caps the backoff of a failing source
    max_drop: float = 1.0                    # share of upcoming items a read may lose before it is held
    upcoming_from: float | None = None       # epoch seconds of the start of today; None: no drop check
    accept: frozenset[str] = frozenset()     # sources whose new read is taken whatever it dropped

    def backoff(self, failures: int) -> float:
        """Seconds commands leave a source alone after `failures` setbacks in a row: 1, 2, 4 ... minutes, up to
        max_age (an explicit sync retries at once)."""
        return float(min(BACKOFF_FIRST * 2 ** min(failures - 1, 30), max(self.max_age.total_seconds(), BACKOFF_FIRST)))


def sudden_drop(store: Store, source: Source, change: Change, window: Window, policy: Policy) -> str | None:
    """Why this read must be held, or None: it loses more than max_drop of the busy items the stored copy has
    from today to the end of the window (a feed served empty, or with 3 of its 600 hearings), or all of them
    however few (a small court's feed with 4 hearings served empty). Only the stored groups the read drops or
    replaces are counted, those stored now (another sync may have stored this source since this read began)."""
    if policy.upcoming_from is None:
        return None
    start, end = policy.upcoming_from, window.end.timestamp()
    lost = sum(store.upcoming(source.id, start, end,
                              (store.group_keys(source.id) - change.present) | change.written.keys()).values())
    gained = sum(_counted(g.items, policy, window) for g in change.written.values())
    if lost <= gained:   # (most re-reads: what changed has as many upcoming items as before, or more)
        return None
    before = store.upcoming_count(source.id, start, end)
    after = before - lost + gained
    if not _dropped(before, after, policy):
        return None
    return (f"served {after} of {before} upcoming items; held the last good copy; run "
            f"`courtsync sync --accept {source.id}` to take it")


def held_groups(store: Store, source: Source, change: Change, window: Window, policy: Policy) -> dict[str, str]:
    """A mail source's groups (one per mailbox) that this read empties or mostly empties, each with why: the
    drop is counted per mailbox, so one worker's mailbox served empty among hundreds is held for that worker.
    Each held group is set back in `change` to its stored copy (kept as it is); the others are taken."""
    if policy.upcoming_from is None:
        return {}
    stored = store.upcoming(source.id, policy.upcoming_from, window.end.timestamp())
    mailboxes = set(getattr(source, "mailboxes", {}).values())   # a worker no longer read is dropped, not held
    held: dict[str, str] = {}
    for key, before in stored.items():
        if key not in mailboxes or change.kept(key):
            continue
        group = change.written.get(key)
        after = _counted(group.items, policy, window) if group is not None else 0
        if _dropped(before, after, policy):
            change.written.pop(key, None)   # the stored copy stays
            change.present.add(key)
            held[key] = (f"held: served {after} of {before} upcoming items; the last good copy of this mailbox "
                         f"is kept; run `courtsync sync --accept {source.id}` to take it")
    return held


def _dropped(before: int, after: int, policy: Policy) -> bool:
    if before - after <= 0 or policy.max_drop >= 1.0:   # max_drop = 1: may lose everything (set on purpose)
        return False
    if after == 0:   # all gone, however few there were: never silently
        return True
    return before >= HOLD_FROM and before - after > policy.max_drop * before


def _counted(items: list[BusyItem], policy: Policy, window: Window) -> int:
    lo, hi = policy.upcoming_from or 0.0, window.end.timestamp()
    return sum(1 for i in items if i.busy and lo <= i.start.timestamp() < hi)
