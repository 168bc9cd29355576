"""PURE: does a busy interval collide with a protected session, and how (overlap or buffer); per worker."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from courtsync.models import BusyItem, ConflictKind, Session


def classify_at(s_start: float, s_end: float, start: float, end: float | None, buffer: float) -> ConflictKind | None:
    """`classify` on POSIX timestamps: the same rules, for whole-state scans."""
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


def classify(session: Session, start: datetime, end: datetime | None,
             buffer: timedelta) -> ConflictKind | None:
    """`overlap` if [start, end) meets the session, `buffer` if it only meets the travel buffer.

    Intervals are half-open. An item with no end is an instant: it conflicts when it lies
    inside [session start, session end), or inside the buffered interval for `buffer`.
    Everything is compared as POSIX timestamps: Python compares two datetimes of the *same* zone
    by wall clock, which is wrong in the repeated hour after DST ends.
    """
    return classify_at(session.start.timestamp(), session.end.timestamp(), start.timestamp(),
                       end.timestamp() if end is not None else None, buffer.total_seconds())


def _no_own_buffer(session: Session) -> None:
    return None


def collisions(sessions: Sequence[Session], items: Sequence[BusyItem],
               buffer_of: Callable[[BusyItem], timedelta],
               own_buffer: Callable[[Session], timedelta | None] = _no_own_buffer,
               ) -> list[tuple[Session, BusyItem, ConflictKind]]:
    """Every (session, busy item) pair of ONE worker that collides, in session order.

    `own_buffer` is a session's own travel buffer (its collaborative's), which comes before the item's
    (`buffer_of`: a court's, else the global one). Items are sorted once and searched by start time, so a
    worker with many items costs O((sessions + items) log items), never sessions x items.
    """
    busy = sorted((i for i in items if i.busy), key=lambda i: i.start.timestamp())
    if not busy or not sessions:
        return []
    starts = [i.start.timestamp() for i in busy]
    longest = max(((i.end or i.start).timestamp() - i.start.timestamp() for i in busy), default=0.0)
    widest = max((buffer_of(i) for i in busy), default=timedelta(0)).total_seconds()
    out: list[tuple[Session, BusyItem, ConflictKind]] = []
    for session in sessions:
        own = own_buffer(session)
        reach = widest if own is None else own.total_seconds()
        lo = session.start.timestamp() - reach - longest
        hi = session.end.timestamp() + reach
        for item in busy[bisect_left(starts, lo):bisect_right(starts, hi)]:
            kind = classify(session, item.start, item.end, buffer_of(item) if own is None else own)
            if kind:
                out.append((session, item, kind))
    return out


Span = tuple[float, "float | None", float, int]   # item start, end (None: an instant), buffer seconds, item id


def collisions_at(sessions: Sequence[tuple[float, float, Session]], spans: Sequence[Span],
                  own_buffer: Callable[[Session], float | None] | None = None,
                  ) -> list[tuple[Session, int, ConflictKind]]:
    """`collisions` on timestamps: (session, item id, kind) for one worker, without building items;
    `own_buffer` gives a session's own buffer in seconds (None: the span's buffer applies)."""
    if not spans or not sessions:
        return []
    ordered = sorted(spans)
    starts = [s[0] for s in ordered]
    longest = max((s[1] if s[1] is not None else s[0]) - s[0] for s in ordered)
    widest = max(s[2] for s in ordered)
    out: list[tuple[Session, int, ConflictKind]] = []
    for a, b, session in sessions:
        own = own_buffer(session) if own_buffer is not None else None
        reach = widest if own is None else own
        for start, end, buffer, item_id in ordered[bisect_left(starts, a - reach - longest):
                                                   bisect_right(starts, b + reach)]:
            kind = classify_at(a, b, start, end, buffer if own is None else own)
            if kind:
                out.append((session, item_id, kind))
    return out
