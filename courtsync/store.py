"""The local SQLite store: derived caches now; calendar snapshots and notice records build on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS cache (
    key   TEXT PRIMARY KEY,   -- what was derived, and from which inputs (a signature)
    kind  TEXT NOT NULL,      -- one row per kind is kept: a new signature replaces the old row
    value BLOB NOT NULL
);
"""


class Store:
    """One SQLite file. Opened on first use; a store that cannot be written only loses its caches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def cached(self, kind: str, key: str) -> bytes | None:
        """The value stored under `key`, or None (also when the store cannot be opened)."""
        try:
            row = self._connect().execute("SELECT value FROM cache WHERE key = ? AND kind = ?",
                                          (key, kind)).fetchone()
        except sqlite3.Error:
            return None
        return bytes(row[0]) if row else None

    def remember(self, kind: str, key: str, value: bytes) -> None:
        """Keep `value` under `key`, replacing whatever this kind held before. Best effort."""
        try:
            with self._connect() as db:
                db.execute("DELETE FROM cache WHERE kind = ?", (kind,))
                db.execute("INSERT OR REPLACE INTO cache (key, kind, value) VALUES (?, ?, ?)",
                           (key, kind, value))
        except sqlite3.Error:
            return

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
