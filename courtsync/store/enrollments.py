"""The enrollment records: each worker's committed cohort and the log of every enrollment and move. SQL only;
app/enroll.py holds the rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from courtsync.models import Enrollment
from courtsync.store.dialect import Db

_COLUMNS = "worker, collaborative, kind, rank, committed_at, revision, confirmed"


def _row(r: tuple[Any, ...]) -> Enrollment:
    return Enrollment(r[0], r[1], r[2], r[3], r[4], r[5], r[6])


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

    def commit(self, placed: Iterable[tuple[str, str, str, int | None]], now: float) -> tuple[int, int]:
        """(worker, collaborative, kind, rank) rows, in one transaction: a new worker is enrolled, one in another
        collaborative moves (its revision rises), one already there keeps its row. Returns (enrolled, moved)."""
        rows = list(placed)
        enrolled = moved = 0
        with self._immediate() as db:
            have = {r[0]: (r[1], r[5]) for r in db.execute(f"SELECT {_COLUMNS} FROM enrollments")}
            for worker, collab, kind, rank in rows:
                before = have.get(worker)
                if before is not None and before[0] == collab:
                    continue
                if before is None:
                    enrolled += 1
                    db.execute("INSERT INTO enrollments (worker, collaborative, kind, rank, committed_at, revision) "
                               "VALUES (?, ?, ?, ?, ?, 1)", (worker, collab, kind, rank, now))
                else:
                    moved += 1
                    db.execute("UPDATE enrollments SET collaborative = ?, kind = ?, rank = ?, committed_at = ?, "
                               "revision = revision + 1 WHERE worker = ?", (collab, kind, rank, now, worker))
                db.execute("INSERT INTO enrollment_log (worker, collaborative, previous, rank, at) "
                           "VALUES (?, ?, ?, ?, ?)", (worker, collab, before[0] if before else None, rank, now))
        return enrolled, moved

    def confirmed(self, worker_id: str, digest: str) -> None:
        """The confirmation saying `digest` is queued for this worker's supervisor."""
        with self._immediate() as db:
            db.execute("UPDATE enrollments SET confirmed = ? WHERE worker = ?", (digest, worker_id))
