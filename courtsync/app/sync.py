"""`sync`: read the chosen sources now, whatever their age or backoff, and store what changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from courtsync.calendars.base import Source
from courtsync.context import Context
from courtsync.queries import history
from courtsync.queries.attendance import moment
from courtsync.queries.calendar_view import policy_for, select_sources
from courtsync.queries.findings import scan_conflicts
from courtsync.sync import engine as sync_mod
from courtsync.sync.engine import SyncReport
from courtsync.sync.policy import Limit

__all__ = ["SyncReport", "run_sync", "select_sources"]   # choose the sources (as every command does), then read them


def run_sync(ctx: Context, sources: list[Source], today: date, now: Callable[[], float],
             progress: Callable[[sync_mod.SyncReport], None] | None = None,
             accept: frozenset[str] = frozenset()) -> list[sync_mod.SyncReport]:
    """Sync these sources (from select_sources) now, backoff or not; each read within max(deadline, 60 s).
    `accept`: sources whose read is stored even if it drops most of their upcoming items."""
    window = sync_mod.window_for(today, ctx.config.tz)
    policy = policy_for(ctx, today, Limit.per_read(ctx.config.deadline), accept)
    reports = sync_mod.sync_sources(ctx.store, sources, window, ctx.roster, ctx.roster_key, now, progress, policy)
    # What was read changes which conflicts stand: everyone's, from today on, goes into the conflict history.
    if any(r.outcome in ("read", "unchanged") for r in reports):
        history.record(ctx, scan_conflicts(ctx, today, now, offline=True), lambda: moment(ctx, today, now).timestamp())
    return reports
