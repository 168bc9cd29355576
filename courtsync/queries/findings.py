"""Use cases that put sessions and calendars together: `scan`, `check --date`, and a worker's upcoming conflicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from courtsync.context import Context
from courtsync.core import conflicts as rules
from courtsync.core import suggest
from courtsync.models import (
    BusyItem,
    CheckResult,
    Conflict,
    ConflictKind,
    MakeUp,
    Problem,
    Reason,
    Session,
    SourceInfo,
    Worker,
)
from courtsync.queries.calendar_view import CalendarView, calendar_view, local_range
from courtsync.sync.engine import MAILBOX_KINDS, matcher_for

DEFAULT_SUGGESTIONS = 3
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
    court = source.split("#", 1)[0]
    return court if court in ctx.courts else None


def buffer_rule(ctx: Context) -> Callable[[BusyItem], timedelta]:
    """A court's own buffer for its hearings, the global buffer for everything else."""
    def buffer_of(item: BusyItem) -> timedelta:
        return ctx.buffer_for(_court_of(item.source, ctx))
    return buffer_of


def own_buffer(ctx: Context, session: Session) -> timedelta | None:
    """A session's own travel buffer (its collaborative's `buffer`), which comes before a court's."""
    collab = ctx.collaboratives.get(session.collaborative_id)
    return collab.buffer if collab is not None else None


def outlook_note(view: CalendarView, worker: Worker) -> str | None:
    """product.md: a worker with no calendar of their own gets a note that their Outlook was not consulted."""
    if not view.without_own_calendar([worker]):
        return None
    return (f"{worker.name} ({worker.id}) has no calendar of their own in courtsync (no `calendar` column in "
            f"workers.csv, no [exchange] or [graph] mailbox): their Outlook was not consulted; only court feeds "
            f"and protected sessions were.")


def _sessions(ctx: Context, worker: Worker, first: date | None, last: date | None) -> list[Session]:
    return sorted((s for cid in worker.collaboratives for s in ctx.sessions[cid]
                   if s.active and (first is None or s.day >= first) and (last is None or s.day <= last)),
                  key=lambda s: s.start.timestamp())


def _conflict(ctx: Context, worker: Worker, session: Session, item: BusyItem, kind: ConflictKind) -> Conflict:
    return Conflict(worker_id=worker.id, worker_name=worker.name, supervisor_id=worker.supervisor_id,
                    collaborative_id=session.collaborative_id, session_start=session.start, session_end=session.end,
                    source=item.source, event_uid=item.uid, event_start=item.start, event_end=item.end,
                    all_day=item.all_day, case_number=item.case_numbers[0] if item.case_numbers else None,
                    court_id=_court_of(item.source, ctx), kind=kind)


def scan(ctx: Context, today: date, now: Now, offline: bool, first: date | None = None, last: date | None = None,
         worker_ids: Iterable[str] = ()) -> ScanResult:
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
                              kinds.get(item.source) in MAILBOX_KINDS).get(worker.id, "")
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


def upcoming(ctx: Context, today: date, now: Now, offline: bool, worker_id: str) -> ScanResult:
    """A worker's conflicts from today on, each with make-up sessions in case the hearing cannot move."""
    worker = ctx.worker(worker_id)
    result = scan(ctx, today, now, offline, worker_ids=[worker.id])
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
    """Sessions of other collaboratives of the same tier in the same month that the worker is free for,
    nearest region first (the learning objectives and core content are the same)."""
    own = ctx.collaboratives[session.collaborative_id]
    candidates = []
    for collab in ctx.collaboratives.values():
        if collab.id in worker.collaboratives or collab.kind != own.kind:
            continue
        for s in ctx.sessions[collab.id]:
            if s.active and (s.day.year, s.day.month) == (session.day.year, session.day.month) and \
                    not s.holiday and not rules.collisions([s], items, buffer_rule(ctx),
                                                           lambda other: own_buffer(ctx, other)):
                candidates.append((collab.region != own.region, abs((s.day - session.day).days), s.day,
                                   collab.id, s))
    candidates.sort(key=lambda c: c[:4])
    return [MakeUp(for_collaborative=session.collaborative_id, for_day=session.day, session=c[4])
            for c in candidates]


