"""Fetch -> read -> store, one source at a time; a source that fails keeps its last good copy."""

from __future__ import annotations

import os
import time as clock
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from courtsync.calendars.base import Snapshot, Source, Window, source_class, source_type
from courtsync.config import Config
from courtsync.errors import CourtsyncError
from courtsync.models import BusyItem, Roster, SourceInfo
from courtsync.ownership import Matcher
from courtsync.store import SourceRow, Store

WINDOW_MONTHS_BACK = 3
WINDOW_MONTHS_AHEAD = 24


@dataclass(frozen=True)
class SyncReport:
    """What one source's sync did, for the line `courtsync sync` prints."""

    source: str
    label: str
    outcome: str          # "read", "unchanged" or "failed"
    events: int
    reread: int
    groups: int
    problems: int
    seconds: float
    round_trips: int
    error: str | None = None


def window_for(today: date, tz: ZoneInfo) -> Window:
    """Recurring items are expanded from 3 months back to 24 months ahead, month-aligned so the
    window (and so the cached reading of every series) changes once a month, not every day."""
    def month(offset: int) -> datetime:
        index = today.year * 12 + today.month - 1 + offset
        return datetime.combine(date(index // 12, index % 12 + 1, 1), time(), tzinfo=tz)

    return Window(month(-WINDOW_MONTHS_BACK), month(WINDOW_MONTHS_AHEAD), tz)


def configured_sources(config: Config, roster: Roster) -> list[Source]:
    """Court feeds (`cook-cpd`, `cook-cpd#2`, ...) and personal calendars (`calendar:w01`), in config order."""
    out: list[Source] = []
    for court in config.court:
        for n, feed in enumerate(court.feeds, 1):
            sid = court.id if n == 1 else f"{court.id}#{n}"
            out.append(_make(source_type(feed), sid, "court", feed, config, None, court.case_pattern))
    for worker in roster.workers.values():
        if worker.calendar:
            out.append(_make(source_type(worker.calendar), f"calendar:{worker.id}", "personal", worker.calendar,
                             config, worker.id, None))
    if config.exchange is not None or config.graph is not None:
        # Everyone whose calendar is not a file or URL of their own is read from the mail system.
        mailboxes = {w.email: w.id for w in roster.workers.values() if not w.calendar}
        if config.exchange is not None:
            out.append(source_class("ews")("exchange", config.exchange, mailboxes))
        else:
            out.append(source_class("graph")("graph", config.graph, mailboxes))
    return out


def _make(type_name: str, sid: str, kind: str, location: str, config: Config, owner: str | None,
          case_pattern: str | None) -> Source:
    cls = source_class(type_name)
    if type_name == "file":
        source: Source = cls(sid, kind, location, config.base_dir, owner=owner, case_pattern=case_pattern)
    else:
        source = cls(sid, kind, location, owner=owner, case_pattern=case_pattern)
    return source


PARALLEL_FROM = 8   # sources; below this a process pool costs more than it saves


def _read_one(task: tuple[Source, Window, dict[str, str], dict[str, str]]) -> tuple[Snapshot | None, str | None, float]:
    source, window, validators, known = task
    started = clock.perf_counter()
    try:
        return source.read(window, validators, known), None, clock.perf_counter() - started
    except CourtsyncError as exc:
        return None, exc.message, clock.perf_counter() - started


def _reads(tasks: list[tuple[Source, Window, dict[str, str], dict[str, str]]]) -> Iterator[
        tuple[Snapshot | None, str | None, float]]:
    """Read sources, on every core when there are many (results come back in order). Sources that can
    tell cheaply that nothing changed (a file's stat) are answered here, without a worker."""
    cheap = [bool(getattr(t[0], "unchanged", None) and t[0].unchanged(t[2], t[3])) for t in tasks]  # type: ignore
    rest = [t for t, same in zip(tasks, cheap, strict=True) if not same]
    results = iter(_read_all(rest))
    for task, same in zip(tasks, cheap, strict=True):
        if same:
            yield Snapshot(groups={}, validators=task[2], not_modified=True), None, 0.0
        else:
            yield next(results)


def _read_all(tasks: list[tuple[Source, Window, dict[str, str], dict[str, str]]]) -> Iterator[
        tuple[Snapshot | None, str | None, float]]:
    import multiprocessing  # only a sync of many sources needs a process pool
    from concurrent.futures import ProcessPoolExecutor

    cores = min(os.cpu_count() or 1, 4)
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if len(tasks) < PARALLEL_FROM or cores < 2 or not forkable or \
            not all(getattr(t[0], "parallel_safe", True) for t in tasks):
        yield from map(_read_one, tasks)
        return
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork in a process with threads; the workers only parse bytes.
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("fork"))
    with pool:
        yield from pool.map(_read_one, tasks, chunksize=1)


def sync_sources(store: Store, sources: Iterable[Source], window: Window, roster: Roster, owners_key: str,
                 now: Callable[[], float] = clock.time,
                 progress: Callable[[SyncReport], None] | None = None) -> list[SyncReport]:
    """Read each source and store what changed. Never raises for a source that cannot be read."""
    matcher: Matcher | None = None
    reports = []
    rows = store.sources()
    tasks = []
    for source in sources:
        row = rows.get(source.id)
        same_window = row is not None and row.window == window.key() and row.synced_at is not None
        known = store.group_hashes(source.id) if same_window else {}
        validators = row.validators if (row is not None and same_window) else {}
        tasks.append((source, window, validators, known))
    for (source, _, _, known), (snap, error, seconds) in zip(tasks, _reads(tasks), strict=True):
        started = clock.perf_counter()
        row = rows.get(source.id)
        if snap is None:
            store.record_failure(source.id, source.kind, source.label, error or "unreadable", now())
            report = SyncReport(source.id, source.label, "failed", row.events if row else 0, 0, 0, 0, seconds, 0,
                                error)
            reports.append(report)
            if progress is not None:
                progress(report)
            continue
        matcher = matcher or Matcher(roster.workers.values(), roster.caseload)
        owners = owners_for(matcher, source)
        if row is not None and row.owners_key != owners_key and known:
            store.reassign_owners(source.id, owners, owners_key, window.tz)
        if snap.not_modified:
            store.record_unchanged(source.id, now(), snap.round_trips)
            report = SyncReport(source.id, source.label, "unchanged", row.events if row else 0, 0, len(known), 0,
                                seconds + clock.perf_counter() - started, snap.round_trips)
        else:
            reread, count = store.apply(source.id, source.kind, source.label, snap.groups, snap.problems,
                                        snap.validators, window.key(), now(), snap.round_trips, owners, owners_key)
            problems = len(snap.problems) + sum(len(g.problems or ()) for g in snap.groups.values())
            report = SyncReport(source.id, source.label, "read", count, reread, len(snap.groups), problems,
                                seconds + clock.perf_counter() - started, snap.round_trips)
        reports.append(report)
        if progress is not None:
            progress(report)
    return reports


MAILBOX_KINDS = ("exchange", "graph")


def owners_for(matcher: Matcher, source: Source) -> Callable[[BusyItem], tuple[str, ...]]:
    owner, mailbox = source.owner, source.kind in MAILBOX_KINDS
    return lambda item: matcher.owners(item, owner, mailbox)


def source_info(source: Source, row: SourceRow | None, now: float, max_age: timedelta) -> SourceInfo:
    """ok: read within max_age; stale: the last good copy is older; error: the last attempt failed or never read."""
    synced = datetime.fromtimestamp(row.synced_at, UTC) if row and row.synced_at else None
    if row is None or row.synced_at is None:
        error = row.error if row and row.error else "never read; run `courtsync sync`"
        return SourceInfo(source.id, source.kind, "error", None, 0, error, source.label)
    if row.error:
        return SourceInfo(source.id, source.kind, "error", synced, row.events,
                          f"{row.error} (showing the copy from {_age(now - row.synced_at)} ago)", source.label)
    if now - row.synced_at > max_age.total_seconds():
        return SourceInfo(source.id, source.kind, "stale", synced, row.events,
                          f"last read {_age(now - row.synced_at)} ago, older than max_age", source.label)
    return SourceInfo(source.id, source.kind, "ok", synced, row.events, None, source.label)


def needs_sync(row: SourceRow | None, now: float, max_age: timedelta, window: Window) -> bool:
    return (row is None or row.synced_at is None or row.error is not None or row.window != window.key()
            or now - row.synced_at > max_age.total_seconds())


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"
