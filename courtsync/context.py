"""What every command opens first: configuration, roster, sessions and store (Context); when the command began."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import sys
import time as clock
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from courtsync import __version__
from courtsync.calendars.base import Source
from courtsync.config import roster as roster_mod
from courtsync.config.schema import Config, load_config
from courtsync.core import schedule
from courtsync.errors import ConfigError, Located, NotFoundError
from courtsync.membership import with_enrollments
from courtsync.models import (
    CaseAssignment,
    Collaborative,
    Court,
    Roster,
    Session,
    Worker,
)
from courtsync.store.base import CalendarCache, Storage
from courtsync.store.sqlite import Store

T = TypeVar("T")
# Raise whenever the layout of a cached value changes, so no run decodes an older layout.
CACHE_FORMAT = 3


class Sessions(Mapping[str, list[Session]]):
    """Each collaborative's sessions, computed when first asked for (a check needs only a few)."""

    def __init__(self, collaboratives: Mapping[str, Collaborative], tz: ZoneInfo,
                 holidays: schedule.CourtHolidays) -> None:
        self._collaboratives = collaboratives
        self._tz = tz
        self._holidays = holidays
        self._done: dict[str, list[Session]] = {}

    def __getitem__(self, collaborative_id: str) -> list[Session]:
        if collaborative_id not in self._done:
            collab = self._collaboratives[collaborative_id]
            self._done[collaborative_id] = schedule.sessions(collab, self._tz, self._holidays)
        return self._done[collaborative_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._collaboratives)

    def __len__(self) -> int:
        return len(self._collaboratives)


@dataclass(frozen=True)
class Context:
    """Everything read from courtsync.toml and the CSV files, plus each collaborative's sessions."""

    config: Config
    roster: Roster
    collaboratives: dict[str, Collaborative]
    courts: dict[str, Court]
    holidays: schedule.CourtHolidays
    sessions: Mapping[str, list[Session]]
    store: Storage
    roster_key: str = ""
    # What is derived from the fields above alone (the configured sources), kept for the Context's life: in
    # `courtsync serve`, for as long as ContextCache keeps the configuration (every request's copy shares it).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """The command is done with the store (its files are folded in and closed; reopened on next use)."""
        self.store.close()

    def worker(self, worker_id: str) -> Worker:
        return _lookup(self.roster.workers, worker_id, "worker", "workers.csv")

    def collaborative(self, collaborative_id: str) -> Collaborative:
        return _lookup(self.collaboratives, collaborative_id, "collaborative", "courtsync.toml")

    def court(self, court_id: str) -> Court:
        return _lookup(self.courts, court_id, "court", "courtsync.toml")

    def buffer_for(self, court_id: str | None) -> timedelta:
        court = self.courts.get(court_id) if court_id else None
        return court.buffer if court and court.buffer is not None else self.config.buffer

    def buffer_around(self, collaborative_id: str, court_id: str | None) -> timedelta:
        """The travel buffer around a session of this collaborative for an item of this court (None: not a
        hearing): the collaborative's own when it sets one, else the court's, else the global one."""
        collab = self.collaboratives.get(collaborative_id)
        return collab.buffer if collab is not None and collab.buffer is not None else self.buffer_for(court_id)


def _lookup(table: Mapping[str, T], key: str, what: str, where: str) -> T:
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, list(table), n=3)
    hint = f"Did you mean {', '.join(close)}?" if close else f"See the ids in {where}."
    raise NotFoundError(f"No {what} with id {key!r}.", hint=hint)


