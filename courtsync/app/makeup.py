"""`courtsync makeup`: book (or cancel) a seat at another collaborative's session to make up a missed one. The
booking is protected like the worker's own sessions (their calendar, their courts' letters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from courtsync.context import Context
from courtsync.errors import UsageError
from courtsync.membership import EnrolledWorkers
from courtsync.models import Session, Worker
from courtsync.queries.attendance import moment, parse_session

Now = Callable[[], float]


@dataclass(frozen=True)
class Booked:
    worker: Worker
    session: Session
    outcome: str            # booked | already | cancelled | not-booked | full | outside-window | over
    message: str

    @property
    def refused(self) -> bool:
        return self.outcome in ("full", "outside-window", "over")


def book(ctx: Context, today: date, now: Now, worker_id: str, session_text: str, cancel: bool = False) -> Booked:
    """Book the seat, or refuse: the worker's own collaborative (UsageError), a session already held, one no
    session of theirs of that tier is within `makeup_window` of, or one whose seats are all taken."""
    worker = ctx.worker(worker_id)
    session = parse_session(ctx, session_text)
    collab = ctx.collaboratives[session.collaborative_id]
    where = f"{collab.name} on {session.day:%a %Y-%m-%d} {session.start:%H:%M}-{session.end:%H:%M}"
    day = session.day.isoformat()
    if cancel:
        done = ctx.store.attendance.cancel(worker.id, collab.id, day, now())
        return Booked(worker, session, "cancelled" if done else "not-booked",
                      f"Cancelled {worker.name}'s make-up at the {where}." if done else
                      f"{worker.name} has no make-up booked at the {where}; nothing to cancel.")
    if collab.id in worker.collaboratives:
        raise UsageError(f"{collab.id} is {worker.name}'s own collaborative; a make-up is a session of another "
                         f"collaborative of the same kind ({collab.kind}).")
    if session.end <= moment(ctx, today, now):
        return Booked(worker, session, "over", f"The {where} is over; a make-up is booked ahead. If "
                      f"{worker.name} attended it, import its sign-in sheet (courtsync attendance import FILE).")
    window = ctx.config.makeup_window
    theirs = [s for cid in worker.collaboratives if cid in ctx.collaboratives
              and ctx.collaboratives[cid].kind == collab.kind for s in ctx.sessions[cid] if s.active]
    if not any(abs((s.day - session.day).days) <= window.days for s in theirs):
        near = min(theirs, key=lambda s: abs((s.day - session.day).days), default=None)
        return Booked(worker, session, "outside-window",
                      f"The {where} is not within {window.days} days (makeup_window) of any {collab.kind} session "
                      f"of {worker.name}'s" + (f"; their nearest is {near.day}" if near else
                                               f" (they have no {collab.kind} sessions)") + ".")
    members = _members(ctx).get(collab.id, 0)
    capacity = collab.capacity
    outcome = ctx.store.attendance.book(worker.id, collab.id, day, now(),
                                        lambda booked: capacity is not None and members + booked >= capacity)
    if outcome == "full":
        return Booked(worker, session, "full", f"The {where} is full: {capacity} seats, {members} members and "
                      "the make-ups already booked. Choose another session (courtsync check suggests some).")
    if outcome == "already":
        return Booked(worker, session, "already", f"{worker.name} already has a make-up booked at the {where}.")
    return Booked(worker, session, "booked", f"Booked {worker.name} ({worker.id}) a make-up at the {where}. It is "
                  "now one of their protected dates: their calendar and their courts' next letters carry it.")


def _members(ctx: Context) -> dict[str, int]:
    workers = ctx.roster.workers
    assert isinstance(workers, EnrolledWorkers)   # (what every Context holds: context.py)
    return workers.members()