def check_date(ctx: Context, today: date, now: Now, offline: bool, worker_id: str, day: date,
               clock: tuple[time, time] | None = None, suggest_n: int | None = None,
               court_id: str | None = None) -> tuple[CheckResult, CalendarView]:
    """Is `day` (optionally a time on it) free for a hearing for this worker? Why, and what else would do."""
    worker = ctx.worker(worker_id)
    if court_id:
        ctx.court(court_id)
    tz = ctx.config.tz
    # Only the sources that can hold this worker's items: another person's broken calendar changes nothing.
    view = calendar_view(ctx, today, now, offline, workers=[worker]).covering(day, day) \
        .for_workers([worker], ctx.store)

    def buffer(s: Session) -> timedelta:
        return ctx.buffer_around(s.collaborative_id, court_id)
    horizon = suggest.SEARCH_DAYS + 2
    lo = datetime.combine(day - timedelta(days=1), time(), tzinfo=tz)
    items = ctx.store.items(tz, view.ids, lo, lo + timedelta(days=horizon), worker.id, busy_only=True)
    sessions = _sessions(ctx, worker, day - timedelta(days=1), day + timedelta(days=horizon))

    def window(d: date) -> tuple[datetime, datetime]:
        if clock is None:
            return datetime.combine(d, time(), tzinfo=tz), datetime.combine(d + timedelta(days=1), time(), tzinfo=tz)
        return datetime.combine(d, clock[0], tzinfo=tz), datetime.combine(d, clock[1], tzinfo=tz)

    by_day: dict[date, list[Session]] = {}
    for s in sessions:
        by_day.setdefault(s.day, []).append(s)
    starts = sorted(items, key=lambda i: i.start.timestamp())

    def session_hits(d: date) -> list[tuple[Session, Literal["overlap", "buffer"]]]:
        start, end = window(d)
        found = []
        for near in (d - timedelta(days=1), d, d + timedelta(days=1)):
            for s in by_day.get(near, ()):
                kind = rules.classify(s, start, end, buffer(s))
                if kind:
                    found.append((s, kind))
        return found

    def busy_hits(d: date) -> list[BusyItem]:
        start, end = window(d)
        probe = Session("request", "request", d, start, end)
        return [i for i in starts if rules.classify(probe, i.start, i.end, timedelta(0)) == "overlap"]

    start, end = window(day)
    reasons: list[Reason] = []
    out: list[Conflict] = []
    makeups: list[MakeUp] = []
    for s, kind in session_hits(day):
        collab = ctx.collaboratives[s.collaborative_id]
        span = f"{s.start:%H:%M}–{s.end:%H:%M}"
        text = (f"{collab.name} meets {span} on {s.day:%a %Y-%m-%d}: a protected session." if kind == "overlap" else
                f"{collab.name} meets {span} on {s.day:%a %Y-%m-%d}; the requested time falls in the "
                f"{_minutes(buffer(s))} travel buffer kept free around it.")
        reasons.append(Reason(kind, text))
        out.append(Conflict(worker_id=worker.id, worker_name=worker.name, supervisor_id=worker.supervisor_id,
                            collaborative_id=s.collaborative_id, session_start=s.start, session_end=s.end,
                            source="request", event_uid=None, event_start=start, event_end=end,
                            all_day=clock is None, case_number=None, court_id=court_id, kind=kind))
        makeups.extend(makeups_for(ctx, worker, s, items))
    for item in busy_hits(day):
        when = "all day" if item.all_day else (f"{item.start:%H:%M}–{item.end:%H:%M}" if item.end
                                                 else f"{item.start:%H:%M} (no end published)")
        what = f"case {item.case_numbers[0]}" if item.case_numbers else ("an Outlook item" if item.source in
                                                                         ("exchange", "graph") else "an item")
        reasons.append(Reason("busy", f"Already busy {when}: {what} on {item.source}"
                                      + (f" ({', '.join(item.flags)})" if item.flags else "") + "."))
    if day.weekday() >= 5:
        reasons.append(Reason("weekend", f"{day:%A %Y-%m-%d} is a weekend day; courts do not sit."))
    holiday = ctx.holidays(day)
    if holiday:
        reasons.append(Reason("holiday", f"{day:%a %Y-%m-%d} is a court holiday: {holiday}."))
    unread = view.unread
    verdict: Literal["free", "conflict", "unknown"] = \
        "conflict" if reasons else ("unknown" if unread or view.horizon else "free")
    reasons.extend(Reason("unread", unread_text(s)) for s in unread)
    if view.horizon:
        reasons.append(Reason("unread", view.horizon))
    if verdict != "conflict":
        names = ", ".join(worker.collaboratives) or "none"
        buffers = {buffer(s) for s in sessions} or {ctx.buffer_for(court_id)}
        around = "" if clock is None or buffers == {timedelta(0)} else \
            (f" or its {_minutes(next(iter(buffers)))} buffer" if len(buffers) == 1 else " or their travel buffers")
        read = [s.id for s in view.sources if s.status == "ok"]
        seen = (f"no busy item in {len(read)} calendar source(s)" + (f" ({_names(read)})" if read else "")
                if view.sees(day) else "calendars were not read for this date")
        found = (f"No protected session of {worker.id}'s collaboratives ({names}) touches this "
                 f"{'day' if clock is None else 'time'}{around}; {seen}; not a weekend; not a court holiday "
                 f"({ctx.holidays.label})")
        missing = f"while {_names([s.id for s in unread])} {'is' if len(unread) == 1 else 'are'} unread" \
            if unread else "over calendars not read for this date"
        reasons.append(Reason("free", found + ".") if verdict == "free" else Reason(
            "unknown", f"Looks free in what was read ({found[0].lower()}{found[1:]}), but it cannot be called free "
                       f"{missing} (see above). Run `courtsync sync` and check again."))
    note = outlook_note(view, worker)
    if note:
        reasons.append(Reason("note", note))
    wanted = suggest_n if suggest_n is not None else (DEFAULT_SUGGESTIONS if verdict == "conflict" else 0)
    if unread and wanted:
        # Every other date would be judged on the same unread calendars: offer none rather than a guess.
        reasons.append(Reason("suggestions", withheld("Other dates are", unread)))
        wanted = 0
    if unread and makeups:   # a make-up session is one the worker is free for: the same holds
        reasons.append(Reason("makeups", withheld("Make-up sessions are", unread)))
        makeups = []
    suggestions = suggest.next_free_days(
        day, wanted, lambda d: view.sees(d) and ctx.holidays.is_business_day(d) and not session_hits(d)
        and not busy_hits(d))
    result = CheckResult(worker=worker, day=day, start=start, end=end, whole_day=clock is None, verdict=verdict,
                         reasons=tuple(reasons), conflicts=tuple(out), suggestions=tuple(suggestions),
                         makeups=tuple(makeups), problems=tuple(view.problems))
    return result, view


