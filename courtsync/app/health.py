"""`/readyz`: each calendar source's state, from the store alone (never a read)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from courtsync.context import Context
from courtsync.models import SourceInfo
from courtsync.queries.calendar_view import calendar_view


def source_states(ctx: Context, today: date, now: Callable[[], float]) -> list[SourceInfo]:
    """Every configured source as the last sync left it (status ok, stale, suspect or error)."""
    return list(calendar_view(ctx, today, now, offline=True).sources)
