"""The store's two files and their versions: the durable records (RECORDS, at RECORDS_VERSION, reached from any
earlier store by MIGRATIONS) and the disposable calendar cache (CACHE, at CACHE_LAYOUT: any other layout is
rebuilt empty). Every table and column is created here."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# The records file's schema version (PRAGMA user_version). 0: a store of a release before versions, which held
# the calendar cache in the same file (the previous release: commit 25d4a36), perhaps from before leases.
RECORDS_VERSION = 3   # 2: enrollments and their log; 3: sign-ins, make-ups, conflict history, certificates
# The cache file's layout (its PRAGMA user_version). Raise it whenever a cache table changes: a cache of any other
# layout is dropped and refilled by the next sync, never migrated.
CACHE_LAYOUT = 2   # 2: problems.id (insertion order without SQLite's rowid); "end" and "window" quoted

RECORDS = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,            -- idempotency: what this message is (digest:s01:2027-W03), per recipient
    recipient TEXT NOT NULL, message_id TEXT NOT NULL, subject TEXT NOT NULL,
    message BLOB NOT NULL,        -- the whole RFC 5322 message, as it will be sent
    status TEXT NOT NULL,         -- pending | claimed | sending | sent | failed | unknown | resent
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT, created REAL NOT NULL, sent_at REAL,
    meta TEXT NOT NULL DEFAULT '{}',
    claimed_by TEXT, lease_until REAL,   -- while claimed/sending: which run, until when (older stores: MIGRATIONS)
    UNIQUE (key, recipient)
);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY, court TEXT NOT NULL, told_at REAL NOT NULL,
    how TEXT NOT NULL,            -- email | print
    first TEXT NOT NULL, last TEXT NOT NULL,   -- the period the letter covered (local dates)
    dates TEXT NOT NULL,          -- JSON: what the court was told, date by date
    amended INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS notice_letters (   -- the letter a notices row recorded, as rendered (for --reprint)
    notice INTEGER PRIMARY KEY,               -- notices.id
    letter_date TEXT NOT NULL,                -- the date written on the letter
    text TEXT NOT NULL, html TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS digest_state (
    supervisor TEXT PRIMARY KEY, week TEXT NOT NULL, keys TEXT NOT NULL, sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS published (      -- per published calendar: what it last said of each session
    calendar TEXT NOT NULL,   -- worker:ID | collaborative:ID | court:ID | all
    uid TEXT NOT NULL,
    digest TEXT NOT NULL,     -- of what a person sees (start, end, status, summary, location)
    sequence INTEGER NOT NULL, dtstamp REAL NOT NULL,   -- SEQUENCE and DTSTAMP (epoch seconds) last published
    gone_since REAL,          -- when the session left this calendar (published CANCELLED since); else NULL
    content TEXT NOT NULL,    -- JSON: the rest of the VEVENT, to publish its cancellation once it is gone
    PRIMARY KEY (calendar, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS enrollments (   -- `courtsync enroll --commit`: each worker's cohort
    worker TEXT PRIMARY KEY,
    collaborative TEXT,       -- NULL: registered for `kind` and not placed (the listing of that kind is given up)
    kind TEXT NOT NULL,       -- its tier: replaces the worker's workers.csv collaboratives of that tier
    rank INTEGER,             -- which choice it was (NULL: unplaced, or kept although no longer a choice)
    committed_at REAL NOT NULL, revision INTEGER NOT NULL,
    previous TEXT,            -- the collaborative before the last change
    confirmed TEXT            -- what the last confirmation queued to the supervisor said (collaborative:digest)
);
CREATE TABLE IF NOT EXISTS enrollment_log (   -- every enrollment and move, as committed
    id INTEGER PRIMARY KEY, worker TEXT NOT NULL, collaborative TEXT, previous TEXT,   -- NULL: not placed
    rank INTEGER, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signin_files (   -- each sign-in export `courtsync attendance import` read, as last read
    file TEXT PRIMARY KEY,    -- the file, resolved: a corrected file under the same name replaces what it said
    digest TEXT NOT NULL, rows INTEGER NOT NULL, imported_at REAL NOT NULL, revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signins (   -- who signed in to which session, as each file says
    file TEXT NOT NULL, line INTEGER NOT NULL, worker TEXT NOT NULL, collaborative TEXT NOT NULL,
    day TEXT NOT NULL, hours REAL NOT NULL, imported_at REAL NOT NULL,
    PRIMARY KEY (file, worker, collaborative, day)
);
CREATE INDEX IF NOT EXISTS signins_by_worker ON signins (worker, day);
CREATE TABLE IF NOT EXISTS signin_log (   -- every import that changed something: when, which file, what
    id INTEGER PRIMARY KEY, file TEXT NOT NULL, digest TEXT NOT NULL, at REAL NOT NULL,
    added INTEGER NOT NULL, removed INTEGER NOT NULL, changed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS makeups (   -- `courtsync makeup`: a worker's booked seat at another collaborative
    worker TEXT NOT NULL, collaborative TEXT NOT NULL, day TEXT NOT NULL,
    booked_at REAL NOT NULL, cancelled_at REAL,
    PRIMARY KEY (worker, collaborative, day)
);
CREATE TABLE IF NOT EXISTS conflict_history (   -- each conflict from when it was first seen to its resolution
    key TEXT PRIMARY KEY,     -- worker|session uid|source|event uid
    worker TEXT NOT NULL, collaborative TEXT NOT NULL, session_day TEXT NOT NULL,
    session_start REAL NOT NULL, session_end REAL NOT NULL,
    source TEXT NOT NULL, court TEXT, case_number TEXT, kind TEXT NOT NULL, event_start REAL NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    resolved_at REAL,         -- NULL: open (or its session passed while it was open)
    reason TEXT               -- hearing-moved | hearing-cancelled | session-moved | left-collaborative
);
CREATE INDEX IF NOT EXISTS conflict_history_by_worker ON conflict_history (worker, session_day);
CREATE TABLE IF NOT EXISTS certificates (   -- transcripts issued as PDF, for `courtsync transcript --verify`
    code TEXT PRIMARY KEY, worker TEXT NOT NULL, first TEXT, last TEXT,
    digest TEXT NOT NULL, summary TEXT NOT NULL, issued_at REAL NOT NULL
);
"""

