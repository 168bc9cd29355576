"""PURE: does a busy interval collide with a protected session, and how (overlap or buffer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from courtsync.models import ConflictKind, Session

UTC = UTC


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
