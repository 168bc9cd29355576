"""Fetch -> read -> store, one source at a time; a source that fails keeps its last good copy."""

from __future__ import annotations

import hashlib
import marshal
import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from courtsync.calendars.base import Fetched, Source, Window
from courtsync.calendars.mailbox import mailbox_location
from courtsync.calendars.registry import source_class, source_type
from courtsync.config.schema import Config
from courtsync.core.ownership import Matcher
from courtsync.errors import EXIT_OK, EXIT_SOURCE, CourtsyncError, SourceError
from courtsync.models import MAIL_SYSTEMS, BusyItem, Problem, Roster, SourceId, SourceInfo, SourceKind, SourceState
from courtsync.store.base import CalendarCache as Store  # the cache half of the store
from courtsync.store.base import Change, GroupWrite, SourceHealth, SourceRow
from courtsync.sync.policy import Policy, held_groups, sudden_drop
from courtsync.sync.readers import ReadResult, SourceRead, Task, read_all

WINDOW_MONTHS_BACK = 3
WINDOW_MONTHS_AHEAD = 24


@dataclass(frozen=True)
class SyncReport:
    """What one source's sync did, for the line `courtsync sync` prints."""

    source: str
    label: str
    outcome: str          # "read", "unchanged", "failed", "held" (a sudden drop), "abandoned" (cut off at a
                          # command's deadline) or "skipped" (the deadline passed before it could start)
    events: int
    reread: int
    groups: int
    problems: int
    seconds: float
    round_trips: int
    error: CourtsyncError | None = None   # why it failed (its hint, its exit code), or why it was held
    held: tuple[str, ...] = ()  # a mail source's mailboxes (worker ids) held at their last good copy

    @property
    def exit_code(self) -> int:
        """0 when this source is stored as served; else its error's code: 2 when its configuration is wrong
        (a password variable unset), 3 when it could not be read, was not read in time, or was held."""
        if self.outcome in ("read", "unchanged") and not self.held:
            return EXIT_OK
        return self.error.exit_code if self.error is not None else EXIT_SOURCE


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
            out.append(_feed(SourceId.court_feed(court.id, n), feed, config, None, court.case_pattern))
    for worker in roster.with_calendar():
        assert worker.calendar
        out.append(_feed(SourceId.calendar(worker.id), worker.calendar, config, worker.id, None))
    if config.exchange is not None or config.graph is not None:
        # Everyone whose calendar is not a file or URL of their own is read from the mail system.
        mailboxes = {w.email: w.id for w in roster.workers.values() if not w.calendar}
        if config.exchange is not None:
            out.append(source_class("ews")(str(SourceId("exchange")), config.exchange, mailboxes))
        elif config.graph is not None:
            out.append(source_class("graph")(str(SourceId("graph")), config.graph, mailboxes))
    return out


def _feed(sid: SourceId, location: str, config: Config, owner: str | None, case_pattern: str | None) -> Source:
    """A court feed or personal calendar: a file, or a URL."""
    kind: SourceKind = sid.kind
    if source_type(location) == "file":
        return source_class("file")(str(sid), kind, location, config.base_dir, owner=owner, case_pattern=case_pattern)
    return source_class("http")(str(sid), kind, location, owner=owner, case_pattern=case_pattern)


PLAIN = Policy()    # no time limit, no backoff, nothing held: what a sync does unless told more


def sync_sources(store: Store, sources: Iterable[Source], window: Window, roster: Roster, owners_key: str,
                 now: Callable[[], float] = clock.time,
                 progress: Callable[[SyncReport], None] | None = None, policy: Policy = PLAIN) -> list[SyncReport]:
    """Read each source and store what changed. Never raises for a source that cannot be read.

    Sources that can tell cheaply that nothing changed (a file's stat) are answered without reading; the rest
    are read (sync.readers: side by side when there are many), each group's tag compared with the stored one
    and only the changed groups parsed, and stored as their reads come back. A read that loses more than
    `policy.max_drop` of the source's upcoming items is held (not stored), unless accepted."""
    rows = store.sources()
    tasks: list[Task] = []
    plan: list[tuple[Source, dict[str, str] | None]] = []   # (source, its stored groups; None: not read)
    for source in sources:
        row = rows.get(source.id)
        if moved(source, row):   # the copy is of another file or URL: this source was never read
            store.forget(source.id)
            rows.pop(source.id)
            row = None
        has_reading = row is not None and row.window == window.key() and row.synced_at is not None
        validators = row.validators if (row is not None and has_reading) else {}
        cheap = getattr(source, "unchanged", None)
        if has_reading and cheap is not None and cheap(validators):
            plan.append((source, None))
            continue
        stored = store.group_tags(source.id) if has_reading else {}
        tasks.append(Task(source, window, validators, stored, policy.limit))
        plan.append((source, stored))
    matcher: list[Matcher] = []   # built on first need: most re-syncs touch no items

    def owners(source: Source) -> Callable[[BusyItem], tuple[str, ...]]:
        if not matcher:
            matcher.append(matcher_for(store, roster, owners_key))
        return owners_for(matcher[0], source)

    reports = []
    with read_all(tasks) as results, store.batch():
        if tasks:
            owners(tasks[0].source)   # load the matcher while the first reads run
        for source, compared in plan:
            result = next(results) if compared is not None else \
                ReadResult(SourceRead(Fetched(not_modified=True)), None, 0.0)
            report = _store_one(store, source, rows.get(source.id), result, window, owners,
                                owners_key, now, policy)
            reports.append(report)
            if progress is not None:
                progress(report)
    return reports


