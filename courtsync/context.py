"""Use cases behind the commands: load, ask the pure core, return values. No click here."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from courtsync import __version__
from courtsync.config import roster as roster_mod
from courtsync.config.schema import Config, load_config
from courtsync.core import schedule
from courtsync.errors import ConfigError, Located, UsageError
from courtsync.models import (
    CaseAssignment,
    Collaborative,
    Court,
    PublishedEvent,
    Roster,
    Session,
    Worker,
)
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
    store: Store
    roster_key: str = ""

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
    raise UsageError(f"No {what} with id {key!r}.", hint=hint)


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


def _court_holidays(config: Config, store: Store, today: date) -> schedule.CourtHolidays:
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


def _roster(config: Config, store: Store) -> tuple[Roster, str]:
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


def load_context(config_path: str | os.PathLike[str] | None, today: date) -> Context:
    """Read and validate the configuration, roster and schedules; raise ConfigError on any fault.

    `today` places the window of court holidays that is cached.
    """
    config = load_config(config_path)
    store = Store(config.store_path)
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
    return Context(config=config, roster=roster, collaboratives=collaboratives, courts=courts,
                   holidays=holidays, sessions=sessions, store=store, roster_key=roster_key)


# --- dates --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatedSession:
    """A session in a `dates` answer, with the staff it protects where that was asked."""

    session: Session
    collaborative: Collaborative
    worker_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatesResult:
    title: str
    first: date | None
    last: date | None
    sessions: list[DatedSession]
    holidays_label: str


def protected_dates(ctx: Context, *, worker_id: str | None = None, collaborative_id: str | None = None,
                    court_id: str | None = None, first: date | None = None,
                    last: date | None = None) -> DatesResult:
    """Protected sessions for one worker, one collaborative, the staff before one court, or all."""
    chosen = [x for x in (worker_id, collaborative_id, court_id) if x]
    if len(chosen) > 1:
        raise UsageError("Give at most one of --worker, --collaborative and --court.")
    if first and last and last < first:
        raise UsageError(f"--to {last} is before --from {first}.")
    staff: dict[str, list[str]] = {}
    if worker_id:
        worker = ctx.worker(worker_id)
        ids: Collection[str] = worker.collaboratives
        title = f"Protected dates of {worker.name} ({worker.id})"
    elif collaborative_id:
        ids = [ctx.collaborative(collaborative_id).id]
        title = f"Protected dates of the {ctx.collaboratives[collaborative_id].name}"
    elif court_id:
        court = ctx.court(court_id)
        for w in _staff_before(ctx, court, first, last):
            for cid in w.collaboratives:
                staff.setdefault(cid, []).append(w.id)
        ids = list(staff)
        title = f"Protected dates of staff appearing before the {court.name}"
    else:
        ids = list(ctx.collaboratives)
        title = "All protected dates"
    rows = [DatedSession(s, ctx.collaboratives[cid], tuple(sorted(staff.get(cid, ()))))
            for cid in ids for s in schedule.between(ctx.sessions[cid], first, last)]
    rows.sort(key=lambda r: (r.session.start, r.collaborative.id))
    return DatesResult(title=title, first=first, last=last, sessions=rows,
                       holidays_label=ctx.holidays.label)


def _staff_before(ctx: Context, court: Court, first: date | None, last: date | None) -> list[Worker]:
    """Staff with a case before the court (caseload.csv) or an item on its feeds in the store (as last read)."""
    ids = {w.id for w in ctx.roster.workers_at_court(court.id)}
    sources = [court.id if n == 1 else f"{court.id}#{n}" for n in range(1, len(court.feeds) + 1)]
    lo = datetime.combine(first, time(), tzinfo=ctx.config.tz) if first else None
    hi = datetime.combine(last + timedelta(days=1), time(), tzinfo=ctx.config.tz) if last else None
    try:
        for item in ctx.store.items(ctx.config.tz, sources, lo, hi, busy_only=True):
            ids.update(item.worker_ids)
    except ConfigError:
        pass  # no store to read: the caseload alone
    return [ctx.roster.workers[w] for w in sorted(ids) if w in ctx.roster.workers]


@dataclass(frozen=True)
class PublishedCalendar:
    """A calendar file, and warnings for stderr (the store could not keep what it says)."""

    data: bytes
    warnings: tuple[str, ...] = ()


def dates_ics(ctx: Context, worker_id: str | None, collaborative_id: str | None, court_id: str | None,
              first: date | None, last: date | None, as_of: date | None, clock: float) -> PublishedCalendar:
    """The calendar of one worker, collaborative or court (or all), updated from what it said last time:
    SEQUENCE and DTSTAMP rise on a change (DTSTAMP is midnight of `as_of` when given, so a replay is
    byte-stable, else `clock`), and a session that left it is published as CANCELLED for 90 days. An id no
    longer configured whose calendar was published before gets only those cancellations, so its subscribers
    lose the sessions too."""
    from courtsync.core import publishing as publish
    from courtsync.notices.ics_out import calendar_ics, session_event

    now = datetime.combine(as_of, time(), tzinfo=ctx.config.tz) if as_of else datetime.fromtimestamp(clock, UTC)
    key = (f"worker:{worker_id}" if worker_id else f"collaborative:{collaborative_id}" if collaborative_id
           else f"court:{court_id}" if court_id else "all")
    warning = None
    try:
        previous = ctx.store.published(key)
    except ConfigError as exc:
        if os.path.lexists(ctx.store.path):
            # A store that exists holds what was published before; a calendar built without it would start
            # SEQUENCE over and lose to the copies people imported. (A read-only store is read, not here.)
            raise ConfigError(f"The store {ctx.store.path} exists but what it recorded of this calendar cannot be "
                              "read; written without it, the calendar would start SEQUENCE over and the calendars "
                              "that imported it would ignore the update. Nothing was written.",
                              problems=[Located(exc.message)],
                              hint=f"Make the store readable (a read-only store with a {ctx.store.path.name}-wal "
                                   "beside it must be writable once, to fold in its last changes), restore it from a "
                                   "backup, "
                                   "or set `store` in courtsync.toml to the file this calendar was published from."
                              ) from None
        previous, warning = {}, exc.message   # no store yet, and none can be made: nothing was published
    gone = ((worker_id and worker_id not in ctx.roster.workers) or (collaborative_id and collaborative_id not in
            ctx.collaboratives) or (court_id and court_id not in ctx.courts))
    if gone and previous and sum(map(bool, (worker_id, collaborative_id, court_id))) == 1 \
            and not (first and last and last < first):
        # Removed from the configuration after it was published: every session it had is now gone.
        title = f"Protected dates of {key.replace(':', ' ')} (no longer scheduled)"
        current: list[PublishedEvent] = []
        present: set[str] = set()
    else:
        result = protected_dates(ctx, worker_id=worker_id, collaborative_id=collaborative_id, court_id=court_id,
                                 first=first, last=last)
        title = result.title
        current = [session_event(r.session, r.collaborative) for r in result.sessions]
        present = _calendar_uids(ctx, worker_id, collaborative_id, court_id)
    plan = publish.plan(previous, current, present, now, first, last)
    if warning is None:
        try:
            ctx.store.record_published(key, plan.changed)
        except ConfigError as exc:
            warning = exc.message
    if warning is not None and plan.changed:
        warning = (f"could not record this calendar in the store ({warning.rstrip('.')}); it was published "
                   "without remembering it, so a later change may not update the calendars that imported it. "
                   "Make the store writable (`store` in courtsync.toml).")
    elif warning is not None:
        warning = None   # nothing new to record: what was recorded still holds
    return PublishedCalendar(calendar_ics(plan.events, title, key), (warning,) if warning else ())


def _calendar_uids(ctx: Context, worker_id: str | None, collaborative_id: str | None,
                   court_id: str | None) -> set[str]:
    """Every session a calendar holds at any date: one that only left the range asked for is not removed."""
    if worker_id:
        ids: Collection[str] = ctx.worker(worker_id).collaboratives
    elif collaborative_id:
        ids = [collaborative_id]
    elif court_id:
        ids = {cid for w in _staff_before(ctx, ctx.court(court_id), None, None) for cid in w.collaboratives}
    else:
        ids = list(ctx.collaboratives)
    return {s.uid for cid in ids for s in ctx.sessions[cid]}


# --- init ---------------------------------------------------------------------------------------

def init_example(target: Path, as_of: date, force: bool = False,
                 as_of_given: bool = False) -> str:
    """What was written, and what to type next with the example's own dates filled in."""
    from courtsync.app.example import write_example

    written, tour = write_example(target, as_of, force=force)
    return "\n".join(f"wrote {path}" for path in written) + "\n" + tour.next_steps(target, as_of if as_of_given
                                                                                   else None)
