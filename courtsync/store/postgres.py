"""The PostgreSQL store (`store = "postgresql://..."`): the same tables and the same SQL as the SQLite store
(cache.py, cache_groups.py, ledger.py, records.py), on one database that several processes share: `serve`
workers, a `sync` from cron, `digest --send` and `notices --send` at once.

What makes that safe: every write is one transaction; a source's copy is rewritten under a lock of that source
(dialect.lock), so two syncs of one source apply one after the other; item ids come from a sequence; an outbox
row is claimed with SELECT ... FOR UPDATE SKIP LOCKED; readers read committed rows and never wait for a writer.
The schema is created and migrated in one transaction under a lock (DDL is transactional here): a migration
cut off half way left nothing, and the next `db upgrade` (or command) does it whole.

psycopg is imported when a PostgreSQL store is first opened: `courtsync check` on a SQLite store never loads it.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from courtsync import __version__
from courtsync.errors import ConfigError, StoreUnavailable
from courtsync.store.base import NewerStoreError, Upgrade
from courtsync.store.cache import SqliteCache
from courtsync.store.records import KeepsRecords, SqliteRecords
from courtsync.store.schema import (
    CACHE,
    CACHE_LAYOUT,
    CACHE_TABLES,
    RECORDS,
    RECORDS_VERSION,
    VERSIONS,
    VERSIONS_TABLE,
    statements,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import psycopg
    from psycopg_pool import ConnectionPool

CONNECT_SECONDS = 10   # how long a command waits for the database server to answer a connection
POOL_SIZE = 16         # connections per server process at most (the request threads beyond wait their turn)
POOL_WAIT = 3          # how long a request waits for a pooled connection before it is answered 503


def redact(url: str) -> str:
    """The URL as messages may show it: no password (in the netloc or as a parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = "&".join(p for p in parts.query.split("&") if p and not p.lower().startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """The store's SQL (qmark parameters, as sqlite3 takes them) as psycopg takes it: `?` -> `%s` outside
    quotes, a literal `%` doubled, `x IS ?` -> `x IS NOT DISTINCT FROM %s`, BEGIN IMMEDIATE -> BEGIN."""
    if sql.startswith("BEGIN"):
        return "BEGIN"
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return re.sub(r"\bIS %s", "IS NOT DISTINCT FROM %s", "".join(out))


def _opens_transaction(sql: str) -> bool:
    """What opens a transaction, as in Python's sqlite3: a write (and here an advisory transaction lock or a
    new id, which only mean something inside one)."""
    head = sql.lstrip()[:6].upper()
    return head in ("INSERT", "UPDATE", "DELETE") or "_xact_lock(" in sql or "nextval(" in sql


def _unavailable(name: str, exc: BaseException) -> StoreUnavailable:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return StoreUnavailable(f"The store {name} cannot be reached: {first}.",
                            hint="Check that the PostgreSQL server is running and that `store` in courtsync.toml "
                                 "(user, host, database; the password from $PGPASSWORD or store_password_env) "
                                 "is right. Nothing was changed.")


class PgConnection:
    """A psycopg connection (autocommit, so a read holds no transaction open) that behaves as the store's SQL
    expects of sqlite3.Connection (dialect.Db): a write opens a transaction, `with db:` commits it (or rolls it
    back on an exception), commit() and rollback() end it. A server gone away is StoreUnavailable."""

    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any], name: str) -> None:
        self.conn = conn
        self.name = name

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus
        return self.conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def _run(self, call: Any, *args: Any) -> Any:
        import psycopg
        try:
            return call(*args)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise _unavailable(self.name, exc) from None

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        text = translate(sql)
        if not self.in_transaction and text != "BEGIN" and _opens_transaction(text):
            self._run(self.conn.execute, "BEGIN")
        return self._run(self.conn.execute, text, tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        rows = [tuple(p) for p in parameters]
        cur = self.conn.cursor()
        if rows:
            if not self.in_transaction:
                self._run(self.conn.execute, "BEGIN")
            self._run(cur.executemany, translate(sql), rows)
        return cur

    def commit(self) -> None:
        if self.in_transaction:
            self._run(self.conn.execute, "COMMIT")

    def rollback(self) -> None:
        if self.in_transaction and not self.conn.closed:
            self._run(self.conn.execute, "ROLLBACK")

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()


# --- connections: one per command, or a pool per server process ------------------------------------

_pools: dict[str, ConnectionPool[Any]] = {}
_pooled = False
_ready: set[str] = set()        # URLs whose schema this process has found current
_lock = threading.Lock()


def use_pool() -> None:
    """From now on this process takes its connections from one pool per store (`courtsync serve`): a request
    does not pay for a new connection, and a connection the server dropped is replaced when it is handed out."""
    global _pooled
    _pooled = True


def _connect_kwargs(password_env: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_SECONDS,
                              "application_name": f"courtsync {__version__}"}
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise ConfigError(f"store_password_env names ${password_env}, which is not set (or empty).",
                              hint=f"Set {password_env} to the PostgreSQL password, or remove store_password_env "
                                   "to use $PGPASSWORD or ~/.pgpass.")
        kwargs["password"] = password
    return kwargs


IDLE_CHECK = 2.0   # seconds: a pooled connection unused that long is checked (a round trip) before it is lent
_returned_at: dict[int, float] = {}


def _returned(conn: psycopg.Connection[Any]) -> None:
    if len(_returned_at) > 10_000:   # connections the pool discarded leave their entries behind
        _returned_at.clear()
    _returned_at[id(conn)] = time.monotonic()


def _check_if_idle(conn: psycopg.Connection[Any]) -> None:
    """The pool's check before lending a connection. One in use a moment ago is lent as it is (under load a check
    would be one more round trip per request); one idle for a while, as after the server went away and came back,
    is checked, and replaced when it is dead."""
    from psycopg_pool import ConnectionPool

    if time.monotonic() - _returned_at.get(id(conn), 0.0) > IDLE_CHECK:
        ConnectionPool.check_connection(conn)


def _pool(url: str, password_env: str | None) -> ConnectionPool[Any]:
    from psycopg_pool import ConnectionPool
    with _lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(url, kwargs=_connect_kwargs(password_env), min_size=2, max_size=POOL_SIZE,
                                  check=_check_if_idle, reset=_returned, open=False, name="courtsync")
            pool.open(wait=False)
            _pools[url] = pool
        return pool


class PostgresStore(KeepsRecords, SqliteCache):
    """The store on a PostgreSQL database (base.Storage): opened on first use, closed when the command ends."""

    def __init__(self, url: str, password_env: str | None = None) -> None:
        self.url = url
        self.password_env = password_env
        name = redact(url)
        super().__init__(None, self._open, name)
        self._records = SqliteRecords(None, self._open, name)
        self._db: PgConnection | None = None
        self._from_pool: ConnectionPool[Any] | None = None
        self._down: StoreUnavailable | None = None   # the server could not be reached: not asked again until close

    def _connection(self) -> psycopg.Connection[Any]:
        """A connection, or StoreUnavailable. Once the server was found unreachable, every later use in this
        command (a best-effort cache lookup among them) fails at once instead of waiting for it again."""
        import psycopg
        from psycopg_pool import PoolTimeout
        if self._down is not None:
            raise self._down
        try:
            if _pooled:
                pool = _pool(self.url, self.password_env)
                try:
                    conn: psycopg.Connection[Any] = pool.getconn(timeout=POOL_WAIT)
                except PoolTimeout:
                    # The pool waits between attempts after the server went away; one that is back answers
                    # a connection of our own at once (and the pool refills meanwhile). One that is not answers
                    # soon: the request has already waited POOL_WAIT.
                    return psycopg.connect(self.url, **{**_connect_kwargs(self.password_env),
                                                        "connect_timeout": POOL_WAIT})
                self._from_pool = pool
                return conn
            return psycopg.connect(self.url, **_connect_kwargs(self.password_env))
        except (psycopg.Error, PoolTimeout) as exc:
            self._down = _unavailable(self.name, exc)
            raise self._down from None

    def _open(self) -> PgConnection:
        if self._db is not None and self._db.conn.closed:   # the server went away mid-command
            raise _unavailable(self.name, RuntimeError("the connection was closed"))
        if self._db is None:
            db = PgConnection(self._connection(), self.name)
            try:
                if self.url not in _ready:
                    prepare(db, self.name)
                    _ready.add(self.url)
            except BaseException:
                self._db = db
                self.close()
                raise
            self._db = db
        return self._db

    # --- lifetime -------------------------------------------------------------------------------

    def upgrade(self) -> Upgrade:
        """Create or migrate the schema (`courtsync db upgrade`); NewerStoreError for a newer release's."""
        db = PgConnection(self._connection(), self.name)
        try:
            before = versions(db).get("records")
            prepare(db, self.name)
            _ready.add(self.url)
        finally:
            db.rollback()
            self._release(db)
        return Upgrade(store=self.name, cache=f"{self.name} (its calendar cache tables)", before=before,
                       after=RECORDS_VERSION)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """True while this process alone holds `name` among every process on this database (a session advisory
        lock on a connection of its own, so the store's transactions meanwhile are not affected); False at once
        when another one holds it. A process that dies lets go with its connection."""
        import psycopg
        try:
            conn = psycopg.connect(self.url, **_connect_kwargs(self.password_env))
        except psycopg.Error as exc:
            raise _unavailable(self.name, exc) from None
        with conn:
            held = bool(conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()[0])  # type: ignore[index]
            yield held

    def _release(self, db: PgConnection) -> None:
        if self._from_pool is not None:
            self._from_pool.putconn(db.conn)
            self._from_pool = None
        else:
            db.conn.close()

    def close(self) -> None:
        db, self._db, self._down = self._db, None, None
        if db is not None:
            with contextlib.suppress(StoreUnavailable):
                db.rollback()
            self._release(db)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- schema ---------------------------------------------------------------------------------------

def ddl(script: str) -> list[str]:
    """schema.py's SQLite tables as PostgreSQL spells them: 8-byte floats and integers, bytea, identity ids, and
    text compared byte by byte (COLLATE "C") so that every ORDER BY gives what SQLite gives."""
    s = script.replace(") WITHOUT ROWID", ")")
    s = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGSERIAL PRIMARY KEY", s)
    s = re.sub(r"\bINTEGER\b", "BIGINT", s)
    s = re.sub(r"\bREAL\b", "DOUBLE PRECISION", s)
    s = re.sub(r"\bBLOB\b", "BYTEA", s)
    s = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', s)
    return statements(s)


def versions(db: PgConnection) -> dict[str, int]:
    """What the database holds: part -> schema version ({} for a database courtsync never wrote to)."""
    if db.execute("SELECT to_regclass(?)", (VERSIONS,)).fetchone()[0] is None:
        return {}
    return {part: int(v) for part, v in db.execute(f"SELECT part, version FROM {VERSIONS}")}


def _refuse_newer(name: str, found: dict[str, int]) -> None:
    version = found.get("records", 0)
    if version > RECORDS_VERSION:
        raise NewerStoreError(
            f"The store {name} has schema version {version}; this release of courtsync ({__version__}) knows "
            f"versions up to {RECORDS_VERSION}.",
            hint="A newer release of courtsync wrote it: upgrade courtsync (the store is left as it is).")


def prepare(db: PgConnection, name: str) -> None:
    """The schema at this release's versions: the records created (or migrated), the calendar cache rebuilt
    empty when its layout is another. One transaction under a lock: of two processes that start on a new
    database at once, one creates it and the other finds it done."""
    found = versions(db)
    _refuse_newer(name, found)
    if found.get("records") == RECORDS_VERSION and found.get("cache") == CACHE_LAYOUT:
        return
    with db:
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", ("courtsync:schema",))
        found = versions(db)
        _refuse_newer(name, found)
        for statement in ddl(VERSIONS_TABLE + ";\n" + RECORDS):
            db.execute(statement)
        if found.get("cache") != CACHE_LAYOUT:
            for table in CACHE_TABLES:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in ddl(CACHE):
                db.execute(statement)
        db.executemany(f"INSERT INTO {VERSIONS} (part, version) VALUES (?, ?) ON CONFLICT (part) DO UPDATE "
                       "SET version = excluded.version", [("records", RECORDS_VERSION), ("cache", CACHE_LAYOUT)])