def change_of(read: SourceRead) -> Change:
    """What a read changes in the store (sync.readers compared its groups' tags with the stored ones)."""
    return Change(set(read.keys), {key: GroupWrite(tag, group.items, group.problems)
                                   for key, (tag, group) in read.parsed.items()}, read.moved)


def _store_one(store: Store, source: Source, row: SourceRow | None, result: ReadResult,
               window: Window,
               owners: Callable[[Source], Callable[[BusyItem], tuple[str, ...]]], owners_key: str,
               now: Callable[[], float], policy: Policy) -> SyncReport:
    started = clock.perf_counter()
    read, seconds = result.read, result.seconds
    if read is None:
        return _failed(store, source, row, result, now, policy)
    fetched = read.fetched
    change = change_of(read)
    held, held_mailboxes = None, dict[str, str]()
    if not fetched.not_modified and source.id not in policy.accept:
        if source.kind in MAIL_SYSTEMS:   # counted per mailbox: the others' mailboxes are still taken
            held_mailboxes = held_groups(store, source, change, window, policy)
            _hold_mailboxes(source, fetched, held_mailboxes)
        else:
            held = sudden_drop(store, source, change, window, policy)
    if held is not None:   # keep the last good copy: nothing of this read is stored (not even its validators)
        store.record_setback(source.id, now(), policy.backoff, held=held)
        return SyncReport(source.id, source.label, "held", row.events if row else 0, 0, 0, 0, seconds,
                          fetched.round_trips, SourceError(held))
    if row is not None and row.owners_key != owners_key and row.synced_at is not None \
            and row.window == window.key():
        store.reassign_owners(source.id, owners(source), owners_key, window.tz)
    store.clear_setbacks(source.id)
    if fetched.not_modified:
        store.record_unchanged(source.id, now(), fetched.round_trips, location_key(source))
        return SyncReport(source.id, source.label, "unchanged", row.events if row else 0, 0, 0, 0,
                          seconds + clock.perf_counter() - started, fetched.round_trips)
    count = store.apply(source.id, source.kind, source.label, change, fetched.problems, fetched.validators,
                        window.key(), now(), fetched.round_trips, owners(source), owners_key, location_key(source))
    problems = len(fetched.problems) + sum(len(g.problems) for g in change.written.values())
    return SyncReport(source.id, source.label, "read", count, len(change.written), len(change.present), problems,
                      seconds + clock.perf_counter() - started, fetched.round_trips,
                      held=tuple(sorted(held_mailboxes)))


def _failed(store: Store, source: Source, row: SourceRow | None, result: ReadResult, now: Callable[[], float],
            policy: Policy) -> SyncReport:
    outcome = "failed"
    if result.abandoned == "skipped":   # never started: nothing to record
        outcome = "skipped"
    elif result.abandoned == "deadline":   # the last good copy answers (stale); no error recorded
        outcome = "abandoned"
        store.record_setback(source.id, now(), policy.backoff, timed_out=True)
    else:
        store.record_failure(source.id, source.kind, source.label,
                             result.error.message if result.error else "unreadable", now(), location_key(source))
        store.record_setback(source.id, now(), policy.backoff)
    return SyncReport(source.id, source.label, outcome, row.events if row else 0, 0, 0, 0, result.seconds, 0,
                      result.error)


def _hold_mailboxes(source: Source, fetched: Fetched, held: dict[str, str]) -> None:
    """Each held mailbox becomes a problem that names it, so only that worker's answers are in doubt."""
    emails = {wid: email for email, wid in getattr(source, "mailboxes", {}).items()}
    fetched.problems.extend(Problem(source.id, mailbox_location(emails[wid], wid), why) for wid, why in held.items())


def matcher_for(store: Store, roster: Roster, roster_key: str) -> Matcher:
    """The roster's matcher; its tables are cached in the store under the roster's signature."""
    blob = store.cached("matcher", roster_key)
    if blob is not None:
        try:
            by_email, by_case = marshal.loads(blob)
            return Matcher.from_tables(by_email, by_case)
        except (ValueError, TypeError, EOFError):
            pass
    matcher = Matcher(roster.workers.values(), roster.caseload)
    store.remember("matcher", roster_key, marshal.dumps((matcher.by_email, matcher.by_case)))
    return matcher


