"""One store implementation, two databases: the store's SQL (cache.py, cache_groups.py, ledger.py, records.py) is
written once, in the subset SQLite and PostgreSQL share (upserts with ON CONFLICT, RETURNING, quoted "end" and
"window"). What differs is here: the connection both kinds answer to (`Db`), the few statements each spells its
own way (JSON aggregates), item ids, and the locks only a server needs (SQLite serialises every writer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from courtsync.errors import StoreUnavailable

# What a store's best-effort paths catch: SQLite's own errors, and a PostgreSQL server that cannot be reached.
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, StoreUnavailable)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """A connection as the store's SQL uses it: sqlite3.Connection, or postgres.PgConnection, which behaves the
    same way (a write opens a transaction; `with db:` commits it, or rolls it back on an exception)."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: Any) -> Any: ...


def is_server(db: Db) -> bool:
    """A PostgreSQL store (several processes write at once), not a SQLite file (one writer at a time)."""
    return getattr(db, "dialect", "sqlite") == "postgresql"


def json_object(db: Db, key: str, value: str) -> str:
    """An aggregate giving the rows' key -> value as one JSON object text ('{}' for no rows)."""
    if is_server(db):
        return f"coalesce(json_object_agg({key}, {value})::text, '{{}}')"
    return f"json_group_object({key}, {value})"


def json_array(db: Db, value: str) -> str:
    """An aggregate giving the rows' values as one JSON array text ('[]' for no rows)."""
    if is_server(db):
        return f"coalesce(json_agg({value})::text, '[]')"
    return f"json_group_array({value})"


def json_values(db: Db) -> str:
    """A subquery of the values of the JSON array text given as its one parameter."""
    if is_server(db):
        return "SELECT json_array_elements_text(?::json)"
    return "SELECT value FROM json_each(?)"


def one_of(db: Db, column: str, values: list[str]) -> tuple[str, list[Any]]:
    """`column` is one of `values`: the condition and its parameters. PostgreSQL takes the list as one array
    parameter (a hundred sources as a hundred parameters cost more to send and to plan than the query does)."""
    if is_server(db):
        return f"{column} = ANY(?)", [values]
    return f"{column} IN ({','.join('?' * len(values))})", values


def item_ids(db: Db, count: int) -> list[int]:
    """`count` new item ids, inside the caller's transaction. SQLite: after the largest (one writer at a time);
    PostgreSQL: from the items' sequence, so two processes writing at once never take the same."""
    if count <= 0:
        return []
    if is_server(db):
        return [r[0] for r in db.execute("SELECT nextval(pg_get_serial_sequence('items', 'id')) "
                                         "FROM generate_series(1, ?)", (count,))]
    first = int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM items").fetchone()[0])
    return list(range(first, first + count))


def lock(db: Db, name: str) -> None:
    """Hold `name` until the caller's transaction ends, against every other process on this store (PostgreSQL:
    an advisory lock; SQLite: nothing to do, its write lock already admits one writer at a time)."""
    if is_server(db):
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))