CACHE = """
CREATE TABLE IF NOT EXISTS derived (
    kind  TEXT PRIMARY KEY,   -- what was derived; one row per kind: a new signature replaces the old row
    key   TEXT NOT NULL,      -- from which inputs (a signature)
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT NOT NULL,
    synced_at REAL,            -- last good read (epoch seconds); NULL if never read
    attempted_at REAL, error TEXT,   -- last attempt, and why it failed (NULL when it worked)
    validators TEXT NOT NULL DEFAULT '{}', "window" TEXT NOT NULL DEFAULT '',
    events INTEGER NOT NULL DEFAULT 0, round_trips INTEGER NOT NULL DEFAULT 0, owners_key TEXT,
    location TEXT   -- a hash of where the copy (or the failed attempt) was read from; NULL: copied from a store
                    -- that kept none, taken as the configured location until the next read
);
CREATE TABLE IF NOT EXISTS groups (
    source TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, grp TEXT NOT NULL, uid TEXT NOT NULL, instance TEXT NOT NULL,
    start REAL NOT NULL, "end" REAL, all_day INTEGER NOT NULL, status TEXT NOT NULL, busy INTEGER NOT NULL,
    summary TEXT NOT NULL, location TEXT NOT NULL, case_numbers TEXT NOT NULL, attendees TEXT NOT NULL,
    line INTEGER NOT NULL, flags TEXT NOT NULL, private INTEGER NOT NULL, worker_ids TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS items_by_group ON items (source, grp);
CREATE INDEX IF NOT EXISTS items_by_start ON items (start);
CREATE TABLE IF NOT EXISTS item_workers (
    worker TEXT NOT NULL, start REAL NOT NULL, item INTEGER NOT NULL, PRIMARY KEY (worker, start, item)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_workers_by_item ON item_workers (item);
CREATE TABLE IF NOT EXISTS problems (id INTEGER PRIMARY KEY, source TEXT NOT NULL, grp TEXT NOT NULL,
                                     location TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS problems_by_group ON problems (source, grp);
CREATE TABLE IF NOT EXISTS source_health (   -- per source: setbacks since its last stored read
    source TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,    -- attempts in a row that stored nothing (failed, abandoned, held)
    retry_after REAL,                       -- commands that sync first leave the source alone until then
    timed_out INTEGER NOT NULL DEFAULT 0,   -- the last attempt was abandoned at a command's deadline
    held TEXT,                              -- why the last read was held (a sudden drop); NULL: not held
    held_at REAL
);
"""
# PostgreSQL keeps the two versions (PRAGMA user_version of each SQLite file) in a table: part -> version.
VERSIONS = "courtsync_schema"
VERSIONS_TABLE = f"CREATE TABLE IF NOT EXISTS {VERSIONS} (part TEXT PRIMARY KEY, version INTEGER NOT NULL)"
# The cache's tables, as a store of the previous release held them beside the records.
CACHE_TABLES = ("derived", "sources", "groups", "items", "item_workers", "problems", "source_health")
# What the previous release kept beside them and this one reads without (a feed's part index): dropped.
RETIRED_TABLES = ("part_indexes",)
# Columns an outbox written by a release before leases lacks (the table above has them).
LEASE_COLUMNS = (("claimed_by", "TEXT"), ("lease_until", "REAL"))