def unread_text(s: SourceInfo) -> str:
    """Why a source's copy cannot back a "free": never read, failed, stale, suspect (any status but ok)."""
    if s.error and s.error.startswith("never read"):   # the error says it already: not "never read: never read"
        return f"{s.id} was {s.error}"
    state = ("was never read" if s.synced_at is None else "failed") if s.status == "error" else f"is {s.status}"
    return f"{s.id} {state}: {s.error}" if s.error else f"{s.id} {state}."


PROBLEMS_SHOWN = 3   # unreadable items named in a check's table or a digest; the rest counted
PROBLEMS_HINT = "run `courtsync events` to see them all"


def problems_text(problems: Sequence[Problem], shown: int = PROBLEMS_SHOWN,
                  line: Callable[[Problem], str] = lambda p: f"{p.location}: {p.reason}") -> list[str]:
    """Items of these calendars that could not be read as written (an answer over them may miss an event): a
    count, the first few as `file:line: reason`, and how to see them all."""
    if not problems:
        return []
    more = f"{len(problems) - shown} more; " if len(problems) > shown else ""
    return [f"{len(problems)} item(s) in these calendars could not be read as written (an event may be missing):",
            *(line(p) for p in problems[:shown]), f"{more}{PROBLEMS_HINT}"]


def withheld(what: str, unread: Sequence[SourceInfo]) -> str:
    ids = [s.id for s in unread]
    return (f"{what} not offered while {_names(ids)} {'is' if len(ids) == 1 else 'are'} unread: courtsync never "
            f"calls a date free over calendars it did not see.")


def _names(ids: Sequence[str], most: int = 8) -> str:
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes}-minute" if minutes % 60 else f"{minutes // 60}-hour"
