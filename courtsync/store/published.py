"""The rows of the store's `published` table: what each published calendar last said of a session."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from courtsync.models import PublishedEvent


def published_row(calendar: str, e: PublishedEvent) -> tuple[Any, ...]:
    """(calendar, uid, digest, sequence, dtstamp, gone_since, content) for INSERT OR REPLACE."""
    content = {"start": e.start.isoformat(), "end": e.end.isoformat(), "tz": str(e.start.tzinfo),
               "cancelled": e.cancelled, "summary": e.summary, "location": e.location, "description": e.description}
    return (calendar, e.uid, e.digest, e.sequence, e.stamp.timestamp() if e.stamp else 0.0,
            e.gone_since.timestamp() if e.gone_since else None, json.dumps(content))


def read_only(path: Path, sql: str, args: tuple[Any, ...]) -> list[Any] | None:
    """Rows from a store that cannot be opened for writing (a read-only file or folder), or None.

    `immutable` because SQLite cannot otherwise read a WAL database whose folder it may not write; but an
    immutable read does not see the write-ahead log, so a store whose log still holds changes is read only
    as SQLite reads it (`mode=ro`) or not at all: a stale history would lower a published SEQUENCE."""
    if not path.is_file():
        return None
    wal = path.with_name(path.name + "-wal")
    unfolded = wal.exists() and wal.stat().st_size > 0
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{'mode=ro' if unfolded else 'immutable=1'}", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None


def published_event(row: tuple[Any, ...]) -> PublishedEvent:
    uid, digest, sequence, stamp, gone_since, content = row
    c = json.loads(content)
    tz = ZoneInfo(c["tz"])
    return PublishedEvent(uid=uid, start=datetime.fromisoformat(c["start"]).astimezone(tz),
                          end=datetime.fromisoformat(c["end"]).astimezone(tz), cancelled=c["cancelled"],
                          summary=c["summary"], location=c["location"], description=c["description"],
                          sequence=sequence, stamp=datetime.fromtimestamp(stamp, UTC), digest=digest,
                          gone_since=datetime.fromtimestamp(gone_since, UTC) if gone_since is not None
                          else None)
