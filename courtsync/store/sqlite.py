"""The SQLite store: the records in the configured file, the calendar cache in `<stem>.cache.db` beside it, each
opened on first use by the command's own thread and closed (the WAL folded in) when the command ends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from courtsync.errors import ConfigError
from courtsync.private_files import touch
from courtsync.store import files
from courtsync.store.base import (  # re-exported: the row types once lived here
    Change,
    SourceHealth,
    SourceRow,
    Upgrade,
)
from courtsync.store.cache import SqliteCache
from courtsync.store.records import KeepsRecords, SqliteRecords
from courtsync.store.schema import RECORDS_VERSION

__all__ = ["Change", "SourceHealth", "SourceRow", "Store"]


class Store(KeepsRecords, SqliteCache):
    """Both files of one store (base.Storage). Use as `with Store(path) as store:`, or close() it: nothing closes
    it behind the command's back. A command that never asks for anything creates neither file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, self._open_cache)
        self.file = path
        self.cache_path = files.cache_path(path)
        self._records_db: sqlite3.Connection | None = None
        self._cache_db: sqlite3.Connection | None = None
        self._found: int | None = None    # the records' version when this store opened them
        self._records = SqliteRecords(path, self._open_records)

    def _open_records(self) -> sqlite3.Connection:
        if self._records_db is None:
            self._records_db, self._found = files.open_records(self.file)
        return self._records_db

    def _open_cache(self) -> sqlite3.Connection:
        if self._cache_db is None:
            self._open_records()   # a store of an earlier release hands its calendar copies to the cache first
            self._cache_db = files.open_cache(self.cache_path)
        return self._cache_db

    # --- lifetime -------------------------------------------------------------------------------

    def upgrade(self) -> Upgrade:
        """Create or migrate the records and make the cache ready (`courtsync db upgrade`). A store of a newer
        release is refused when the records are opened (NewerStoreError), before anything is written."""
        before = files.connection(self.file, lambda: files.stored_version(self.file))
        files.connection(self.file, self._open_cache)   # the records first (created or migrated), then the cache
        return Upgrade(store=str(self.file), cache=str(self.cache_path), before=before, after=RECORDS_VERSION)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """True while this process alone holds `name` among every process on this store (a lock file beside
        it, `<stem>.<name>.lock`, owner-only); False at once when another one holds it."""
        import fcntl

        lock = self.file.with_name(f"{self.file.stem}.{name}.lock")
        try:
            touch(lock)
            handle = open(lock, "rb")   # noqa: SIM115 (held open while the lock is)
        except OSError as exc:
            raise ConfigError(f"Cannot make the lock file {lock}: {exc.strerror or exc}.",
                              hint="The store's folder must be writable.") from None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        """Fold each file's WAL in and close it; the store opens again on the next use."""
        cache, records = self._cache_db, self._records_db
        self._cache_db = self._records_db = None
        for db in (cache, records):
            if db is not None:
                files.close(db)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
