"""The durable records (SQLite): the ledger (outbox, digests, notices and their letters) and what each published
calendar last said. Never dropped: the records file is migrated, not rebuilt."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from courtsync.errors import ConfigError
from courtsync.models import PublishedEvent
from courtsync.store.attendance import Attendance
from courtsync.store.base import NewerStoreError
from courtsync.store.dialect import DB_ERRORS, Db
from courtsync.store.enrollments import Enrollments
from courtsync.store.files import connection
from courtsync.store.ledger import Ledger
from courtsync.store.published import published_event, published_row, read_only


class SqliteRecords:
    """The records file's tables, on the connection `connect` opens (on first use)."""

    def __init__(self, path: Path | None, connect: Callable[[], Db], name: str | None = None) -> None:
        self.path = path          # the records' file (None: a database server)
        self.name = name or str(path)
        self._connect = connect
        self._ledger: Ledger | None = None
        self._enrollments: Enrollments | None = None
        self._attendance: Attendance | None = None

    @property
    def db(self) -> Db:
        return connection(self.name, self._connect)

    @property
    def ledger(self) -> Ledger:
        """The outbox, digest and notice records (store/ledger.py)."""
        if self._ledger is None:
            self._ledger = Ledger(lambda: self.db)
        return self._ledger

    @property
    def enrollments(self) -> Enrollments:
        """Each worker's committed cohort (store/enrollments.py)."""
        if self._enrollments is None:
            self._enrollments = Enrollments(self.ledger.immediate, self._read)
        return self._enrollments

    @property
    def attendance(self) -> Attendance:
        """Sign-ins, make-ups, the conflict history and certificates (store/attendance.py)."""
        if self._attendance is None:
            self._attendance = Attendance(self.ledger.immediate, self._read)
        return self._attendance

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """Rows for a query of the records; from a store that cannot be opened for writing, read as it is; from
        a store that does not exist (nothing was ever recorded), none."""
        try:
            found: list[Any] = self.db.execute(sql, args).fetchall()
            return found
        except NewerStoreError:
            raise
        except (sqlite3.Error, ConfigError) as exc:   # (a server gone away: StoreUnavailable)
            if self.path is None:
                raise
            rows = read_only(self.path, sql, args)
            if rows is None and self.path.is_file():
                raise ConfigError(f"Cannot read the store {self.name}: {getattr(exc, 'message', exc)}") from None
            return rows or []

    def published(self, calendar: str) -> dict[str, PublishedEvent]:
        """What `calendar` last said of each session (ConfigError when the store cannot be read)."""
        sql = "SELECT uid, digest, sequence, dtstamp, gone_since, content FROM published WHERE calendar = ?"
        rows: list[Any] | None
        try:
            rows = self.db.execute(sql, (calendar,)).fetchall()
        except NewerStoreError:
            raise
        except (sqlite3.Error, ConfigError) as exc:   # (a server gone away: StoreUnavailable)
            rows = read_only(self.path, sql, (calendar,)) if self.path is not None else None
            if rows is None:
                raise ConfigError(f"Cannot read the store {self.name}: {getattr(exc, 'message', exc)}") from None
        return {r[0]: published_event(r) for r in rows}

    def record_published(self, calendar: str, events: Iterable[PublishedEvent]) -> None:
        """Keep what `calendar` now says of these sessions (ConfigError when the store cannot be written)."""
        rows = [published_row(calendar, e) for e in events]
        if not rows:
            return
        try:
            with self.db as db:
                db.executemany("INSERT INTO published (calendar, uid, digest, sequence, dtstamp, gone_since, content) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (calendar, uid) DO UPDATE SET "
                               "digest = excluded.digest, sequence = excluded.sequence, dtstamp = excluded.dtstamp, "
                               "gone_since = excluded.gone_since, content = excluded.content", rows)
        except DB_ERRORS as exc:
            raise ConfigError(f"Cannot write the store {self.name}: {exc}.") from None


class KeepsRecords:
    """What a whole store (sqlite.Store, postgres.PostgresStore) answers of its records, from its SqlRecords."""

    _records: SqliteRecords

    @property
    def ledger(self) -> Ledger:
        """The outbox, digest and notice records."""
        return self._records.ledger

    @property
    def enrollments(self) -> Enrollments:
        """Each worker's committed cohort."""
        return self._records.enrollments

    @property
    def attendance(self) -> Attendance:
        """Sign-ins, make-ups, the conflict history and certificates."""
        return self._records.attendance

    def published(self, calendar: str) -> dict[str, PublishedEvent]:
        """What `calendar` last said of each session (ConfigError when the store cannot be read)."""
        return self._records.published(calendar)

    def record_published(self, calendar: str, events: Iterable[PublishedEvent]) -> None:
        """Keep what `calendar` now says of these sessions (ConfigError when the store cannot be written)."""
        self._records.record_published(calendar, events)
