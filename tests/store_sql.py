"""SQL on whatever store a test's commands use: the SQLite files beside the config, or, under
COURTSYNC_TEST_STORE=postgresql, the test's database ($COURTSYNC_STORE). For the tests that make time pass or
plant what an older release left, by editing rows as no command would."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Literal


def store_sql(folder: Path, sql: str, args: tuple[Any, ...] = (),
              part: Literal["cache", "records"] = "cache") -> list[tuple[Any, ...]]:
    """Run one statement (qmark parameters) on the store of the config in `folder`; its rows, if any."""
    url = os.environ.get("COURTSYNC_STORE")
    if url:
        import psycopg

        from courtsync.store.postgres import translate
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(translate(sql), args)   # type: ignore[arg-type]
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    db = sqlite3.connect(folder / ("courtsync.cache.db" if part == "cache" else "courtsync.db"))
    try:
        with db:
            return [tuple(r) for r in db.execute(sql, args).fetchall()]
    finally:
        db.close()


def store_text(folder: Path) -> str:
    """Every row of every table of the store, as text (to look for what must never be kept)."""
    url = os.environ.get("COURTSYNC_STORE")
    if url:
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            return "\n".join(str(row) for t in tables
                             for row in conn.execute(f"SELECT t::text FROM {t} t"))   # type: ignore[arg-type]
    out = []
    for name in ("courtsync.db", "courtsync.cache.db"):
        db = sqlite3.connect(folder / name)
        try:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                out.extend(repr(row) for row in db.execute(f'SELECT * FROM "{table}"'))
        finally:
            db.close()
    return "\n".join(out)