def _signature(*paths: Path | None) -> str:
    """Changes whenever one of the files does (size, mtime or inode), and with courtsync's version."""
    parts = [__version__, str(CACHE_FORMAT), sys.version]
    for path in paths:
        if path is None:
            parts.append("-")
            continue
        try:
            st = path.stat()
        except OSError:
            parts.append(f"{path}:missing")
            continue
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _court_holidays(config: Config, store: CalendarCache, today: date) -> schedule.CourtHolidays:
    """Court holidays; the package's answers for the years around today are cached in the store."""
    if not isinstance(config.holidays, str):
        return schedule.CourtHolidays(config.holidays)
    span = (today.year - 1, today.year + 4)
    spec = importlib.util.find_spec("holidays")
    origin = Path(spec.origin) if spec and spec.origin else None
    key = f"{config.holidays}:{span}:{_signature(origin)}"
    blob = store.cached("holidays", key)
    if blob is not None:
        known = {date.fromisoformat(d): n for d, n in json.loads(blob).items()}
    else:
        try:
            known = schedule.CourtHolidays(config.holidays).table(*span)
        except ValueError as exc:
            path, line, dotted = config.locate("holidays")
            raise ConfigError(f"{path} is not valid:", problems=[Located(str(exc), path, line, dotted)],
                              hint='Use a country and subdivision code such as "US-IL", a list of '
                                   "dates, or false.") from None
        store.remember("holidays", key, json.dumps({d.isoformat(): n for d, n in known.items()}).encode())
    return schedule.CourtHolidays(config.holidays, known=known, span=span)


def _roster(config: Config, store: CalendarCache) -> tuple[Roster, str]:
    """The validated roster and its signature; re-read from CSV only when a file or the config's ids changed."""
    ids = ",".join(sorted(c.id for c in config.collaborative)) + "|" + ",".join(sorted(c.id for c in config.court))
    key = _signature(config.workers_path, config.caseload_path) + hashlib.sha256(ids.encode()).hexdigest()
    blob = store.cached("roster", key)
    if blob is not None:
        def caseload() -> tuple[CaseAssignment, ...]:
            data = store.cached("caseload", key)
            if data is not None:
                return roster_mod.caseload_from_bytes(data)
            # Another run replaced the cache meanwhile: read the file again (never the cache).
            path = config.caseload_path
            return roster_mod.load_caseload(path, workers, {c.id for c in config.court}) if path else ()
        workers = roster_mod.workers_from_bytes(blob)
        return Roster(workers=workers, load_caseload=caseload), key
    roster = roster_mod.load_roster(config.workers_path, config.caseload_path,
                                    {c.id for c in config.collaborative}, {c.id for c in config.court})
    store.remember("caseload", key, roster_mod.caseload_to_bytes(roster))
    store.remember("roster", key, roster_mod.workers_to_bytes(roster))
    return roster, key


def open_store(config: Config) -> Storage:
    """The store `config` names, not opened yet: its files (or its database) are opened (created, migrated) on
    first use."""
    if config.store_url is not None:
        from courtsync.store.postgres import PostgresStore
        return PostgresStore(config.store_url, config.store_password_env)
    return Store(config.store_path)


def share_connections(config: Config) -> None:
    """A long-running process (`courtsync serve`): stores opened from now on take their database connections
    from a pool (PostgreSQL), not one each. A SQLite store has nothing to share."""
    if config.store_url is not None:
        from courtsync.store import postgres
        postgres.use_pool()


def load_context(config_path: str | os.PathLike[str] | None, today: date) -> Context:
    """Read and validate the configuration, roster and schedules; raise ConfigError on any fault.

    `today` places the window of court holidays that is cached. The Context holds the store open until it is
    closed: `with load_context(...) as ctx:`.
    """
    config = load_config(config_path)
    store = open_store(config)
    try:
        return _context(config, store, today)
    except BaseException:
        store.close()
        raise


