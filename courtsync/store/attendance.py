"""The attendance records: sign-ins as each export said them, booked make-ups, the conflict history and the
certificates issued. SQL only; core/attendance.py and app/attendance.py hold the rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

from courtsync.store.dialect import Db, lock


class SignIn(NamedTuple):
    """One row of a sign-in export, as recorded: who was at which session, for how many hours."""

    worker: str
    collaborative: str
    day: str          # ISO date
    hours: float
    file: str
    line: int
    imported_at: float


class Booking(NamedTuple):
    worker: str
    collaborative: str
    day: str
    booked_at: float
    cancelled_at: float | None


class Seen(NamedTuple):
    """One conflict of the conflict history."""

    key: str
    worker: str
    collaborative: str
    session_day: str
    session_start: float
    session_end: float
    source: str
    court: str | None
    case_number: str | None
    kind: str
    event_start: float
    first_seen: float
    last_seen: float
    resolved_at: float | None
    reason: str | None


@dataclass(frozen=True)
class Imported:
    """What one file's import did: unchanged (the same bytes as last time), or rows added/removed/changed."""

    file: str
    unchanged: bool
    added: int = 0
    removed: int = 0
    changed: int = 0
    revision: int = 0


_SIGNIN = "worker, collaborative, day, hours, file, line, imported_at"
_SEEN = ("key, worker, collaborative, session_day, session_start, session_end, source, court, case_number, kind, "
         "event_start, first_seen, last_seen, resolved_at, reason")


