"""The enrollment records: each worker's committed cohort and the log of every enrollment and move. SQL only;
app/enroll.py holds the rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from courtsync.models import Enrollment
from courtsync.store.dialect import Db

_COLUMNS = "worker, collaborative, kind, rank, committed_at, revision, previous, confirmed"


def _row(r: tuple[Any, ...]) -> Enrollment:
    return Enrollment(*r)


class Enrollments:
    """The enrollments and enrollment_log tables of one store connection."""

    def __init__(self, immediate: Callable[[], AbstractContextManager[Db]],
                 read: Callable[[str, tuple[Any, ...]], list[Any]]) -> None:
        self._immediate = immediate   # one write transaction that takes the write lock first
        self._read = read             # rows, also from a store that cannot be written (or does not exist yet)

    def all(self) -> dict[str, Enrollment]:
        return {r[0]: _row(r) for r in self._read(f"SELECT {_COLUMNS} FROM enrollments ORDER BY worker", ())}

    def of(self, worker_id: str) -> Enrollment | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM enrollments WHERE worker = ?", (worker_id,))
        return _row(rows[0]) if rows else None

    def commit(self, placed: Iterable[tuple[str, str | None, str, int | None]], now: float) -> tuple[int, int, int]:
        """(worker, collaborative, kind, rank) rows, in one transaction; collaborative None: registered for that
        kind and not placed. A worker newly placed is enrolled, one placed elsewhere before moves (its revision
        rises, `previous` says where from), one already there keeps its row. Returns (enrolled, moved, unplaced)."""
        enrolled = moved = unplaced = 0
        inserts, updates, log = [], [], []
        with self._immediate() as db:
            have = {r[0]: r[1] for r in db.execute("SELECT worker, collaborative FROM enrollments")}
            for worker, collab, kind, rank in placed:
                known = worker in have
                before = have.get(worker)
                if known and before == collab:
                    continue
                if collab is None:
                    unplaced += 1
                elif before is None:
                    enrolled += 1
                else:
                    moved += 1
                if known:
                    updates.append((collab, kind, rank, now, before, worker))
                else:
                    inserts.append((worker, collab, kind, rank, now))
                log.append((worker, collab, before, rank, now))
            # (a state's 10,000 in three statements, not 20,000 round trips to a database server)
            db.executemany("INSERT INTO enrollments (worker, collaborative, kind, rank, committed_at, revision) "
                           "VALUES (?, ?, ?, ?, ?, 1)", inserts)
            db.executemany("UPDATE enrollments SET collaborative = ?, kind = ?, rank = ?, committed_at = ?, "
                           "revision = revision + 1, previous = ? WHERE worker = ?", updates)
            db.executemany("INSERT INTO enrollment_log (worker, collaborative, previous, rank, at) "
                           "VALUES (?, ?, ?, ?, ?)", log)
        return enrolled, moved, unplaced

    def confirmed(self, worker_id: str, digest: str) -> None:
        """The confirmation saying `digest` is queued for this worker's supervisor."""
        with self._immediate() as db:
            db.execute("UPDATE enrollments SET confirmed = ? WHERE worker = ?", (digest, worker_id))

    def stamp(self) -> str:
        """Changes whenever any enrollment does (for what a long-running process keeps of the memberships)."""
        rows = self._read("SELECT COUNT(*), MAX(committed_at), SUM(revision) FROM enrollments", ())
        count, latest, revisions = rows[0] if rows else (0, None, None)
        return f"{count}:{latest}:{revisions}"