def owners_for(matcher: Matcher, source: Source) -> Callable[[BusyItem], tuple[str, ...]]:
    owner, mailbox = source.owner, source.kind in MAIL_SYSTEMS
    return lambda item: matcher.owners(item, owner, mailbox)


ABANDONED = "the last re-read did not finish within `deadline` and was abandoned"
EARLIER_WINDOW = "read for an earlier window (recurring items not expanded over the current one); run `courtsync sync`"
RETRY_NOTE = "commands try it again in"


def location_key(source: Source) -> str:
    """Where a source is read from, as a hash (its URL may hold a key): a stored copy belongs to one location."""
    where = getattr(source, "url", None) or str(getattr(source, "path", None) or source.label)
    return hashlib.sha256(f"{type(source).__name__}\n{where}".encode()).hexdigest()[:32]


def moved(source: Source, row: SourceRow | None) -> bool:
    """Whether the stored copy of this source was read from another location than the configured one (the
    configuration or roster changed since): then it is not this source's copy, and the old location's
    failures and backoff are not the new one's. A row from a store before locations were kept has none."""
    return row is not None and row.location is not None and row.location != location_key(source)


MOVED = ("never read at its configured location (the configuration or roster changed where it is read from "
         "since the last read); run `courtsync sync`")


def source_info(source: Source, row: SourceRow | None, now: float, max_age: timedelta,
                health: SourceHealth | None = None, window: Window | None = None) -> SourceInfo:
    """ok: read within max_age for this window; stale: the last good copy is older, was read for an earlier
    window (the month rolled over: recurring items are not expanded over all of this one), or its re-read was
    abandoned at a command's deadline; suspect: the last read was held (a sudden drop), the last good copy
    answers; error: the last attempt failed or it was never read."""
    if moved(source, row):
        return SourceInfo(source.id, source.kind, "error", None, 0, MOVED, source.label)
    synced = datetime.fromtimestamp(row.synced_at, UTC) if row and row.synced_at else None
    retry = _retry_note(health, now)

    def info(status: SourceState, *why: str) -> SourceInfo:
        return SourceInfo(source.id, source.kind, status, synced, row.events if row else 0,
                          joined(*why, retry) if why else None, source.label)

    if row is None or row.synced_at is None:
        if health is not None and health.timed_out:
            return info("error", f"never read: {ABANDONED}; run `courtsync sync`")
        return info("error", row.error if row and row.error else "never read; run `courtsync sync`")
    shown = f"(showing the copy from {_age(now - row.synced_at)} ago)"
    if health is not None and health.held:
        return info("suspect", health.held, shown)
    if health is not None and health.timed_out:
        return info("stale", ABANDONED, shown)
    if row.error:
        return info("error", row.error, shown)
    if window is not None and row.window != window.key():
        return info("stale", EARLIER_WINDOW, shown)
    if now - row.synced_at > max_age.total_seconds():
        return SourceInfo(source.id, source.kind, "stale", synced, row.events,
                          f"last read {_age(now - row.synced_at)} ago, older than max_age", source.label)
    return SourceInfo(source.id, source.kind, "ok", synced, row.events, None, source.label)


def joined(*parts: str) -> str:
    """Parts of one message, each without its own closing full stop: "a (b); c", never "a.; c" or "a. (b)"."""
    out = ""
    for part in (p.strip() for p in parts if p and p.strip()):
        out = out.rstrip().rstrip(".")
        out += part if not out else (f" {part}" if part.startswith("(") else f"; {part.lstrip('; ')}")
    return out


def without_retry(error: str) -> str:
    """A source's error without the note on when commands retry it (a message read later, like a digest)."""
    return error.split(f"; {RETRY_NOTE} ")[0]


def _retry_note(health: SourceHealth | None, now: float) -> str:
    if health is None or health.retry_after is None or health.retry_after <= now:
        return ""
    return f"{RETRY_NOTE} {_age(health.retry_after - now)} (`courtsync sync` tries now)"


def needs_sync(row: SourceRow | None, now: float, max_age: timedelta, window: Window,
               health: SourceHealth | None = None, source: Source | None = None) -> bool:
    """Whether a command re-reads this source before answering: read from another location (whatever the
    old one's backoff), never read, failed, in another window or older than max_age, and not backing off after
    failed attempts (an explicit sync always reads)."""
    if source is not None and row is not None and (moved(source, row) or row.location is None):
        return True   # read elsewhere, or by a release that kept no location: read where it is now, once
    if health is not None and health.retry_after is not None and now < health.retry_after:
        return False
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
