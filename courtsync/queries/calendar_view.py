"""The fresh calendar view every conflict command reads: stale sources re-read first (within the deadline), then
each source described honestly (ok, stale, suspect, error) with its problems."""

from __future__ import annotations

import difflib
import time as clock
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from courtsync.calendars.base import Source, Window
from courtsync.calendars.mailbox import mailbox_worker
from courtsync.context import Context, command_began, wait_display
from courtsync.errors import NotFoundError
from courtsync.models import MAIL_SYSTEMS, Problem, SourceInfo, Worker
from courtsync.store.base import CalendarCache
from courtsync.sync import engine as sync_mod
from courtsync.sync.engine import owners_for
from courtsync.sync.policy import Limit, Policy


@dataclass(frozen=True)
class CalendarView:
    """What courtsync knows of the calendars right now: each source's state and the problems found."""

    sources: list[SourceInfo]
    problems: list[Problem]
    window: Window
    synced: list[sync_mod.SyncReport]
    horizon: str | None = None   # set when the dates asked about reach outside the window calendars are read in
    configured: Mapping[str, Source] = field(default_factory=dict)   # id -> the source: whose items it can hold
    as_read: tuple[SourceInfo, ...] = ()  # `sources` before for_workers chose and restated them

    @property
    def incomplete(self) -> bool:
        return self.horizon is not None or any(s.status != "ok" for s in self.sources)

    def sees(self, day: date) -> bool:
        """Whether the calendars were read for this local date (recurring items expanded over it)."""
        return not self.sources or self.window.start.date() <= day < self.window.end.date()

    def covering(self, first: date, last: date) -> CalendarView:
        """This view, marked incomplete (a problem and exit 3) if [first, last] reaches outside the window: a
        weekly hearing series in 2030 is not in the store, so "no busy item" there would be a guess."""
        if self.sees(first) and self.sees(last):
            return self
        shown_end = self.window.end.date() - timedelta(days=1)
        outside = last if not self.sees(last) else first
        message = (f"Calendars are read from {self.window.start.date()} to {shown_end} (recurring hearings "
                   f"expanded {sync_mod.WINDOW_MONTHS_BACK} months back and {sync_mod.WINDOW_MONTHS_AHEAD} "
                   f"months ahead); {outside} is outside that, so hearings and Outlook items on it were not seen")
        if outside > shown_end:
            month = outside.year * 12 + outside.month - 1 - (sync_mod.WINDOW_MONTHS_AHEAD - 1)
            message += f"; ask again from {date(month // 12, month % 12 + 1, 1)} on, when they will be"
        message += "."
        problem = Problem("calendars", f"{first}..{last}", message)
        return replace(self, problems=[*self.problems, problem], horizon=message)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.sources]

    @property
    def unread(self) -> list[SourceInfo]:
        """The sources not read within max_age and found good: any status but ok (stale, error, suspect...)."""
        return [s for s in self.sources if s.status != "ok"]

    def without_own_calendar(self, workers: Sequence[Worker]) -> list[Worker]:
        """Those of these workers that no source here holds a calendar of their own for (cheap for 10,000)."""
        owners = {s.owner for s in self.configured.values() if s.kind == "personal"}
        mail = [getattr(s, "mailboxes", {}) for s in self.configured.values() if s.kind in MAIL_SYSTEMS]
        return [w for w in workers if w.id not in owners and not any(w.email.lower() in m for m in mail)]

    def for_workers(self, workers: Sequence[Worker], store: CalendarCache) -> CalendarView:
        """This view as these workers' answers depend on it: every court feed, and their own calendars or
        mailboxes, nobody else's. A mail source is shown as it stands for them: a mailbox of theirs that the
        last read could not read (or that was added since) makes it unread for them, and only for them."""
        if not self.configured:
            return self
        ids = {w.id for w in workers}
        kept: dict[str, set[str]] = {}     # source id -> its workers among these (mail sources)
        infos: list[SourceInfo] = []
        by_id = self.configured
        as_read = self.as_read or tuple(self.sources)   # a team within a scan's view: restated from the read
        original = {s.id: s for s in as_read}
        for info in self.sources:
            source = by_id.get(info.id)
            if source is None or source.kind == "court":
                infos.append(info)
            elif source.kind in MAIL_SYSTEMS:
                mailboxes = getattr(source, "mailboxes", {})
                theirs = {m for w in workers if (m := mailboxes.get(w.email.lower())) is not None}
                if theirs:
                    kept[info.id] = theirs
                    infos.append(self._mailboxes_for(original.get(info.id, info), theirs, store))
            elif source.owner in ids:
                infos.append(info)
        shown = {i.id for i in infos}
        problems = [p for p in self.problems if p.source not in by_id or (
            p.source in shown and (p.source not in kept or mailbox_worker(p.location) in kept[p.source]
                                   or mailbox_worker(p.location) is None))]
        return replace(self, sources=infos, problems=problems, as_read=as_read)

    def problems_for(self, workers: Sequence[Worker]) -> list[Problem]:
        """The problems of the sources that can hold these workers' items (a mail source's: their mailboxes')."""
        ids = {w.id for w in workers}

        def theirs(p: Problem) -> bool:
            source = self.configured.get(p.source)
            if source is None or source.kind == "court":
                return True
            if source.kind in MAIL_SYSTEMS:
                worker = mailbox_worker(p.location)
                return worker in ids if worker is not None else holds_items_of(source, workers)
            return source.owner in ids

        return [p for p in self.problems if theirs(p)]

    def unread_for(self, workers: Sequence[Worker], store: CalendarCache) -> list[SourceInfo]:
        """for_workers(...).unread, looking only at what is unread here (a digest asks once per team)."""
        return replace(self, sources=self.unread).for_workers(workers, store).unread if self.unread else []

    def _mailboxes_for(self, info: SourceInfo, workers: set[str], store: CalendarCache) -> SourceInfo:
        if info.synced_at is None:   # the mail source itself was never read: that says it all
            return info
        failed = {w: p.reason for p in self.problems if p.source == info.id
                  and (w := mailbox_worker(p.location)) in workers}
        never = sorted(workers - failed.keys() - store.stored_groups(info.id, workers - failed.keys()))
        held = {w for w, why in failed.items() if why.startswith("held:")}   # a sudden drop (sync_policy)
        notes = [f"mailbox of {w} {why}" if w in held else f"mailbox of {w} failed at the last read ({why})"
                 for w, why in sorted(failed.items())] + \
                [f"mailbox of {w} never read (added since the last read; run `courtsync sync`)" for w in never]
        if not notes:
            return info
        shown = "; ".join(notes[:3]) + (f"; and {len(notes) - 3} more mailbox(es)" if len(notes) > 3 else "")
        error = shown + (f"; {info.error}" if info.error else "")
        return replace(info, status="suspect" if held == failed.keys() and not never else "error", error=error)


