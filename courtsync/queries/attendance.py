"""Each worker's attendance from what the store recorded: sign-ins, booked make-ups and the conflict history, read
once for everyone (a state's year of sign-ins in one pass), resolved per worker by core.attendance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from courtsync.context import Context
from courtsync.core.attendance import Hearing, Inputs, Row, resolve
from courtsync.errors import UsageError
from courtsync.models import Session, Worker
from courtsync.store.attendance import Seen


def parse_session(ctx: Context, text: str, what: str = "--session") -> Session:
    """'COLLAB:YYYY-MM-DD' -> that collaborative's session held that day (UsageError otherwise)."""
    cid, sep, day_text = text.rpartition(":")
    if not sep or not cid:
        raise UsageError(f"{what} {text!r} is not COLLABORATIVE:DATE, for example lc-north:2027-01-20.")
    collab = ctx.collaborative(cid)
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise UsageError(f"{what} {text!r}: {day_text!r} is not a date (YYYY-MM-DD).") from None
    found = next((s for s in ctx.sessions[collab.id] if s.day == day and s.active), None)
    if found is None:
        near = sorted((s.day for s in ctx.sessions[collab.id] if s.active), key=lambda d: abs((d - day).days))[:2]
        raise UsageError(f"{collab.id} holds no session on {day}"
                         + (f"; its nearest: {', '.join(map(str, sorted(near)))}" if near else "") + ".")
    return found


def moment(ctx: Context, today: date, now: Callable[[], float]) -> datetime:
    """The instant statuses are judged at: now, or the end of `today` when the command runs as of another day
    (--as-of): a session after it is upcoming, one before it is over."""
    tz = ctx.config.tz
    at = datetime.fromtimestamp(now(), tz)
    return at if at.date() == today else datetime.combine(today + timedelta(days=1), time(), tzinfo=tz)


class Book:
    """The attendance records as of `now`, for answering about any number of workers."""

    def __init__(self, ctx: Context, now: datetime, worker_id: str | None = None) -> None:
        self.ctx = ctx
        self.now = now
        self._one = worker_id   # read only this worker's rows (a transcript), not everyone's

    @cached_property
    def _active(self) -> dict[tuple[str, date], Session]:
        return {(cid, s.day): s for cid in self.ctx.collaboratives for s in self.ctx.sessions[cid] if s.active}

    @cached_property
    def _signed(self) -> dict[str, dict[tuple[str, date], float]]:
        out: dict[str, dict[tuple[str, date], float]] = defaultdict(dict)
        for r in self.ctx.store.attendance.signins(self._one):   # oldest import first: the latest wins
            out[r.worker][(r.collaborative, date.fromisoformat(r.day))] = r.hours
        return out

    @cached_property
    def recorded(self) -> set[tuple[str, date]]:
        return {(c, date.fromisoformat(d)) for c, d in self.ctx.store.attendance.sessions_signed()}

    @cached_property
    def _hearings(self) -> dict[str, list[Hearing]]:
        tz = self.ctx.config.tz
        out: dict[str, list[Hearing]] = defaultdict(list)
        for s in self.ctx.store.attendance.history(self._one):
            out[s.worker].append(hearing(s, tz))
        return out

    @cached_property
    def _booked(self) -> dict[str, dict[tuple[str, date], Session]]:
        out: dict[str, dict[tuple[str, date], Session]] = defaultdict(dict)
        for b in self.ctx.store.attendance.bookings(self._one):
            key = (b.collaborative, date.fromisoformat(b.day))
            if key in self._active:
                out[b.worker][key] = self._active[key]
        return out

    def rows(self, worker: Worker, first: date | None = None, last: date | None = None) -> list[Row]:
        """The worker's sessions in [first, last] with their status, and the other sessions they attended."""
        own = sorted((s for cid in worker.collaboratives if cid in self.ctx.collaboratives
                      for s in self.ctx.sessions[cid] if s.active), key=lambda s: s.start)
        inputs = Inputs(own=own, others=self._active, signed=self._signed.get(worker.id, {}),
                        hearings=self._hearings.get(worker.id, []), booked=self._booked.get(worker.id, {}),
                        collaboratives=self.ctx.collaboratives, recorded=self.recorded,
                        window=self.ctx.config.makeup_window, now=self.now)
        return [r for r in resolve(inputs)
                if (first is None or r.session.day >= first) and (last is None or r.session.day <= last)]

    def booked(self, worker_id: str) -> list[Session]:
        return sorted(self._booked.get(worker_id, {}).values(), key=lambda s: s.start)


def hearing(s: Seen, tz: ZoneInfo) -> Hearing:
    return Hearing(s.collaborative, date.fromisoformat(s.session_day), s.court, s.case_number,
                   datetime.fromtimestamp(s.first_seen, tz),
                   datetime.fromtimestamp(s.resolved_at, tz) if s.resolved_at is not None else None)


def booked_sessions(ctx: Context, worker_ids: Iterable[str] | None = None) -> dict[str, list[Session]]:
    """Each worker's booked make-ups (`courtsync makeup`) as sessions: protected like their own."""
    wanted = None if worker_ids is None else set(worker_ids)
    one = next(iter(wanted)) if wanted is not None and len(wanted) == 1 else None
    out: dict[str, list[Session]] = defaultdict(list)
    for b in ctx.store.attendance.bookings(one):
        if (wanted is not None and b.worker not in wanted) or b.collaborative not in ctx.collaboratives:
            continue
        day = date.fromisoformat(b.day)
        out[b.worker].extend(s for s in ctx.sessions[b.collaborative] if s.active and s.day == day)
    return out
