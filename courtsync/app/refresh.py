"""The web service's background refresh: every `[server] refresh`, sources whose copy is older than that (or
stale for another reason: never read, failed, read for an earlier window) are read again, as `courtsync sync`
reads them. One process at a time among all that share the store (Storage.exclusive): of two `serve` workers,
or a worker and a `sync` from cron that takes the same lock, the second skips its turn. Requests never wait
for it: they answer from the store, saying a copy is stale while it is."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from courtsync.context import load_context
from courtsync.queries.calendar_view import calendar_view, policy_for, select_sources
from courtsync.sync import engine as sync_mod
from courtsync.sync.policy import Limit

LOCK = "refresh"


@dataclass(frozen=True)
class Refreshed:
    """One turn: whether this process held the lock, and how each source it read went."""

    ran: bool
    reports: tuple[sync_mod.SyncReport, ...] = ()


def refresh(config_path: str | os.PathLike[str] | None, today: date, now: Callable[[], float]) -> Refreshed:
    """One turn of the background refresh (ConfigError when the configuration or the store cannot be read)."""
    with load_context(config_path, today) as ctx, ctx.store.exclusive(LOCK) as mine:
        if not mine:
            return Refreshed(ran=False)
        every = ctx.config.server.refresh.total_seconds()
        states = {s.id: s for s in calendar_view(ctx, today, now, offline=True).sources}
        due = []
        for source in select_sources(ctx, None):
            state = states.get(source.id)
            if state is None or state.status != "ok" or state.synced_at is None \
                    or now() - state.synced_at.timestamp() >= every:
                due.append(source)
        if not due:
            return Refreshed(ran=True)
        window = sync_mod.window_for(today, ctx.config.tz)
        policy = policy_for(ctx, today, Limit.per_read(ctx.config.deadline), frozenset())
        reports = sync_mod.sync_sources(ctx.store, due, window, ctx.roster, ctx.roster_key, now, None, policy)
        return Refreshed(ran=True, reports=tuple(reports))