def select_sources(ctx: Context, source_id: str | None) -> list[Source]:
    kept = ctx.memo.get("sources")
    if kept is None:   # (10,000 workers' calendars: 8 ms to describe; a server's every request needs them)
        kept = ctx.memo["sources"] = sync_mod.configured_sources(ctx.config, ctx.roster)
    sources = list(kept)
    if source_id is None:
        return sources
    chosen = [s for s in sources if s.id == source_id]
    if not chosen:
        ids = [s.id for s in sources]
        close = difflib.get_close_matches(source_id, ids, n=3)
        raise NotFoundError(f"No calendar source with id {source_id!r}.",
                         hint=(f"Did you mean {', '.join(close)}? " if close else "")
                         + f"Sources: {', '.join(ids) or 'none configured'}.")
    return chosen


def policy_for(ctx: Context, today: date, limit: Limit, accept: frozenset[str] = frozenset()) -> Policy:
    start = datetime.combine(today, time(), tzinfo=ctx.config.tz).timestamp()
    return Policy(limit=limit, max_age=ctx.config.max_age, max_drop=ctx.config.max_drop, upcoming_from=start,
                  accept=accept)


def holds_items_of(source: Source, workers: Sequence[Worker] | None) -> bool:
    """Whether this source can hold items of these workers (None: of anyone): every court feed does, a personal
    calendar only its owner's, a mail source only its mailboxes'."""
    if workers is None or source.kind == "court":
        return True
    if source.kind in MAIL_SYSTEMS:
        mailboxes = getattr(source, "mailboxes", {})
        return any(w.email.lower() in mailboxes for w in workers)
    return source.owner is None or source.owner in {w.id for w in workers}


