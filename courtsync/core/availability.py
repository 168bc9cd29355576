"""PURE: the `check --date` verdict: is a date (or a time on it) free for a worker, why, and what else would do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from courtsync.core import conflicts as rules
from courtsync.core import suggest
from courtsync.core.explain import id_list, minutes, unread_text, withheld
from courtsync.core.schedule import CourtHolidays
from courtsync.models import (
    BusyItem,
    Collaborative,
    Conflict,
    ConflictKind,
    MakeUp,
    Reason,
    Session,
    SourceId,
    SourceInfo,
    Worker,
)

DEFAULT_SUGGESTIONS = 3
Verdict = Literal["free", "conflict", "unknown"]


@dataclass(frozen=True)
class Request:
    """What was asked: a worker, a date, optionally a time on it and the court that would set the hearing."""

    worker: Worker
    day: date
    clock: tuple[time, time] | None = None
    court_id: str | None = None
    suggest_n: int | None = None


@dataclass(frozen=True)
class Facts:
    """What is known to answer it (loaded by app/check): sessions and busy items from the day before the date
    to the end of the suggestion search, the buffers around sessions, and which calendars were not read."""

    tz: tzinfo
    sessions: Sequence[Session]            # the worker's active sessions, in start order
    items: Sequence[BusyItem]              # the worker's busy items
    names: Mapping[str, str]               # collaborative id -> name
    buffers: Mapping[str, timedelta]       # collaborative id -> the travel buffer around its sessions
    default_buffer: timedelta              # the buffer for a collaborative not in `buffers` (the court's or global)
    holidays: CourtHolidays
    unread: Sequence[SourceInfo] = ()      # sources whose copy cannot back a "free"
    horizon: str | None = None             # why the date lies outside the window calendars are read in
    read_ids: Sequence[str] = ()           # sources read and found good
    seen: tuple[date, date] | None = None  # the local dates [first, end) calendars were read for; None: all
    outlook_note: str | None = None        # the worker's Outlook was not consulted


@dataclass(frozen=True)
class Answer:
    """The verdict on the requested date, with its reasons, its conflicts, other dates and make-ups."""

    verdict: Verdict
    start: datetime
    end: datetime
    reasons: tuple[Reason, ...]
    conflicts: tuple[Conflict, ...]
    suggestions: tuple[date, ...]
    makeups: tuple[MakeUp, ...]


class _Dates:
    """One request's sessions and busy items, asked about one date at a time."""

    def __init__(self, request: Request, facts: Facts) -> None:
        self.request, self.facts = request, facts
        self.by_day: dict[date, list[Session]] = {}
        for s in facts.sessions:
            self.by_day.setdefault(s.day, []).append(s)
        self.starts = sorted(facts.items, key=lambda i: i.start.timestamp())

    def buffer(self, s: Session) -> timedelta:
        return self.facts.buffers.get(s.collaborative_id, self.facts.default_buffer)

    def window(self, d: date) -> tuple[datetime, datetime]:
        tz, clock = self.facts.tz, self.request.clock
        if clock is None:
            return datetime.combine(d, time(), tzinfo=tz), datetime.combine(d + timedelta(days=1), time(), tzinfo=tz)
        return datetime.combine(d, clock[0], tzinfo=tz), datetime.combine(d, clock[1], tzinfo=tz)

    def session_hits(self, d: date) -> list[tuple[Session, ConflictKind]]:
        start, end = self.window(d)
        found = []
        for near in (d - timedelta(days=1), d, d + timedelta(days=1)):
            for s in self.by_day.get(near, ()):
                kind = rules.classify(s, start, end, self.buffer(s))
                if kind:
                    found.append((s, kind))
        return found

    def busy_hits(self, d: date) -> list[BusyItem]:
        start, end = self.window(d)
        probe = Session("request", "request", d, start, end)
        return [i for i in self.starts if rules.classify(probe, i.start, i.end, timedelta(0)) == "overlap"]

    def sees(self, d: date) -> bool:
        seen = self.facts.seen
        return seen is None or seen[0] <= d < seen[1]

    def is_free(self, d: date) -> bool:
        return self.sees(d) and self.facts.holidays.is_business_day(d) and not self.session_hits(d) \
            and not self.busy_hits(d)


def touching(request: Request, facts: Facts) -> list[Session]:
    """The protected sessions the requested time touches (itself or its buffer): make-ups are sought for each."""
    return [s for s, _ in _Dates(request, facts).session_hits(request.day)]


def makeups(worker: Worker, session: Session, collaboratives: Mapping[str, Collaborative],
            sessions: Mapping[str, Sequence[Session]], items: Sequence[BusyItem],
            buffer_of: Callable[[BusyItem], timedelta],
            has_seat: Callable[[Session], bool] = lambda s: True) -> list[MakeUp]:
    """Sessions of other collaboratives of the same tier in the same month that the worker is free for
    (`buffer_of`: an item's travel buffer when its session sets none) and that have a seat free (`has_seat`),
    nearest region first (the learning objectives and core content are the same)."""
    own = collaboratives[session.collaborative_id]

    def own_buffer(other: Session) -> timedelta | None:
        collab = collaboratives.get(other.collaborative_id)
        return collab.buffer if collab is not None else None
    candidates = []
    for collab in collaboratives.values():
        if collab.id in worker.collaboratives or collab.kind != own.kind:
            continue
        for s in sessions[collab.id]:
            if s.active and (s.day.year, s.day.month) == (session.day.year, session.day.month) and \
                    not s.holiday and not rules.collisions([s], items, buffer_of, own_buffer) and has_seat(s):
                candidates.append((collab.region != own.region, abs((s.day - session.day).days), s.day,
                                   collab.id, s))
    candidates.sort(key=lambda c: c[:4])
    return [MakeUp(for_collaborative=session.collaborative_id, for_day=session.day, session=c[4])
            for c in candidates]