def statements(script: str) -> list[str]:
    """A script's statements, to run one by one inside a transaction (executescript would commit first)."""
    return [s.strip() for s in script.split(";\n") if s.strip()]


def create_cache(db: sqlite3.Connection) -> None:
    """An empty cache at CACHE_LAYOUT, in the caller's transaction: every table there before is dropped."""
    old = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for name in old:
        db.execute(f'DROP TABLE IF EXISTS "{name}"')
    for statement in statements(CACHE):
        db.execute(statement)
    db.execute(f"PRAGMA user_version = {CACHE_LAYOUT}")


def _to_v1(db: sqlite3.Connection) -> None:
    """Version 0 -> 1: the records get their own file. Tables a store before versions may lack are created, an
    outbox from before leases gets their columns, and the calendar cache's rows move to the cache file (attached
    as `cache`, at CACHE_LAYOUT; a column an older store lacks, such as sources.location, stays NULL there) and
    leave this one."""
    for statement in statements(RECORDS):
        db.execute(statement)
    _add_columns(db, "outbox", LEASE_COLUMNS)
    here = {r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
    for table in (t for t in CACHE_TABLES if t in here):
        there = {r[1] for r in db.execute(f"PRAGMA cache.table_info({table})")}
        columns = ", ".join(r[1] for r in db.execute(f"PRAGMA main.table_info({table})") if r[1] in there)
        db.execute(f"DELETE FROM cache.{table}")   # a migration that died half way left some: copied again
        db.execute(f"INSERT INTO cache.{table} ({columns}) SELECT {columns} FROM main.{table}")
        db.execute(f"DROP TABLE main.{table}")
    for table in RETIRED_TABLES:
        db.execute(f"DROP TABLE IF EXISTS main.{table}")


# (version reached, step from the one before): applied in order, in one transaction, from the store's version.
def _to_v2(db: sqlite3.Connection) -> None:
    """Version 1 -> 2: the enrollment tables (new; nothing to copy)."""
    for statement in statements(RECORDS):
        db.execute(statement)


def _to_v3(db: sqlite3.Connection) -> None:
    """Version 2 -> 3: sign-ins, make-ups, the conflict history and certificates (new; nothing to copy)."""
    for statement in statements(RECORDS):
        db.execute(statement)


MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = ((1, _to_v1), (2, _to_v2), (3, _to_v3))


def _add_columns(db: sqlite3.Connection, table: str, columns: tuple[tuple[str, str], ...]) -> None:
    have = {row[1] for row in db.execute(f"PRAGMA main.table_info({table})")}
    for name, kind in columns:
        if name not in have:
            db.execute(f"ALTER TABLE main.{table} ADD COLUMN {name} {kind}")
