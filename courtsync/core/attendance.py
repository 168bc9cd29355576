"""Attendance, as product.md defines it: each session a worker was expected at resolves to present, made up,
excused (court), absent, or upcoming; CEUs from the hours signed in. Pure: the caller hands in the sign-ins, the
conflicts courtsync knew and when, and the clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from courtsync.models import Collaborative, Session

Status = Literal["present", "made up", "excused (court)", "absent", "upcoming"]
STATUSES: tuple[Status, ...] = ("present", "made up", "excused (court)", "absent", "upcoming")


@dataclass(frozen=True, slots=True)
class Hearing:
    """A conflict courtsync knew of: which session it hit, the hearing by case number and court only, and when
    it was first seen and resolved (None: never resolved, or its session passed while it was open)."""

    collaborative_id: str
    day: date
    court_id: str | None
    case_number: str | None
    first_seen: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attended:
    """A sign-in: one worker at one session of `collaborative_id` on `day` for `hours`."""

    collaborative_id: str
    day: date
    hours: float


@dataclass(frozen=True, slots=True)
class Row:
    """One session of a worker's transcript. `attended`: the sign-in it counts (their own session's when
    present, the other collaborative's when made up); `expected` False: a session of another collaborative
    attended beyond any make-up."""

    session: Session
    status: Status
    hours: float = 0.0
    ceus: float = 0.0
    attended: Attended | None = None
    excuse: Hearing | None = None
    due_by: date | None = None        # absent or excused without a make-up: attend another session by then
    booked: Session | None = None     # a make-up booked for it (not yet attended)
    unrecorded: bool = False          # no sign-in at all was imported for this session
    expected: bool = True


def session_hours(session: Session) -> float:
    return max(0.0, (session.end - session.start).total_seconds() / 3600)


def ceus_for(hours: float, session: Session, collaborative: Collaborative | None) -> tuple[float, float]:
    """(hours counted, CEUs): the hours signed in, capped at the session's length, times its ceu_per_hour."""
    counted = round(min(hours, session_hours(session)), 2)
    rate = collaborative.ceu_per_hour if collaborative is not None else None
    return counted, round(counted * rate + 1e-9, 2) if rate else 0.0   # (half up: 1.625 -> 1.63)


def excuse_for(session: Session, hearings: Iterable[Hearing]) -> Hearing | None:
    """A court conflict with this session known on or before its day and not resolved before it began: the
    hearing that excuses the absence. One found only after the session, or resolved before it, does not."""
    tz = session.start.tzinfo
    day_ends = datetime.combine(session.day + timedelta(days=1), time(), tzinfo=tz)
    for h in sorted(hearings, key=lambda h: h.first_seen):
        if h.collaborative_id != session.collaborative_id or h.day != session.day:
            continue
        if h.court_id is None and h.case_number is None:   # not a hearing (a personal appointment)
            continue
        if h.first_seen < day_ends and (h.resolved_at is None or h.resolved_at >= session.start):
            return h
    return None


@dataclass(frozen=True)
class Inputs:
    """Everything one worker's statuses are decided on."""

    own: Sequence[Session]                            # their sessions (their collaboratives), active, by start
    others: Mapping[tuple[str, date], Session]        # sessions of the other collaboratives of their tiers
    signed: Mapping[tuple[str, date], float]          # (collaborative, day) -> hours signed in
    hearings: Sequence[Hearing]
    booked: Mapping[tuple[str, date], Session]        # make-ups booked and not cancelled
    collaboratives: Mapping[str, Collaborative]
    recorded: frozenset[tuple[str, date]] | set[tuple[str, date]]   # sessions some sign-in was imported for
    window: timedelta
    now: datetime


def resolve(inputs: Inputs) -> list[Row]:
    """Each expected session's status, by start, then the other sessions attended beyond the make-ups."""
    cols = inputs.collaboratives
    own_ids = {s.collaborative_id for s in inputs.own}
    foreign = sorted((key for key in inputs.signed if key[0] not in own_ids and key in inputs.others),
                     key=lambda k: (k[1], k[0]))
    used: set[tuple[str, date]] = set()
    bookings = _bookings(inputs)
    rows: list[Row] = []
    for s in inputs.own:
        key = (s.collaborative_id, s.day)
        if key in inputs.signed:
            hours, ceus = ceus_for(inputs.signed[key], s, cols.get(s.collaborative_id))
            rows.append(Row(s, "present", hours, ceus, Attended(*key, hours)))
            continue
        kind = cols[s.collaborative_id].kind if s.collaborative_id in cols else None
        booked = bookings.get(key)
        if s.end > inputs.now:   # not over yet: a make-up attended already still counts as extra until then
            rows.append(Row(s, "upcoming", booked=booked))
            continue
        makeup = next((k for k in foreign if k not in used and cols[k[0]].kind == kind
                       and abs((k[1] - s.day).days) <= inputs.window.days), None)
        if makeup is not None:
            used.add(makeup)
            other = inputs.others[makeup]
            hours, ceus = ceus_for(inputs.signed[makeup], other, cols.get(makeup[0]))
            rows.append(Row(s, "made up", hours, ceus, Attended(*makeup, hours)))
            continue
        excuse = excuse_for(s, inputs.hearings)
        rows.append(Row(s, "excused (court)" if excuse else "absent", excuse=excuse,
                        due_by=s.day + inputs.window, booked=booked, unrecorded=key not in inputs.recorded))
    for key in foreign:
        if key not in used:
            other = inputs.others[key]
            hours, ceus = ceus_for(inputs.signed[key], other, cols.get(key[0]))
            rows.append(Row(other, "present", hours, ceus, Attended(*key, hours), expected=False))
    rows.sort(key=lambda r: r.session.start)
    return rows


def _bookings(inputs: Inputs) -> dict[tuple[str, date], Session]:
    """Which of the worker's sessions each booked make-up (not attended yet) is for: a session they missed
    first, else one to come; of those, the nearest of the same tier within the window, each session once."""
    cols, out = inputs.collaboratives, {}
    for key, booked in sorted(inputs.booked.items(), key=lambda kv: kv[0][1]):
        if key in inputs.signed or key[0] not in cols:
            continue
        open_ = [s for s in inputs.own if (s.collaborative_id, s.day) not in inputs.signed
                 and (s.collaborative_id, s.day) not in out and s.collaborative_id in cols
                 and cols[s.collaborative_id].kind == cols[key[0]].kind
                 and abs((s.day - key[1]).days) <= inputs.window.days]
        if open_:
            best = min(open_, key=lambda s: (s.end > inputs.now, abs((s.day - key[1]).days)))
            out[(best.collaborative_id, best.day)] = booked
    return out


def totals(rows: Iterable[Row]) -> dict[str, float]:
    """Sessions of each status, hours and CEUs."""
    out: dict[str, float] = {status: 0 for status in STATUSES}
    out["hours"] = out["ceus"] = 0.0
    for r in rows:
        if r.expected:
            out[r.status] += 1
        out["hours"] = round(out["hours"] + r.hours, 2)
        out["ceus"] = round(out["ceus"] + r.ceus, 2)
    return out