def decide(request: Request, facts: Facts, makeups: Sequence[MakeUp] = ()) -> Answer:
    """The verdict: `conflict` when anything stands in the way, `unknown` when nothing does in what was read
    but a calendar was not read, `free` otherwise. `makeups`: those found for the sessions `touching` names."""
    dates = _Dates(request, facts)
    day, unread = request.day, facts.unread
    start, end = dates.window(day)
    hits = dates.session_hits(day)
    reasons = [_session_reason(facts, dates.buffer(s), s, kind) for s, kind in hits]
    conflicts = [_conflict(request, s, kind, start, end) for s, kind in hits]
    reasons += [_busy_reason(item) for item in dates.busy_hits(day)]
    if day.weekday() >= 5:
        reasons.append(Reason("weekend", f"{day:%A %Y-%m-%d} is a weekend day; courts do not sit."))
    holiday = facts.holidays(day)
    if holiday:
        reasons.append(Reason("holiday", f"{day:%a %Y-%m-%d} is a court holiday: {holiday}."))
    verdict: Verdict = "conflict" if reasons else ("unknown" if unread or facts.horizon else "free")
    reasons.extend(Reason("unread", unread_text(s)) for s in unread)
    if facts.horizon:
        reasons.append(Reason("unread", facts.horizon))
    if verdict != "conflict":
        reasons.append(_free_reason(request, facts, dates, verdict))
    if facts.outlook_note:
        reasons.append(Reason("note", facts.outlook_note))
    wanted = request.suggest_n if request.suggest_n is not None else (
        DEFAULT_SUGGESTIONS if verdict == "conflict" else 0)
    if unread and wanted:
        # Every other date would be judged on the same unread calendars: offer none rather than a guess.
        reasons.append(Reason("suggestions", withheld("Other dates are", unread)))
        wanted = 0
    if unread and makeups:   # a make-up session is one the worker is free for: the same holds
        reasons.append(Reason("makeups", withheld("Make-up sessions are", unread)))
        makeups = ()
    suggestions = suggest.next_free_days(day, wanted, dates.is_free)
    return Answer(verdict, start, end, tuple(reasons), tuple(conflicts), tuple(suggestions), tuple(makeups))


def _session_reason(facts: Facts, buffer: timedelta, s: Session, kind: ConflictKind) -> Reason:
    name = facts.names[s.collaborative_id]
    span = f"{s.start:%H:%M}–{s.end:%H:%M}"
    return Reason(kind, f"{name} meets {span} on {s.day:%a %Y-%m-%d}: a protected session." if kind == "overlap"
                  else f"{name} meets {span} on {s.day:%a %Y-%m-%d}; the requested time falls in the "
                       f"{minutes(buffer)} travel buffer kept free around it.")


def _conflict(request: Request, s: Session, kind: ConflictKind, start: datetime, end: datetime) -> Conflict:
    worker = request.worker
    return Conflict(worker_id=worker.id, worker_name=worker.name, supervisor_id=worker.supervisor_id,
                    collaborative_id=s.collaborative_id, session_start=s.start, session_end=s.end,
                    source="request", event_uid=None, event_start=start, event_end=end,
                    all_day=request.clock is None, case_number=None, court_id=request.court_id, kind=kind)


def _busy_reason(item: BusyItem) -> Reason:
    when = "all day" if item.all_day else (f"{item.start:%H:%M}–{item.end:%H:%M}" if item.end
                                           else f"{item.start:%H:%M} (no end published)")
    what = f"case {item.case_numbers[0]}" if item.case_numbers else ("an Outlook item" if SourceId.parse(
        item.source).mail_system else "an item")
    return Reason("busy", f"Already busy {when}: {what} on {item.source}"
                          + (f" ({', '.join(item.flags)})" if item.flags else "") + ".")


def _free_reason(request: Request, facts: Facts, dates: _Dates, verdict: Verdict) -> Reason:
    """What was looked at and found clear; for `unknown`, what was not read."""
    worker, clock, unread = request.worker, request.clock, facts.unread
    names = ", ".join(worker.collaboratives) or "none"
    buffers = {dates.buffer(s) for s in facts.sessions} or {facts.default_buffer}
    around = "" if clock is None or buffers == {timedelta(0)} else \
        (f" or its {minutes(next(iter(buffers)))} buffer" if len(buffers) == 1 else " or their travel buffers")
    read = list(facts.read_ids)
    seen = (f"no busy item in {len(read)} calendar source(s)" + (f" ({id_list(read)})" if read else "")
            if dates.sees(request.day) else "calendars were not read for this date")
    found = (f"No protected session of {worker.id}'s collaboratives ({names}) touches this "
             f"{'day' if clock is None else 'time'}{around}; {seen}; not a weekend; not a court holiday "
             f"({facts.holidays.label})")
    if verdict == "free":
        return Reason("free", found + ".")
    missing = f"while {id_list([s.id for s in unread])} {'is' if len(unread) == 1 else 'are'} unread" \
        if unread else "over calendars not read for this date"
    return Reason("unknown", f"Looks free in what was read ({found[0].lower()}{found[1:]}), but it cannot be "
                             f"called free {missing} (see above). Run `courtsync sync` and check again.")
