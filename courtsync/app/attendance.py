"""`courtsync attendance`: import sign-in exports; list who missed a session without a make-up, and by when they
are due one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from courtsync.config.signins import load_signins
from courtsync.context import Context
from courtsync.core.attendance import Row
from courtsync.errors import Located, UsageError
from courtsync.models import Worker
from courtsync.queries.attendance import Book, moment
from courtsync.store.attendance import Imported

Now = Callable[[], float]


@dataclass(frozen=True)
class FileImport:
    path: Path
    outcome: Imported | None        # None: the file could not be read at all
    rows: int
    problems: tuple[Located, ...] = ()


@dataclass
class ImportResult:
    files: list[FileImport] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(len(f.problems) for f in self.files)


def import_signins(ctx: Context, paths: Iterable[str], now: Now) -> ImportResult:
    """Record each sign-in export. A file is known by where it is: importing it again unchanged changes nothing;
    a corrected copy replaces what it said before (the import log keeps when and which file). A bad row is
    reported and skipped; the file's other rows are recorded."""
    result = ImportResult()
    workers = ctx.roster.workers
    for given in paths:
        path = Path(given).expanduser()
        if not path.is_file():
            raise UsageError(f"The sign-in file {path} does not exist" + (" (it is a folder)" if path.is_dir()
                                                                          else "") + ".",
                             hint="Give the CSV files exported from the sign-in sheets: "
                                  "date,collaborative_id,worker_id,hours.")
        text, rows, problems = load_signins(path, workers, ctx.collaboratives, ctx.sessions)
        if problems and (not rows or any(p.line == 1 for p in problems)):
            # An empty file, a wrong header or no good row at all: not a sheet to replace what this file said.
            result.files.append(FileImport(path, None, 0, tuple(problems)))
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()
        outcome = ctx.store.attendance.import_file(str(path.resolve()), digest, rows, now())
        result.files.append(FileImport(path, outcome, len(rows), tuple(problems)))
    return result


@dataclass(frozen=True)
class Missed:
    """A session a worker missed without a make-up (absent, or excused for court), and when one is due."""

    worker: Worker
    row: Row
    overdue: bool


@dataclass
class Absences:
    title: str
    as_of: date
    missed: list[Missed]
    booked: list[tuple[Worker, Row]]          # missed or upcoming, with a make-up booked
    unrecorded: list[tuple[str, date]]        # sessions held with no sign-in imported: not judged


def absences(ctx: Context, today: date, now: Now, *, supervisor_id: str | None = None,
             collaborative_id: str | None = None, worker_id: str | None = None) -> Absences:
    """Who missed a session without a make-up (each with the date the make-up is due by), and who has one
    booked, for one supervisor's team, one collaborative's members or one worker."""
    chosen = [x for x in (supervisor_id, collaborative_id, worker_id) if x]
    if len(chosen) != 1:
        raise UsageError("Give one of --supervisor, --collaborative and --worker.")
    workers = ctx.roster.workers
    if worker_id:
        team = [ctx.worker(worker_id)]
        title = f"Attendance of {team[0].name} ({team[0].id})"
    elif supervisor_id:
        boss = ctx.worker(supervisor_id)
        team = [w for w in workers.values() if w.supervisor_id == boss.id]
        title = f"Attendance of {boss.name}'s team ({len(team)} staff)"
    else:
        collab = ctx.collaborative(collaborative_id or "")
        team = [w for w in workers.values() if collab.id in w.collaboratives]
        title = f"Attendance at the {collab.name} ({len(team)} members)"
    book = Book(ctx, moment(ctx, today, now), worker_id)
    missed, booked, unrecorded = [], [], set()
    for w in sorted(team, key=lambda w: (w.name, w.id)):
        for r in book.rows(w, None, None):
            if r.status in ("absent", "excused (court)") and r.unrecorded:
                unrecorded.add((r.session.collaborative_id, r.session.day))
            elif r.status in ("absent", "excused (court)") and r.booked is None:
                missed.append(Missed(w, r, overdue=r.due_by is not None and r.due_by < today))
            if r.booked is not None and r.status in ("absent", "excused (court)", "upcoming"):
                booked.append((w, r))
    missed.sort(key=lambda m: (m.row.due_by or today, m.worker.name))
    return Absences(title, today, missed, booked, sorted(unrecorded, key=lambda k: (k[1], k[0])))
