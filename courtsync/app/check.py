"""`check --date`: is this date and time free for a worker, with reasons, free dates and make-ups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from courtsync.context import Context
from courtsync.core import availability, suggest
from courtsync.core.explain import withheld
from courtsync.membership import EnrolledWorkers
from courtsync.models import BusyItem, CheckResult, Conflict, MakeUp, Session, Worker
from courtsync.queries.calendar_view import CalendarView as CalendarView  # re-exported: the view an answer is from
from courtsync.queries.calendar_view import calendar_view, local_range
from courtsync.queries.findings import (
    Found,
    Now,
    ScanResult,
    buffer_rule,
    outlook_note,
    scan_conflicts,
    sessions_of,
)


def check_date(ctx: Context, today: date, now: Now, offline: bool, worker_id: str, day: date,
               clock: tuple[time, time] | None = None, suggest_n: int | None = None,
               court_id: str | None = None) -> tuple[CheckResult, CalendarView]:
    """Is `day` (optionally a time on it) free for a hearing for this worker? Why, and what else would do."""
    worker = ctx.worker(worker_id)
    if court_id:
        ctx.court(court_id)
    # Only the sources that can hold this worker's items: another person's broken calendar changes nothing.
    view = calendar_view(ctx, today, now, offline, workers=[worker]).covering(day, day) \
        .for_workers([worker], ctx.store)
    request = availability.Request(worker, day, clock, court_id, suggest_n)
    facts = _facts(ctx, view, worker, day, court_id)
    makeups = [m for s in availability.touching(request, facts) for m in makeups_for(ctx, worker, s, facts.items)]
    answer = availability.decide(request, facts, makeups)
    result = CheckResult(worker=worker, day=day, start=answer.start, end=answer.end, whole_day=clock is None,
                         verdict=answer.verdict, reasons=answer.reasons, conflicts=answer.conflicts,
                         suggestions=answer.suggestions, makeups=answer.makeups, problems=tuple(view.problems))
    return result, view


def _facts(ctx: Context, view: CalendarView, worker: Worker, day: date, court_id: str | None) -> availability.Facts:
    """The sessions and busy items from the day before `day` to the end of the suggestion search, and the view's
    state: what the verdict is decided on."""
    tz = ctx.config.tz
    horizon = suggest.SEARCH_DAYS + 2
    lo = datetime.combine(day - timedelta(days=1), time(), tzinfo=tz)
    items = ctx.store.items(tz, view.ids, lo, lo + timedelta(days=horizon), worker.id, busy_only=True)
    sessions = sessions_of(ctx, worker, day - timedelta(days=1), day + timedelta(days=horizon))
    cids = {s.collaborative_id for s in sessions}
    return availability.Facts(
        tz=tz, sessions=sessions, items=items,
        names={cid: ctx.collaboratives[cid].name for cid in cids},
        buffers={cid: ctx.buffer_around(cid, court_id) for cid in cids}, default_buffer=ctx.buffer_for(court_id),
        holidays=ctx.holidays, unread=view.unread, horizon=view.horizon,
        read_ids=[s.id for s in view.sources if s.status == "ok"],
        seen=(view.window.start.date(), view.window.end.date()) if view.sources else None,
        outlook_note=outlook_note(view, worker))


def upcoming(ctx: Context, today: date, now: Now, offline: bool, worker_id: str) -> ScanResult:
    """A worker's conflicts from today on, each with make-up sessions in case the hearing cannot move."""
    worker = ctx.worker(worker_id)
    result = scan_conflicts(ctx, today, now, offline, worker_ids=[worker.id])
    if result.view.unread:   # make-ups are sessions the worker is free for: never judged on unread calendars
        notes = (*result.notes, withheld("Make-up sessions are", result.view.unread)) if result.found else result.notes
        return ScanResult(result.first, result.last, result.view, result.found, notes)
    start, end = local_range(result.first, result.last + timedelta(days=31), ctx.config.tz)
    items = ctx.store.items(ctx.config.tz, result.view.ids, start, end, worker.id, busy_only=True)
    with_makeups = [Found(f.conflict, f.flags, f.matched_by, tuple(makeups_for(
        ctx, worker, _session_of(ctx, f.conflict), items)), f.place) for f in result.found]
    return ScanResult(result.first, result.last, result.view, with_makeups, result.notes)


def _session_of(ctx: Context, c: Conflict) -> Session:
    return next(s for s in ctx.sessions[c.collaborative_id] if s.start == c.session_start)


def makeups_for(ctx: Context, worker: Worker, session: Session, items: Sequence[BusyItem]) -> list[MakeUp]:
    """Make-up sessions for one of this worker's sessions (core.availability.makeups) over these busy items; a
    session of a collaborative whose seats (`capacity`) its members fill is not offered."""
    return availability.makeups(worker, session, ctx.collaboratives, ctx.sessions, items, buffer_rule(ctx),
                                lambda s: has_seat(ctx, s))


def has_seat(ctx: Context, session: Session) -> bool:
    capacity = ctx.collaboratives[session.collaborative_id].capacity
    if capacity is None:
        return True
    workers = ctx.roster.workers
    assert isinstance(workers, EnrolledWorkers)   # (what every Context holds: context.py)
    return workers.members().get(session.collaborative_id, 0) < capacity   # counted once, when first needed
