"""`check --date`: is this date and time free for a worker, with reasons, free dates and make-ups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Literal

from courtsync.context import Context
from courtsync.core import conflicts as rules
from courtsync.core import suggest
from courtsync.models import (
    BusyItem,
    CheckResult,
    Conflict,
    MakeUp,
    Reason,
    Session,
    SourceId,
    SourceInfo,
    Worker,
)
from courtsync.queries.calendar_view import CalendarView, calendar_view, local_range
from courtsync.queries.findings import (
    Found,
    Now,
    ScanResult,
    buffer_rule,
    id_list,
    outlook_note,
    own_buffer,
    scan_conflicts,
    sessions_of,
    withheld,
)


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
    sessions = sessions_of(ctx, worker, day - timedelta(days=1), day + timedelta(days=horizon))

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
        what = f"case {item.case_numbers[0]}" if item.case_numbers else ("an Outlook item" if SourceId.parse(
            item.source).mail_system else "an item")
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
        seen = (f"no busy item in {len(read)} calendar source(s)" + (f" ({id_list(read)})" if read else "")
                if view.sees(day) else "calendars were not read for this date")
        found = (f"No protected session of {worker.id}'s collaboratives ({names}) touches this "
                 f"{'day' if clock is None else 'time'}{around}; {seen}; not a weekend; not a court holiday "
                 f"({ctx.holidays.label})")
        missing = f"while {id_list([s.id for s in unread])} {'is' if len(unread) == 1 else 'are'} unread" \
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


DEFAULT_SUGGESTIONS = 3


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


def unread_text(s: SourceInfo) -> str:
    """Why a source's copy cannot back a "free": never read, failed, stale, suspect (any status but ok)."""
    if s.error and s.error.startswith("never read"):   # the error says it already: not "never read: never read"
        return f"{s.id} was {s.error}"
    state = ("was never read" if s.synced_at is None else "failed") if s.status == "error" else f"is {s.status}"
    return f"{s.id} {state}: {s.error}" if s.error else f"{s.id} {state}."


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes}-minute" if minutes % 60 else f"{minutes // 60}-hour"
