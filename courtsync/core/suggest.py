"""PURE: the next dates on which a hearing could be set instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

SEARCH_DAYS = 366


def next_free_days(after: date, wanted: int, is_free: Callable[[date], bool],
                   horizon: int = SEARCH_DAYS) -> list[date]:
    """Up to `wanted` dates after `after` (exclusive) for which `is_free` holds, within `horizon` days."""
    found: list[date] = []
    day = after
    for _ in range(horizon):
        if len(found) >= wanted:
            break
        day += timedelta(days=1)
        if is_free(day):
            found.append(day)
    return found
