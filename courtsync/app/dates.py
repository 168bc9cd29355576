"""`dates`: the protected sessions of a worker, a collaborative or the staff before a court, and their calendar file."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from courtsync.context import Context
from courtsync.core import schedule
from courtsync.errors import ConfigError, Located, UsageError
from courtsync.models import (
    Collaborative,
    Court,
    PublishedEvent,
    Session,
    Worker,
    court_feed_ids,
)
from courtsync.queries.attendance import booked_sessions


@dataclass(frozen=True)
class DatedSession:
    """A session in a `dates` answer, with the staff it protects where that was asked."""

    session: Session
    collaborative: Collaborative
    worker_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatesResult:
    title: str
    first: date | None
    last: date | None
    sessions: list[DatedSession]
    holidays_label: str


def protected_dates(ctx: Context, *, worker_id: str | None = None, collaborative_id: str | None = None,
                    court_id: str | None = None, first: date | None = None,
                    last: date | None = None) -> DatesResult:
    """Protected sessions for one worker, one collaborative, the staff before one court, or all."""
    chosen = [x for x in (worker_id, collaborative_id, court_id) if x]
    if len(chosen) > 1:
        raise UsageError("Give at most one of --worker, --collaborative and --court.")
    if first and last and last < first:
        raise UsageError(f"--to {last} is before --from {first}.")
    staff: dict[str, list[str]] = {}
    if worker_id:
        worker = ctx.worker(worker_id)
        ids: Collection[str] = worker.collaboratives
        title = f"Protected dates of {worker.name} ({worker.id})"
    elif collaborative_id:
        ids = [ctx.collaborative(collaborative_id).id]
        title = f"Protected dates of the {ctx.collaboratives[collaborative_id].name}"
    elif court_id:
        court = ctx.court(court_id)
        for w in _staff_before(ctx, court, first, last):
            for cid in w.collaboratives:
                staff.setdefault(cid, []).append(w.id)
        ids = list(staff)
        title = f"Protected dates of staff appearing before the {court.name}"
    else:
        ids = list(ctx.collaboratives)
        title = "All protected dates"
    rows = [DatedSession(s, ctx.collaboratives[cid], tuple(sorted(staff.get(cid, ()))))
            for cid in ids for s in schedule.between(ctx.sessions[cid], first, last)]
    if worker_id:   # the make-ups they booked are theirs to protect too
        rows += [DatedSession(s, ctx.collaboratives[s.collaborative_id], ())
                 for s in schedule.between(booked_sessions(ctx, [worker_id]).get(worker_id, []), first, last)]
    rows.sort(key=lambda r: (r.session.start, r.collaborative.id))
    return DatesResult(title=title, first=first, last=last, sessions=rows,
                       holidays_label=ctx.holidays.label)


def _staff_before(ctx: Context, court: Court, first: date | None, last: date | None) -> list[Worker]:
    """Staff with a case before the court (caseload.csv) or an item on its feeds in the store (as last read)."""
    ids = {w.id for w in ctx.roster.workers_at_court(court.id)}
    sources = court_feed_ids(court.id, len(court.feeds))
    lo = datetime.combine(first, time(), tzinfo=ctx.config.tz) if first else None
    hi = datetime.combine(last + timedelta(days=1), time(), tzinfo=ctx.config.tz) if last else None
    try:
        for item in ctx.store.items(ctx.config.tz, sources, lo, hi, busy_only=True):
            ids.update(item.worker_ids)
    except ConfigError:
        pass  # no store to read: the caseload alone
    return [ctx.roster.workers[w] for w in sorted(ids) if w in ctx.roster.workers]


@dataclass(frozen=True)
class PublishedCalendar:
    """A calendar file, and warnings for stderr (the store could not keep what it says)."""

    data: bytes
    warnings: tuple[str, ...] = ()
    stamp: datetime | None = None   # the latest DTSTAMP in it: when it last changed (HTTP Last-Modified)


def dates_ics(ctx: Context, worker_id: str | None, collaborative_id: str | None, court_id: str | None,
              first: date | None, last: date | None, as_of: date | None, clock: float) -> PublishedCalendar:
    """The calendar of one worker, collaborative or court (or all), updated from what it said last time:
    SEQUENCE and DTSTAMP rise on a change (DTSTAMP is midnight of `as_of` when given, so a replay is
    byte-stable, else `clock`), and a session that left it is published as CANCELLED for 90 days. An id no
    longer configured whose calendar was published before gets only those cancellations, so its subscribers
    lose the sessions too."""
    from courtsync.core import publishing as publish
    from courtsync.notices.ics_out import calendar_ics, session_event

    now = datetime.combine(as_of, time(), tzinfo=ctx.config.tz) if as_of else datetime.fromtimestamp(clock, UTC)
    key = (f"worker:{worker_id}" if worker_id else f"collaborative:{collaborative_id}" if collaborative_id
           else f"court:{court_id}" if court_id else "all")
    warning = None
    try:
        previous = ctx.store.published(key)
    except ConfigError as exc:
        if ctx.store.path is None or os.path.lexists(ctx.store.path):
            # A store that exists holds what was published before; a calendar built without it would start
            # SEQUENCE over and lose to the copies people imported. (A read-only store is read, not here.)
            raise ConfigError(f"The store {ctx.store.name} exists but what it recorded of this calendar cannot be "
                              "read; written without it, the calendar would start SEQUENCE over and the calendars "
                              "that imported it would ignore the update. Nothing was written.",
                              problems=[Located(exc.message)],
                              hint=f"Make the store readable (a read-only store with a {ctx.store.name}-wal "
                                   "beside it must be writable once, to fold in its last changes), restore it from a "
                                   "backup, "
                                   "or set `store` in courtsync.toml to the file this calendar was published from."
                              ) from None
        previous, warning = {}, exc.message   # no store yet, and none can be made: nothing was published
    gone = ((worker_id and worker_id not in ctx.roster.workers) or (collaborative_id and collaborative_id not in
            ctx.collaboratives) or (court_id and court_id not in ctx.courts))
    if gone and previous and sum(map(bool, (worker_id, collaborative_id, court_id))) == 1 \
            and not (first and last and last < first):
        # Removed from the configuration after it was published: every session it had is now gone.
        title = f"Protected dates of {key.replace(':', ' ')} (no longer scheduled)"
        current: list[PublishedEvent] = []
        present: set[str] = set()
    else:
        result = protected_dates(ctx, worker_id=worker_id, collaborative_id=collaborative_id, court_id=court_id,
                                 first=first, last=last)
        title = result.title
        current = [session_event(r.session, r.collaborative) for r in result.sessions]
        present = _calendar_uids(ctx, worker_id, collaborative_id, court_id)
    plan = publish.plan(previous, current, present, now, first, last)
    if warning is None:
        try:
            ctx.store.record_published(key, plan.changed)
        except ConfigError as exc:
            warning = exc.message
    if warning is not None and plan.changed:
        warning = (f"could not record this calendar in the store ({warning.rstrip('.')}); it was published "
                   "without remembering it, so a later change may not update the calendars that imported it. "
                   "Make the store writable (`store` in courtsync.toml).")
    elif warning is not None:
        warning = None   # nothing new to record: what was recorded still holds
    stamps = [e.stamp for e in plan.events if e.stamp is not None]
    return PublishedCalendar(calendar_ics(plan.events, title, key), (warning,) if warning else (),
                             max(stamps, default=None))


def _calendar_uids(ctx: Context, worker_id: str | None, collaborative_id: str | None,
                   court_id: str | None) -> set[str]:
    """Every session a calendar holds at any date: one that only left the range asked for is not removed."""
    if worker_id:
        ids: Collection[str] = ctx.worker(worker_id).collaboratives
        booked = {s.uid for s in booked_sessions(ctx, [worker_id]).get(worker_id, [])}
        return booked | {s.uid for cid in ids for s in ctx.sessions[cid]}
    if collaborative_id:
        ids = [collaborative_id]
    elif court_id:
        ids = {cid for w in _staff_before(ctx, ctx.court(court_id), None, None) for cid in w.collaboratives}
    else:
        ids = list(ctx.collaboratives)
    return {s.uid for cid in ids for s in ctx.sessions[cid]}
