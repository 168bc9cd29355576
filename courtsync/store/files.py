"""Opening and closing the store's two SQLite files: the records (version checked, migrated once under a write
lock) and the calendar cache beside them (rebuilt empty when missing, unreadable or of another layout)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from courtsync import __version__
from courtsync.errors import ConfigError
from courtsync.private_files import tighten, touch
from courtsync.store.base import NewerStoreError
from courtsync.store.schema import CACHE_LAYOUT, CACHE_TABLES, MIGRATIONS, RECORDS_VERSION, create_cache

BUSY_SECONDS = 30   # how long a command waits for another one's write before it gives up
SIDES = ("-wal", "-shm", "-journal")
T = TypeVar("T")


def cache_path(store: Path) -> Path:
    """The calendar cache beside the records: courtsync.db -> courtsync.cache.db (state.sqlite -> state.cache.db)."""
    return store.with_name(f"{store.stem}.cache.db")


def _owner_only(path: Path) -> None:
    """The store holds hearing text and children's names: each file is created 0600 before SQLite opens it
    (SQLite gives its -wal and -shm files the database file's mode), and one left readable by an older release
    is tightened."""
    try:
        touch(path)
        for side in SIDES:
            tighten(path.with_name(path.name + side))
    except OSError as exc:   # reported like SQLite's own failure to open the file
        raise sqlite3.OperationalError(f"unable to open database file ({exc.strerror or exc})") from None


def _connect(path: Path) -> sqlite3.Connection:
    _owner_only(path)
    return sqlite3.connect(path, timeout=BUSY_SECONDS)


def _wal(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")


def _version(db: sqlite3.Connection, schema: str = "main") -> int:
    return int(db.execute(f"PRAGMA {schema}.user_version").fetchone()[0])


def refuse_newer(path: Path, version: int) -> None:
    if version > RECORDS_VERSION:
        raise NewerStoreError(
            f"The store {path} has schema version {version}; this release of courtsync ({__version__}) knows "
            f"versions up to {RECORDS_VERSION}.",
            hint="A newer release of courtsync wrote it: upgrade courtsync (the store is left as it is).")


def open_records(path: Path) -> tuple[sqlite3.Connection, int]:
    """The records file, at RECORDS_VERSION, and the version it had when opened. NewerStoreError for a store of
    a newer release (nothing is written to it then)."""
    db = _connect(path)
    try:
        found = _version(db)
        refuse_newer(path, found)
        _wal(db)
        if found < RECORDS_VERSION:
            _migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db, found


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Every step from the store's version on, in one transaction under the write lock: of two commands that
    open an old store at once, one migrates and the other, waiting for the lock, finds it done."""
    here = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    moving = bool(here & set(CACHE_TABLES))
    if moving:   # the cache file must be ready to take the copies, and attached before the transaction
        close(open_cache(cache_path(path)))
        db.execute("ATTACH DATABASE ? AS cache", (str(cache_path(path)),))
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            found = _version(db)
            refuse_newer(path, found)
            for version, step in MIGRATIONS:
                if version > found:
                    step(db)
            db.execute(f"PRAGMA main.user_version = {RECORDS_VERSION}")
        except BaseException:
            db.rollback()
            raise
        db.commit()
    finally:
        if moving:
            db.execute("DETACH DATABASE cache")


def open_cache(path: Path) -> sqlite3.Connection:
    """The cache file at CACHE_LAYOUT. One that is not a database (damaged, garbage) is deleted and made again;
    one of another layout is emptied: the next sync refills it. Neither is an error."""
    try:
        return _open_cache(path)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):   # cannot open, busy, read-only: not the file's content
            raise
    for side in ("", *SIDES):
        path.with_name(path.name + side).unlink(missing_ok=True)
    return _open_cache(path)


def _open_cache(path: Path) -> sqlite3.Connection:
    db = _connect(path)
    try:
        _wal(db)   # (a file that is not a database fails here)
        _needs_json(db)
        if _version(db) != CACHE_LAYOUT:
            db.execute("BEGIN IMMEDIATE")
            try:
                if _version(db) != CACHE_LAYOUT:   # another command may have made it meanwhile
                    create_cache(db)
            except BaseException:
                db.rollback()
                raise
            db.commit()
    except BaseException:
        db.close()
        raise
    return db


def _needs_json(db: sqlite3.Connection) -> None:
    """The cache hands sets of keys to and from SQLite as JSON: its JSON functions (built in since SQLite 3.38,
    in most builds long before) must be there."""
    try:
        db.execute("SELECT json_valid('[]')")
    except sqlite3.OperationalError:
        raise ConfigError(f"The SQLite library Python uses here ({sqlite3.sqlite_version}) has no JSON functions, "
                          "which courtsync's store needs.",
                          hint="Use a Python built with SQLite 3.38 or later (or with the JSON1 extension).") from None


def stored_version(path: Path) -> int | None:
    """The records' schema version of an existing store file, without changing it (None: no store there yet)."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _version(db)
    finally:
        db.close()


def close(db: sqlite3.Connection) -> None:
    """Fold the WAL into the database file (never waiting on a reader), so a copy of the file alone is whole;
    then close."""
    with suppress(sqlite3.Error):
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    db.close()


def connection(path: object, open_: Callable[[], T]) -> T:
    """open_(), or a ConfigError naming the store `path` as configured when SQLite cannot open or read it (a
    PostgreSQL store raises its own StoreUnavailable, which passes through)."""
    try:
        return open_()
    except sqlite3.Error as exc:
        raise ConfigError(f"Cannot open the store {path}: {exc}.",
                          hint="Check `store` in courtsync.toml and that its folder exists and is writable.") from None
