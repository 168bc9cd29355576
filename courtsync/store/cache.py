"""The calendar cache (SQLite): each source's last good copy and sync state, items indexed by time and worker,
problems, setbacks and derived values. All of it may be dropped; the next sync refills it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from courtsync.models import BusyItem, Problem
from courtsync.store import dialect
from courtsync.store.base import Change, Owners, SourceHealth, SourceRow
from courtsync.store.cache_groups import drop_groups, moved_groups, write_groups
from courtsync.store.dialect import DB_ERRORS, Db
from courtsync.store.files import connection

BATCH_SECONDS = 0.05       # how often a batch commits


class SqliteCache:
    """The cache file's tables, on the connection `connect` opens (on first use). Derived values are best effort;
    calendar copies are not."""

    def __init__(self, path: Path | None, connect: Callable[[], Db], name: str | None = None) -> None:
        self.path = path          # the store's file (None: a database server)
        self.name = name or str(path)   # the store as configured, named in messages (never with a password)
        self._connect = connect
        self._batch_since: float | None = None

    @property
    def db(self) -> Db:
        return connection(self.name, self._connect)

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        """One atomic change. Inside `batch()` changes are committed together, a few times a second."""
        db = self.db
        if self._batch_since is None:
            with db:
                yield db
            return
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        if time.monotonic() - self._batch_since > BATCH_SECONDS:
            db.commit()
            self._batch_since = time.monotonic()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many transactions (a sync of many sources) with one commit every BATCH_SECONDS, not one each.
        A crash loses at most the last batch, which the next sync reads again; readers never see half a
        source."""
        db = self.db
        self._batch_since = time.monotonic()
        # SQLite: the WAL is folded in once, when the store is closed, rather than inside the batch's commits.
        wal = not dialect.is_server(db)
        if wal:
            db.execute("PRAGMA wal_autocheckpoint=0")
        try:
            with db:
                yield
        finally:
            self._batch_since = None
            if wal:
                db.execute("PRAGMA wal_autocheckpoint=1000")

    # --- caches ---------------------------------------------------------------------------------

    def cached(self, kind: str, key: str) -> bytes | None:
        """The value stored under `key`, or None (also when the store cannot be opened)."""
        try:
            row = self._connect().execute("SELECT value FROM derived WHERE kind = ? AND key = ?",
                                          (kind, key)).fetchone()
        except DB_ERRORS:
            return None
        return bytes(row[0]) if row else None

    def remember(self, kind: str, key: str, value: bytes) -> None:
        """Keep `value` under `key`, replacing whatever this kind held before. Best effort."""
        try:
            with self._connect() as db:
                db.execute("INSERT INTO derived (kind, key, value) VALUES (?, ?, ?) ON CONFLICT (kind) DO UPDATE SET "
                           "key = excluded.key, value = excluded.value", (kind, key, value))
        except DB_ERRORS:
            return

    # --- sources --------------------------------------------------------------------------------

    def sources(self) -> dict[str, SourceRow]:
        rows = self.db.execute("SELECT id, kind, label, synced_at, attempted_at, error, validators, \"window\", events,"
                               " round_trips, owners_key, location FROM sources").fetchall()
        return {r[0]: SourceRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9], r[10], r[11])
                for r in rows}

    def group_tags(self, source: str) -> dict[str, str]:
        """Each stored group's tag and first line, encoded (cache_groups.GroupTag): what a new read is
        compared with."""
        # (one JSON text built by SQLite and parsed by json: half the time of 600 rows fetched one by one)
        found: dict[str, str] = json.loads(self.db.execute(f"SELECT {dialect.json_object(self.db, 'key', 'hash')} "
                                                           "FROM groups WHERE source = ?", (source,)).fetchone()[0])
        return found

    def stored_groups(self, source: str, keys: Iterable[str]) -> set[str]:
        """Which of these group keys the source has stored (a mailbox source's groups are its workers)."""
        wanted, out = list(keys), set[str]()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            out.update(r[0] for r in self.db.execute(
                f"SELECT key FROM groups WHERE source = ? AND key IN ({','.join('?' * len(chunk))})",
                (source, *chunk)))
        return out

    def record_failure(self, source: str, kind: str, label: str, error: str, now: float,
                       location: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO sources (id, kind, label, attempted_at, error, location) VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, label=excluded.label, "
                       "attempted_at=excluded.attempted_at, error=excluded.error, "
                       "location=coalesce(excluded.location, sources.location)",
                       (source, kind, label, now, error, location))

    def forget(self, source: str) -> None:
        """Drop all that is stored of a source (its copy, problems, setbacks): it is now read from elsewhere."""
        with self.transaction() as db:
            dialect.lock(db, f"source:{source}")
            db.execute("DELETE FROM item_workers WHERE item IN (SELECT id FROM items WHERE source = ?)", (source,))
            for table, column in (("items", "source"), ("problems", "source"), ("groups", "source"),
                                  ("source_health", "source"), ("sources", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (source,))

    def health(self) -> dict[str, SourceHealth]:
        rows = self.db.execute("SELECT source, failures, retry_after, timed_out, held, held_at "
                               "FROM source_health").fetchall()
        return {r[0]: SourceHealth(r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows}

    def record_setback(self, source: str, now: float, delay: Callable[[int], float], timed_out: bool = False,
                       held: str | None = None) -> None:
        """One more attempt that stored nothing; commands leave the source alone for delay(failures) seconds."""
        with self.transaction() as db:
            row = db.execute("SELECT failures FROM source_health WHERE source = ?", (source,)).fetchone()
            failures = (row[0] if row else 0) + 1
            db.execute("INSERT INTO source_health (source, failures, retry_after, timed_out, held, held_at) VALUES "
                       "(?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET failures = excluded.failures, "
                       "retry_after = excluded.retry_after, timed_out = excluded.timed_out, held = excluded.held, "
                       "held_at = excluded.held_at",
                       (source, failures, now + delay(failures), int(timed_out), held, now if held else None))

    def clear_setbacks(self, source: str) -> None:
        """A read was stored (or found unchanged): no backoff, nothing held."""
        with self.transaction() as db:
            db.execute("DELETE FROM source_health WHERE source = ?", (source,))

    def upcoming(self, source: str, start: float, end: float,
                 groups: Collection[str] | None = None) -> dict[str, int]:
        """Busy items of each stored group of this source (of `groups` only, if given) that start in [start, end)."""
        if groups is None:   # (two statements: with `groups` SQLite looks each one up in the (source, grp) index)
            return dict(self.db.execute("SELECT grp, count(*) FROM items WHERE source = ? AND busy = 1 AND start >= ? "
                                        "AND start < ? GROUP BY grp", (source, start, end)).fetchall())
        db = self.db
        return dict(db.execute(f"SELECT grp, count(*) FROM items WHERE source = ? AND grp IN "
                               f"({dialect.json_values(db)}) AND busy = 1 AND start >= ? AND start < ? GROUP BY grp",
                               (source, json.dumps(sorted(groups), ensure_ascii=False), start, end)).fetchall())

    def group_keys(self, source: str) -> set[str]:
        """The keys of this source's stored groups (as one JSON text SQLite builds: half the time of the rows)."""
        return set(json.loads(self.db.execute(f"SELECT {dialect.json_array(self.db, 'key')} FROM groups "
                                              "WHERE source = ?", (source,)).fetchone()[0]))

    def upcoming_count(self, source: str, start: float, end: float) -> int:
        """Busy items of this source that start in [start, end)."""
        found: int = self.db.execute("SELECT count(*) FROM items WHERE source = ? AND busy = 1 AND start >= ? "
                                     "AND start < ?", (source, start, end)).fetchone()[0]
        return found

    def record_unchanged(self, source: str, now: float, round_trips: int, location: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sources SET synced_at = ?, attempted_at = ?, error = NULL, round_trips = ?, "
                       "location = coalesce(?, location) WHERE id = ?", (now, now, round_trips, location, source))

    def apply(self, source: str, kind: str, label: str, change: Change, file_problems: list[Problem],
              validators: dict[str, str], window: str, now: float, round_trips: int, owners: Owners,
              owners_key: str, location: str | None = None) -> int:
        """Store one read of a source, in one transaction: `change.written` replaces those groups, the others
        present stay (renumbered when they moved), any other stored group is dropped. Returns the items now
        stored."""
        with self.transaction() as db:
            dialect.lock(db, f"source:{source}")   # two syncs of one source at once: one applies, then the other
            drop_groups(db, source, sorted(self.group_keys(source) - change.present))
            moved_groups(db, source, {k: t for k, t in change.moved.items() if k not in change.written})
            db.execute("DELETE FROM problems WHERE source = ? AND grp = ''", (source,))
            db.executemany("INSERT INTO problems (source, grp, location, reason) VALUES (?, '', ?, ?)",
                           [(source, p.location, p.reason) for p in file_problems])
            write_groups(db, source, change.written, owners)
            count: int = db.execute("SELECT count(*) FROM items WHERE source = ?", (source,)).fetchone()[0]
            db.execute("INSERT INTO sources (id, kind, label, synced_at, attempted_at, error, validators, "
                       "\"window\", events, round_trips, owners_key, location) VALUES "
                       "(?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, label=excluded.label, "
                       "synced_at=excluded.synced_at, attempted_at=excluded.attempted_at, error=NULL, "
                       "validators=excluded.validators, \"window\"=excluded.\"window\", events=excluded.events, "
                       "round_trips=excluded.round_trips, owners_key=excluded.owners_key, "
                       "location=coalesce(excluded.location, sources.location)",
                       (source, kind, label, now, now, json.dumps(validators), window, count, round_trips,
                        owners_key, location))
        return count

    def reassign_owners(self, source: str, owners: Owners, owners_key: str, tz: ZoneInfo) -> None:
        """The roster changed: match this source's items to workers again, without re-reading it."""
        with self.transaction() as db:
            dialect.lock(db, f"source:{source}")
            rows = db.execute(f"SELECT {_COLUMNS} FROM items i WHERE i.source = ?", (source,)).fetchall()
            db.execute("DELETE FROM item_workers WHERE item IN (SELECT id FROM items WHERE source = ?)", (source,))
            links: list[tuple[str, float, int]] = []
            updates: list[tuple[str, int]] = []
            for row in rows:
                item = _item(row, tz)
                workers = owners(item)
                updates.append((";".join(workers), row[0]))
                links.extend((w, row[5], row[0]) for w in workers)
            db.executemany("UPDATE items SET worker_ids = ? WHERE id = ?", updates)
            db.executemany("INSERT INTO item_workers VALUES (?, ?, ?) ON CONFLICT DO NOTHING", links)
            db.execute("UPDATE sources SET owners_key = ? WHERE id = ?", (owners_key, source))

    # --- reading --------------------------------------------------------------------------------

    def items(self, tz: ZoneInfo, sources: Iterable[str], start: datetime | None = None,
              end: datetime | None = None, worker: str | None = None, busy_only: bool = False) -> list[BusyItem]:
        """Items of these sources that overlap [start, end) (an instant counts when start <= t < end)."""
        ids = list(sources)
        if not ids:
            return []
        db = self.db
        among, args = dialect.one_of(db, "i.source", ids)
        lo = start.timestamp() if start else float("-inf")
        hi = end.timestamp() if end else float("inf")
        busy = " AND i.busy = 1" if busy_only else ""
        if worker is not None:
            sql = (f"SELECT {_COLUMNS} FROM item_workers w JOIN items i ON i.id = w.item WHERE w.worker = ? "
                   f"AND w.start < ? AND {among} AND coalesce(i.\"end\", i.start + 1e-6) > ?{busy} "
                   "ORDER BY i.start, i.source, i.uid")
            rows = db.execute(sql, (worker, hi, *args, lo)).fetchall()
        else:
            sql = (f"SELECT {_COLUMNS} FROM items i WHERE {among} AND i.start < ? "
                   f"AND coalesce(i.\"end\", i.start + 1e-6) > ?{busy} ORDER BY i.start, i.source, i.uid")
            rows = db.execute(sql, (*args, hi, lo)).fetchall()
        return [_item(r, tz) for r in rows]

    def spans_by_worker(self, sources: Iterable[str], start: datetime,
                        end: datetime) -> dict[str, list[tuple[float, float | None, str, int]]]:
        """(start, end, source, item id) of every busy item in [start, end), under each worker it belongs to:
        one query, no item objects, for whole-state scans."""
        ids = list(sources)
        out: dict[str, list[tuple[float, float | None, str, int]]] = {}
        if not ids:
            return out
        db = self.db
        among, args = dialect.one_of(db, "i.source", ids)
        sql = (f"SELECT w.worker, i.start, i.\"end\", i.source, i.id FROM item_workers w JOIN items i ON i.id = w.item "
               f"WHERE w.start < ? AND {among} AND coalesce(i.\"end\", i.start + 1e-6) > ? AND i.busy = 1")
        for worker, s, e, source, item_id in db.execute(sql, (end.timestamp(), *args, start.timestamp())):
            out.setdefault(worker, []).append((s, e, source, item_id))
        return out

    def items_by_id(self, tz: ZoneInfo, ids: Iterable[int]) -> dict[int, BusyItem]:
        wanted = sorted(set(ids))
        out: dict[int, BusyItem] = {}
        for i in range(0, len(wanted), 900):   # SQLite's limit on parameters
            chunk = wanted[i:i + 900]
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM items i WHERE i.id IN ({','.join('?' * len(chunk))})",
                                   chunk).fetchall()
            out.update((row[0], _item(row, tz)) for row in rows)
        return out

    def problems(self, sources: Iterable[str]) -> list[Problem]:
        ids = list(sources)
        if not ids:
            return []
        db = self.db
        among, args = dialect.one_of(db, "source", ids)
        rows = db.execute(f"SELECT source, location, reason FROM problems WHERE {among} "
                          "ORDER BY source, grp = '' DESC, id", args).fetchall()
        return [Problem(*r) for r in rows]



_COLUMNS = ("i.id, i.source, i.uid, i.instance, i.all_day, i.start, i.\"end\", i.status, i.busy, i.summary, "
            "i.location, i.case_numbers, i.attendees, i.line, i.flags, i.private, i.worker_ids")


def _split(text: str, sep: str = "\n") -> tuple[str, ...]:
    return tuple(text.split(sep)) if text else ()


# Instants a stored item may hold (years 1900..2200): a store written before the readers refused other
# dates must still open, so a value outside is pinned to the nearest end instead of failing every command.
_FIRST_TS, _LAST_TS = -2208988800.0, 7289654400.0


def _when(ts: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(min(max(float(ts), _FIRST_TS), _LAST_TS), tz)


def _item(row: tuple[Any, ...], tz: ZoneInfo) -> BusyItem:
    (_, source, uid, instance, all_day, start, end, status, busy, summary, location, cases, attendees, line,
     flags, private, workers) = row
    return BusyItem(source=source, uid=uid, instance=instance, start=_when(start, tz),
                    end=_when(end, tz) if end is not None else None, all_day=bool(all_day),
                    status=status, busy=bool(busy), summary=summary, location=location, case_numbers=_split(cases),
                    attendees=_split(attendees), line=line, flags=_split(flags), worker_ids=_split(workers, ";"),
                    private=bool(private))