# How long a process that answers request after request (`courtsync serve`: the Context's memo outlives a request)
# trusts what it last made of the sources' state (their rows, setbacks and problems, each source's status)
# before reading it again: three queries of the hundreds of rows a state has and a status for each, where the
# answer itself needs one query. A sync's effect shows a second later at most; each answer's own items are
# always read anew. A command reads the state once anyway.
STATE_SECONDS = 1.0


def calendar_view(ctx: Context, today: date, now: Callable[[], float], offline: bool,
                  source_id: str | None = None, workers: Sequence[Worker] | None = None) -> CalendarView:
    """Sync what is older than max_age (unless offline), then describe every source honestly. With `workers`,
    only the sources that can hold their items are re-read: nobody waits on another person's calendar."""
    window = sync_mod.window_for(today, ctx.config.tz)
    sources = select_sources(ctx, source_id)
    if not sources:
        return CalendarView(sources=[], problems=[], window=window, synced=[])
    synced: list[sync_mod.SyncReport] = []
    if not offline:
        rows, health = ctx.store.sources(), ctx.store.health()
        theirs = sources if workers is None else [s for s in sources if holds_items_of(s, workers)]
        stale = [s for s in theirs if sync_mod.needs_sync(rows.get(s.id), now(), ctx.config.max_age, window,
                                                          health.get(s.id), s)]
        if stale:
            # A person is waiting: every re-read shares one deadline, then the last good copies answer.
            began = command_began[-1] if command_began else None
            policy = policy_for(ctx, today, Limit.command(ctx.config.deadline, began))
            with wait_display[0](stale) if wait_display else nullcontext():
                synced = sync_mod.sync_sources(ctx.store, stale, window, ctx.roster, ctx.roster_key, now,
                                               policy=policy)
    kept = ctx.memo.get("view-state") if offline and source_id is None else None
    if kept is not None and clock.monotonic() - kept[0] < STATE_SECONDS:
        _, infos, problems, configured = kept
        return CalendarView(sources=list(infos), problems=list(problems), window=window, synced=synced,
                            configured=configured)   # (copies: a caller may add to its own lists)
    rows, health = ctx.store.sources(), ctx.store.health()
    outdated = [s for s in sources if (row := rows.get(s.id)) is not None and row.synced_at is not None
                and row.owners_key != ctx.roster_key]
    if outdated:  # the roster changed since these were stored: match their items to workers again
        matcher = sync_mod.matcher_for(ctx.store, ctx.roster, ctx.roster_key)
        for s in outdated:
            ctx.store.reassign_owners(s.id, owners_for(matcher, s), ctx.roster_key, ctx.config.tz)
    problems = ctx.store.problems(s.id for s in sources)
    infos = [sync_mod.source_info(s, rows.get(s.id), now(), ctx.config.max_age, health.get(s.id), window)
             for s in sources]
    configured = {s.id: s for s in sources}
    if offline and source_id is None and not outdated:
        ctx.memo["view-state"] = (clock.monotonic(), infos, problems, configured)
    return CalendarView(sources=infos, problems=problems, window=window, synced=synced, configured=configured)


def local_range(first: date | None, last: date | None, tz: object) -> tuple[datetime | None, datetime | None]:
    """Inclusive local dates -> [start of first day, start of the day after last)."""
    start = datetime.combine(first, time(), tzinfo=tz) if first else None  # type: ignore[arg-type]
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz) if last else None  # type: ignore[arg-type]
    return start, end


