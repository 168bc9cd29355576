"""`events`: the items courtsync read, by source, worker and dates, with why each is whose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from courtsync.context import Context
from courtsync.errors import UsageError
from courtsync.models import MAIL_SYSTEMS, BusyItem
from courtsync.queries.calendar_view import CalendarView, calendar_view, local_range, select_sources
from courtsync.sync import engine as sync_mod

__all__ = ["CalendarView", "EventsResult", "events"]


@dataclass(frozen=True)
class EventsResult:
    first: date | None
    last: date | None
    view: CalendarView
    items: list[BusyItem]
    reasons: list[dict[str, str]]   # for each item: worker -> why it is theirs


def events(ctx: Context, today: date, now: Callable[[], float], offline: bool, source_id: str | None,
           worker_id: str | None, first: date | None, last: date | None) -> EventsResult:
    if first and last and last < first:
        raise UsageError(f"--to {last} is before --from {first}.")
    worker = ctx.worker(worker_id) if worker_id is not None else None
    view = calendar_view(ctx, today, now, offline, source_id, [worker] if worker else None)
    if worker is not None:   # that worker's items: only the sources that can hold them count
        view = view.for_workers([worker], ctx.store)
    if last is not None:  # asked about dates beyond the window: say that recurring items were not expanded there
        view = view.covering(first or min(last, view.window.start.date()), last)
    start, end = local_range(first, last, ctx.config.tz)
    items = ctx.store.items(ctx.config.tz, view.ids, start, end, worker_id)
    matcher = sync_mod.matcher_for(ctx.store, ctx.roster, ctx.roster_key)
    sources = {s.id: s for s in select_sources(ctx, source_id)}
    # The same meeting can sit in two mailboxes under one UID: reasons go item by item.
    reasons = [dict(matcher.reasons(i, sources[i.source].owner, sources[i.source].kind in MAIL_SYSTEMS))
               if i.worker_ids and i.source in sources else {} for i in items]
    return EventsResult(first=first, last=last, view=view, items=items, reasons=reasons)