class Attendance:
    """The signin_files, signins, signin_log, makeups, conflict_history and certificates tables."""

    def __init__(self, immediate: Callable[[], AbstractContextManager[Db]],
                 read: Callable[[str, tuple[Any, ...]], list[Any]]) -> None:
        self._immediate = immediate
        self._read = read

    # --- sign-ins -------------------------------------------------------------------------------

    def import_file(self, file: str, digest: str, rows: Iterable[tuple[str, str, str, float, int]],
                    now: float) -> Imported:
        """Replace what `file` said before by `rows` (worker, collaborative, day, hours, line), in one
        transaction; the same digest as last time changes nothing. A change is logged with when and what."""
        new = {(w, c, d): (h, line) for w, c, d, h, line in rows}
        with self._immediate() as db:
            lock(db, "signins")
            known = db.execute("SELECT digest, revision FROM signin_files WHERE file = ?", (file,)).fetchone()
            if known is not None and known[0] == digest:
                return Imported(file, unchanged=True, revision=int(known[1]))
            old = {(r[0], r[1], r[2]): (float(r[3]), int(r[4])) for r in db.execute(
                "SELECT worker, collaborative, day, hours, line FROM signins WHERE file = ?", (file,))}
            added = [k for k in new if k not in old]
            removed = [k for k in old if k not in new]
            changed = [k for k in new if k in old and old[k][0] != new[k][0]]
            moved = [k for k in new if k in old and old[k][0] == new[k][0] and old[k][1] != new[k][1]]
            db.executemany("DELETE FROM signins WHERE file = ? AND worker = ? AND collaborative = ? AND day = ?",
                           [(file, *k) for k in removed])
            db.executemany("INSERT INTO signins (file, line, worker, collaborative, day, hours, imported_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", [(file, new[k][1], *k, new[k][0], now) for k in added])
            db.executemany("UPDATE signins SET hours = ?, line = ?, imported_at = ? WHERE file = ? AND worker = ? "
                           "AND collaborative = ? AND day = ?",
                           [(new[k][0], new[k][1], now, file, *k) for k in (*changed, *moved)])
            revision = int(known[1]) + 1 if known is not None else 1
            db.execute("INSERT INTO signin_files (file, digest, rows, imported_at, revision) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (file) DO UPDATE SET digest = excluded.digest, rows = excluded.rows, "
                       "imported_at = excluded.imported_at, revision = excluded.revision",
                       (file, digest, len(new), now, revision))
            db.execute("INSERT INTO signin_log (file, digest, at, added, removed, changed) VALUES (?, ?, ?, ?, ?, ?)",
                       (file, digest, now, len(added), len(removed), len(changed)))
        return Imported(file, unchanged=False, added=len(added), removed=len(removed), changed=len(changed),
                        revision=revision)

    def signins(self, worker: str | None = None) -> list[SignIn]:
        """Every recorded sign-in (or one worker's), oldest import first: a later import wins a duplicate."""
        where, args = ("WHERE worker = ?", (worker,)) if worker is not None else ("", ())
        return [SignIn(r[0], r[1], r[2], float(r[3]), r[4], int(r[5]), float(r[6])) for r in self._read(
            f"SELECT {_SIGNIN} FROM signins {where} ORDER BY imported_at, file, line", args)]

    def sessions_signed(self) -> set[tuple[str, str]]:
        """(collaborative, day) of every session some sign-in was imported for."""
        return {(r[0], r[1]) for r in self._read("SELECT DISTINCT collaborative, day FROM signins", ())}

    def imports(self) -> list[tuple[str, str, float, int, int, int]]:
        """The import log: (file, digest, at, added, removed, changed), oldest first."""
        return [tuple(r) for r in self._read(
            "SELECT file, digest, at, added, removed, changed FROM signin_log ORDER BY id", ())]

    # --- make-ups -------------------------------------------------------------------------------

    def book(self, worker: str, collaborative: str, day: str, now: float,
             seats_taken: Callable[[int], bool]) -> str:
        """Book (or re-book a cancelled) make-up seat. `seats_taken(booked)`: True when the session is full with
        `booked` make-ups already in it (checked inside the transaction: two bookings at once take one seat
        each, never the last one twice). Returns booked | already | full."""
        with self._immediate() as db:
            lock(db, f"makeup {collaborative} {day}")
            mine = db.execute("SELECT cancelled_at FROM makeups WHERE worker = ? AND collaborative = ? AND day = ?",
                              (worker, collaborative, day)).fetchone()
            if mine is not None and mine[0] is None:
                return "already"
            booked = db.execute("SELECT COUNT(*) FROM makeups WHERE collaborative = ? AND day = ? AND "
                                "cancelled_at IS NULL", (collaborative, day)).fetchone()[0]
            if seats_taken(int(booked)):
                return "full"
            db.execute("INSERT INTO makeups (worker, collaborative, day, booked_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (worker, collaborative, day) DO UPDATE SET booked_at = excluded.booked_at, "
                       "cancelled_at = NULL", (worker, collaborative, day, now))
        return "booked"

    def cancel(self, worker: str, collaborative: str, day: str, now: float) -> bool:
        with self._immediate() as db:
            done = db.execute("UPDATE makeups SET cancelled_at = ? WHERE worker = ? AND collaborative = ? AND "
                              "day = ? AND cancelled_at IS NULL", (now, worker, collaborative, day))
            return bool(done.rowcount)

    def bookings(self, worker: str | None = None) -> list[Booking]:
        """Booked make-ups not cancelled (everyone's, or one worker's), by day."""
        where, args = ("AND worker = ?", (worker,)) if worker is not None else ("", ())
        return [Booking(r[0], r[1], r[2], float(r[3]), r[4]) for r in self._read(
            f"SELECT worker, collaborative, day, booked_at, cancelled_at FROM makeups WHERE cancelled_at IS NULL "
            f"{where} ORDER BY day, worker", args)]

    # --- the conflict history -------------------------------------------------------------------

    def history(self, worker: str | None = None) -> list[Seen]:
        where, args = ("WHERE worker = ?", (worker,)) if worker is not None else ("", ())
        return [Seen(*r) for r in self._read(f"SELECT {_SEEN} FROM conflict_history {where} ORDER BY first_seen",
                                             args)]

    def observe(self, seen: Iterable[tuple[Any, ...]], covers: Callable[[Seen], bool],
                resolve: Callable[[list[Seen]], dict[str, str]], now: float) -> tuple[int, int]:
        """Record one scan: `seen` rows (key, worker, collaborative, session_day, session_start, session_end,
        source, court, case_number, kind, event_start) were found now; open rows of sessions not yet ended that
        the scan `covers` and did not find get the reason `resolve` gives them (one resolved before is opened
        again when it is found again). Returns (new, resolved)."""
        rows = list(seen)
        with self._immediate() as db:
            lock(db, "conflict history")
            keys = {r[0] for r in rows}
            have = {r[0] for r in db.execute("SELECT key FROM conflict_history")} if rows else set()
            fresh = [r for r in rows if r[0] not in have]
            db.executemany(f"INSERT INTO conflict_history ({_SEEN}) VALUES "
                           f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)", [(*r, now, now) for r in fresh])
            db.executemany("UPDATE conflict_history SET last_seen = ?, resolved_at = NULL, reason = NULL, "
                           "session_start = ?, session_end = ?, event_start = ? WHERE key = ?",
                           [(now, r[4], r[5], r[10], r[0]) for r in rows if r[0] in have])
            open_rows = [Seen(*r) for r in db.execute(
                f"SELECT {_SEEN} FROM conflict_history WHERE resolved_at IS NULL AND session_end > ?", (now,))]
            gone = [s for s in open_rows if s.key not in keys and covers(s)]
            reasons = resolve(gone) if gone else {}
            db.executemany("UPDATE conflict_history SET resolved_at = ?, reason = ? WHERE key = ?",
                           [(now, reason, key) for key, reason in reasons.items()])
        return len(fresh), len(reasons)

    # --- certificates ---------------------------------------------------------------------------

    def issue(self, code: str, worker: str, first: str | None, last: str | None, digest: str, summary: str,
              now: float) -> None:
        with self._immediate() as db:
            db.execute("INSERT INTO certificates (code, worker, first, last, digest, summary, issued_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
                       (code, worker, first, last, digest, summary, now))

    def certificate(self, code: str) -> tuple[str, str | None, str | None, str, str, float] | None:
        rows = self._read("SELECT worker, first, last, digest, summary, issued_at FROM certificates WHERE code = ?",
                          (code,))
        return tuple(rows[0]) if rows else None