def _context(config: Config, store: Storage, today: date) -> Context:
    collaboratives = config.collaboratives()
    courts = config.courts()
    holidays = _court_holidays(config, store, today)
    roster, roster_key = _roster(config, store)
    sessions = Sessions(collaboratives, config.tz, holidays)
    # Every schedule is checked once per version of the config; later runs compute only what they use.
    key = _signature(config.path) + holidays.label
    if store.cached("schedules-valid", key) is None:
        for index, collab in enumerate(collaboratives.values()):
            try:
                sessions[collab.id]
            except schedule.ScheduleError as exc:
                path, line, dotted = config.locate("collaborative", index, exc.key)
                raise ConfigError(f"{path}: the schedule of collaborative {collab.id!r} does not fit:",
                                  problems=[Located(exc.message, path=path, line=line, key=dotted)]) from None
        store.remember("schedules-valid", key, b"1")
    return Context(config=config, roster=with_enrollments(roster, store, collaboratives), collaboratives=collaboratives,
                   courts=courts, holidays=holidays, sessions=sessions, store=store, roster_key=roster_key)


class ContextCache:
    """A long-running process's contexts (`courtsync serve`): the configuration, roster and sessions are read
    once and kept while courtsync.toml, workers.csv and caseload.csv stay as they are (size, mtime, inode) and
    the day is the same; each `open()` gives them with a store of its own, which the caller closes. A changed
    file is read again by the next request, and a broken one is that request's error (nothing is kept)."""

    KEEP = 4   # days kept at once (requests with as_of= name other days)

    def __init__(self, config_path: str | os.PathLike[str] | None) -> None:
        import threading

        self.config_path = config_path
        self._lock = threading.Lock()
        self._kept: dict[date, tuple[str, Context]] = {}

    def signature(self, ctx: Context) -> str | None:
        """What `ctx` was read from, as the files are now: equal while nothing it was made of changed."""
        return self._key(ctx)

    def _key(self, ctx: Context | None) -> str | None:
        if ctx is None or ctx.config.path is None:
            return None
        config = ctx.config
        files = ctx.memo.get("files")
        if files is None:   # (resolved once: a request only looks at the files again)
            files = ctx.memo["files"] = (config.path, config.workers_path, config.caseload_path)
        return _signature(*files) + config.store_location

    def open(self, today: date) -> Context:
        kept = self._kept.get(today)
        if kept is not None and self._key(kept[1]) == kept[0]:
            return self._fresh(kept[1])
        with self._lock:
            ctx = load_context(self.config_path, today)
            try:
                _ = ctx.roster.caseload   # read now, by this store: no later request uses it
                key = self._key(ctx)
            finally:
                ctx.close()
            if key is not None:
                if len(self._kept) >= self.KEEP:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[today] = (key, ctx)
        return self._fresh(ctx)

    @staticmethod
    def _fresh(ctx: Context) -> Context:
        """The kept context with a store of its own, and the enrollments as that store holds them now."""
        from dataclasses import replace

        store = open_store(ctx.config)
        return replace(ctx, store=store, roster=with_enrollments(ctx.roster, store, ctx.collaboratives))


# What a person sees while a command waits for sources (set by the command line when stderr is a terminal):
# called with the sources about to be re-read, it returns a context that shows the wait while it lasts.
WaitDisplay = Callable[[list[Source]], AbstractContextManager[object]]


wait_display: list[WaitDisplay] = []


# time.monotonic() when the running command began (set by the command line): its deadline counts from then.
command_began: list[float] = []


main_began: list[float] = []   # when courtsync's main() began, if it did: then the process runs one command


def begin_command() -> None:
    """Mark the start of a command: of its whole process when that runs courtsync's main() (starting up takes a
    second on a busy machine, and a person waits through it too)."""
    now = clock.monotonic()
    start = now
    if main_began:
        main = main_began.pop()
        before_main = _process_age() - (now - main)   # imports, until main() ran
        start = main - (before_main if 0.0 < before_main < STARTUP_AT_MOST else 0.0)
    command_began[:] = [start]


STARTUP_AT_MOST = 10.0   # seconds; more before main() means main() was not what started the process


def _process_age() -> float:
    """Seconds since this process started (0 where that is not known)."""
    try:   # Linux: the start time in clock ticks since boot (field 22 of /proc/self/stat)
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return clock.clock_gettime(clock.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
