"""The conflicts found in the calendar view: every session of the chosen workers against their busy items, and the
notes and withheld-answer texts that go with them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from courtsync.context import Context
from courtsync.core import conflicts as rules
from courtsync.models import (
    MAIL_SYSTEMS,
    BusyItem,
    Conflict,
    ConflictKind,
    MakeUp,
    Session,
    SourceId,
    Worker,
)
from courtsync.queries.attendance import booked_sessions
from courtsync.queries.calendar_view import CalendarView, calendar_view, local_range
from courtsync.sync.engine import matcher_for

SCAN_DAYS = 183          # the default scan and "upcoming" range: six months from today
Now = Callable[[], float]


@dataclass(frozen=True)
class Found:
    """A conflict with what explains it: the item's reading (flags) and why the item is the worker's."""

    conflict: Conflict
    flags: tuple[str, ...] = ()
    matched_by: str = ""
    makeups: tuple[MakeUp, ...] = ()
    place: str = ""          # the item's location (never its summary: hearing text stays out of digests)


@dataclass(frozen=True)
class ScanResult:
    first: date
    last: date
    view: CalendarView
    found: list[Found] = field(default_factory=list)
    notes: tuple[str, ...] = ()    # said to the reader, not a reason to doubt the answer

    @property
    def conflicts(self) -> list[Conflict]:
        return [f.conflict for f in self.found]


def _court_of(source: str, ctx: Context) -> str | None:
    court = SourceId.parse(source).court
    return court if court in ctx.courts else None


def buffer_rule(ctx: Context) -> Callable[[BusyItem], timedelta]:
    """A court's own buffer for its hearings, the global buffer for everything else."""
    def buffer_of(item: BusyItem) -> timedelta:
        return ctx.buffer_for(_court_of(item.source, ctx))
    return buffer_of


def outlook_note(view: CalendarView, worker: Worker) -> str | None:
    """product.md: a worker with no calendar of their own gets a note that their Outlook was not consulted."""
    if not view.without_own_calendar([worker]):
        return None
    return (f"{worker.name} ({worker.id}) has no calendar of their own in courtsync (no `calendar` column in "
            f"workers.csv, no [exchange] or [graph] mailbox): their Outlook was not consulted; only court feeds "
            f"and protected sessions were.")


def sessions_of(ctx: Context, worker: Worker, first: date | None, last: date | None) -> list[Session]:
    """The worker's protected sessions: their collaboratives' and the make-ups they booked."""
    booked = booked_sessions(ctx, [worker.id]).get(worker.id, [])
    return sorted((s for s in (*(s for cid in worker.collaboratives for s in ctx.sessions[cid]), *booked)
                   if s.active and (first is None or s.day >= first) and (last is None or s.day <= last)),
                  key=lambda s: s.start.timestamp())


def _conflict(ctx: Context, worker: Worker, session: Session, item: BusyItem, kind: ConflictKind) -> Conflict:
    return Conflict(worker_id=worker.id, worker_name=worker.name, supervisor_id=worker.supervisor_id,
                    collaborative_id=session.collaborative_id, session_start=session.start, session_end=session.end,
                    source=item.source, event_uid=item.uid, event_start=item.start, event_end=item.end,
                    all_day=item.all_day, case_number=item.case_numbers[0] if item.case_numbers else None,
                    court_id=_court_of(item.source, ctx), kind=kind)


def scan_conflicts(ctx: Context, today: date, now: Now, offline: bool, first: date | None = None,
                   last: date | None = None, worker_ids: Iterable[str] = ()) -> ScanResult:
    """Every conflict of every (or each named) worker whose session falls in [first, last]."""
    first = first or today
    last = last or first + timedelta(days=SCAN_DAYS)
    named = [ctx.worker(w) for w in worker_ids]
    workers = named or list(ctx.roster.workers.values())
    # Only the sources that can hold these workers' items; a whole scan is everyone's answer, so every source.
    view = calendar_view(ctx, today, now, offline, workers=named or None) \
        .covering(first, last).for_workers(workers, ctx.store)
    start, end = local_range(first, last, ctx.config.tz)
    assert start is not None and end is not None
    reach = timedelta(days=1)  # buffers and all-day items reach across midnight
    spans = ctx.store.spans_by_worker(view.ids, start - reach, end + reach)
    buffers = {s.id: ctx.buffer_for(_court_of(s.id, ctx)).total_seconds() for s in view.sources}
    own = {c.id: c.buffer.total_seconds() for c in ctx.collaboratives.values() if c.buffer is not None}

    def own_seconds(session: Session) -> float | None:
        return own.get(session.collaborative_id)
    # Each collaborative's sessions in range, with their instants, computed once for all its members.
    in_range: dict[str, list[tuple[float, float, Session]]] = {}
    booked = booked_sessions(ctx, [w.id for w in named] if named else None)
    hits: list[tuple[Worker, Session, int, ConflictKind]] = []
    for worker in workers:
        theirs = spans.get(worker.id)
        if not theirs:
            continue
        sessions: list[tuple[float, float, Session]] = []
        for cid in worker.collaboratives:
            if cid not in in_range:
                in_range[cid] = [(s.start.timestamp(), s.end.timestamp(), s) for s in ctx.sessions[cid]
                                 if s.active and first <= s.day <= last]
            sessions.extend(in_range[cid])
        sessions.extend((s.start.timestamp(), s.end.timestamp(), s) for s in booked.get(worker.id, ())
                        if first <= s.day <= last)
        timed = [(s, e, buffers.get(src, 0.0), item_id) for s, e, src, item_id in theirs]
        hits.extend((worker, session, item_id, kind)
                    for session, item_id, kind in rules.collisions_at(sessions, timed, own_seconds))
    items = ctx.store.items_by_id(ctx.config.tz, (h[2] for h in hits))
    matcher = matcher_for(ctx.store, ctx.roster, ctx.roster_key) if hits else None
    kinds = {s.id: s.kind for s in view.sources}
    found = []
    for worker, session, item_id, kind in hits:
        item = items[item_id]
        assert matcher is not None
        why = matcher.reasons(item, worker.id if kinds.get(item.source) == "personal" else None,
                              kinds.get(item.source) in MAIL_SYSTEMS).get(worker.id, "")
        found.append(Found(_conflict(ctx, worker, session, item, kind), item.flags, why, place=item.location))
    found.sort(key=lambda f: (f.conflict.session_start.timestamp(), f.conflict.worker_id,
                              f.conflict.event_start.timestamp()))
    return ScanResult(first, last, view, found, _outlook_notes(view, workers))


def _outlook_notes(view: CalendarView, workers: list[Worker]) -> tuple[str, ...]:
    if len(workers) <= 3:
        return tuple(n for w in workers if (n := outlook_note(view, w)))
    without = len(view.without_own_calendar(workers))
    return (f"{without} of {len(workers)} worker(s) have no calendar of their own in courtsync: their Outlook "
            f"was not consulted.",) if without else ()
