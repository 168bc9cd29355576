"""PURE: does a busy interval collide with a protected session, and how (overlap or buffer); per worker."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from courtsync.models import BusyItem, ConflictKind, Session


def classify(session: Session, start: datetime, end: datetime | None,
             buffer: timedelta) -> ConflictKind | None:
    """`overlap` if [start, end) meets the session, `buffer` if it only meets the travel buffer.

    Intervals are half-open. An item with no end is an instant: it conflicts when it lies
    inside [session start, session end), or inside the buffered interval for `buffer`.
    Everything is compared in UTC: Python compares two datetimes of the *same* zone by wall
    clock, which is wrong in the repeated hour after DST ends.
    """
    s_start, s_end = session.start.astimezone(UTC), session.end.astimezone(UTC)
    start = start.astimezone(UTC)
    end = end.astimezone(UTC) if end is not None else None
    if end is None:
        if s_start <= start < s_end:
            return "overlap"
        if s_start - buffer <= start < s_end + buffer:
            return "buffer"
        return None
    if start < s_end and s_start < end:
        return "overlap"
    if buffer and start < s_end + buffer and s_start - buffer < end:
        return "buffer"
    return None


def collisions(sessions: Sequence[Session], items: Sequence[BusyItem],
               buffer_of: Callable[[BusyItem], timedelta]) -> list[tuple[Session, BusyItem, ConflictKind]]:
    """Every (session, busy item) pair of ONE worker that collides, in session order.

    Items are sorted once and searched by start time, so a worker with many items costs
    O((sessions + items) log items), never sessions x items.
    """
    busy = sorted((i for i in items if i.busy), key=lambda i: i.start.timestamp())
    if not busy or not sessions:
        return []
    starts = [i.start.timestamp() for i in busy]
    longest = max(((i.end or i.start).timestamp() - i.start.timestamp() for i in busy), default=0.0)
    widest = max((buffer_of(i) for i in busy), default=timedelta(0)).total_seconds()
    out: list[tuple[Session, BusyItem, ConflictKind]] = []
    for session in sessions:
        lo = session.start.timestamp() - widest - longest
        hi = session.end.timestamp() + widest
        for item in busy[bisect_left(starts, lo):bisect_right(starts, hi)]:
            kind = classify(session, item.start, item.end, buffer_of(item))
            if kind:
                out.append((session, item, kind))
    return out
