"""workers.csv and caseload.csv -> Roster; every bad row is reported as file:line with its column."""

from __future__ import annotations

import csv
import io
import marshal
from collections.abc import Collection, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from courtsync.config.fields import EMAIL_PATTERN, ID_PATTERN
from courtsync.errors import Located, RosterError
from courtsync.models import CaseAssignment, Roster, Worker

WORKER_COLUMNS = ("id", "name", "email", "role", "office", "supervisor_id", "collaboratives")
WORKER_OPTIONAL = ("calendar",)
CASELOAD_COLUMNS = ("case_number", "worker_id", "court_id")

_MAX_LISTED = 40


def read_text(path: Path, what: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(f"The {what} file {path} does not exist.",
                          hint="Check [roster] in courtsync.toml; relative paths are relative to "
                               "the folder of courtsync.toml.") from None
    except OSError as exc:
        raise RosterError(f"Cannot read the {what} file {path}: {exc.strerror}.") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports on Windows are often cp1252; it decodes any byte sequence we accept.
        return raw.decode("cp1252", errors="replace")


def rows(path: Path, text: str, required: tuple[str, ...], optional: tuple[str, ...],
          problems: list[Located]) -> Iterator[tuple[int, list[str]]]:
    """Rows as lists in the order `required + optional` (a missing optional column reads as '')."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Located(f"the file is empty; the first line must be the header "
                                f"{','.join(required)}", path=path, line=1))
        return
    except csv.Error as exc:
        problems.append(Located(_unreadable(exc), path=path, line=1))
        return
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    unknown = [h for h in names if h not in required and h not in optional]
    twice = sorted({h for h in names if names.count(h) > 1})
    if missing or unknown or twice:
        parts = [f"column{'s' if len(twice) > 1 else ''} {', '.join(twice)} given twice"] if twice else []
        if missing:
            parts.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(u) for u in unknown)}")
        problems.append(Located(f"{'; '.join(parts)}. The header must be {','.join(required)}"
                                + (f" (optionally {','.join(optional)})" if optional else ""),
                                path=path, line=1))
        return
    width = len(names)
    order = [names.index(c) if c in names else -1 for c in (*required, *optional)]
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:   # the rest of the file cannot be cut into rows with any confidence
            problems.append(Located(_unreadable(exc), path=path, line=start))
            return
        line = reader.line_num
        if any("\x00" in f for f in fields):
            problems.append(Located("contains a NUL character (the file is not plain text); export it again "
                                    "as CSV", path=path, line=line))
            continue
        if not any(f.strip() for f in fields):   # a blank line, or a spreadsheet's empty row (",,,")
            continue
        if len(fields) != width:
            problems.append(Located(f"row has {len(fields)} fields but the header has {width}; "
                                    "quote values that contain commas", path=path, line=line))
            continue
        yield line, [fields[i].strip() if i >= 0 else "" for i in order]


def _unreadable(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        # The csv module's own bound (128 KiB a field) is kept: no roster value comes near it, and an
        # unclosed quote is what makes a field run on.
        return (f"a field runs on for more than {csv.field_size_limit()} characters from this row: a quote (\") "
                "that is opened and never closed takes in the rows after it; close or remove it")
    return f"cannot be read as CSV from this row ({exc}); check its quotes"


def fail_if(problems: list[Located], what: str) -> None:
    if not problems:
        return
    shown = problems[:_MAX_LISTED]
    more = len(problems) - len(shown)
    raise RosterError(f"The {what} has {len(problems)} problem{'s' if len(problems) != 1 else ''}:",
                      problems=shown,
                      hint=(f"...and {more} more. " if more else "") + "Fix these rows and run again.")


def load_workers(path: Path, collaborative_ids: Collection[str]) -> dict[str, Worker]:
    """Read workers.csv; ids and emails unique, supervisors and collaboratives must exist."""
    problems: list[Located] = []
    text = read_text(path, "workers")
    workers: dict[str, Worker] = {}
    emails: dict[str, int] = {}
    known = set(collaborative_ids)
    for line, (wid, name, email, role, office, boss, collab_text, cal) in rows(
            path, text, WORKER_COLUMNS, WORKER_OPTIONAL, problems):
        def bad(column: str, message: str, line: int = line) -> None:
            problems.append(Located(message, path=path, line=line, key=column))

        if not ID_PATTERN.match(wid):
            bad("id", f"{wid!r} is not a valid id (letters, digits, '-', '_', '.')")
            continue
        if wid in workers:
            bad("id", f"{wid!r} is already used on line {workers[wid].line}; ids must be unique")
            continue
        if not name:
            bad("name", "is empty; give the person's name")
        lowered = email.lower()
        if not EMAIL_PATTERN.match(email):
            bad("email", f"{email!r} is not an email address such as dana.reyes@agency.example")
        elif lowered in emails:
            bad("email", f"{email!r} is already used on line {emails[lowered]}; hearings are "
                         "matched to staff by email, so each must be unique")
        else:
            emails[lowered] = line
        if not role:
            bad("role", "is empty; give a role such as caseworker, supervisor or administrator")
        collabs = tuple(dict.fromkeys(c.strip() for c in collab_text.split(";") if c.strip()))
        for cid in collabs:
            if cid not in known:
                bad("collaboratives", f"{cid!r} is not a [[collaborative]] id in courtsync.toml "
                                      f"(known: {short(collaborative_ids)}); separate ids with ';'")
        workers[wid] = Worker(wid, name, email, role, office, boss or None, collabs, cal or None, line)
    for w in workers.values():
        if w.supervisor_id is None:
            continue
        if w.supervisor_id == w.id:
            problems.append(Located("a person cannot be their own supervisor; leave it empty for the "
                                    "top of the chain", path=path, line=w.line, key="supervisor_id"))
        elif w.supervisor_id not in workers:
            problems.append(Located(f"{w.supervisor_id!r} is not the id of any row in this file; add "
                                    "the supervisor's own row or correct the id",
                                    path=path, line=w.line, key="supervisor_id"))
    problems.sort(key=lambda p: p.line or 0)
    fail_if(problems, f"workers file {path}")
    return workers


def load_caseload(path: Path, workers: Collection[str], court_ids: Collection[str]) -> tuple[CaseAssignment, ...]:
    """Read caseload.csv; its workers and courts must exist."""
    problems: list[Located] = []
    text = read_text(path, "caseload")
    out: dict[tuple[str, str, str], CaseAssignment] = {}
    courts = set(court_ids)
    for line, (case_number, worker_id, court_id) in rows(path, text, CASELOAD_COLUMNS, (), problems):
        if case_number and worker_id in workers and court_id in courts:
            key = (case_number, worker_id, court_id)
            if key not in out:
                out[key] = CaseAssignment(case_number, worker_id, court_id, line)
            continue
        if not case_number:
            problems.append(Located("is empty", path=path, line=line, key="case_number"))
        if worker_id not in workers:
            problems.append(Located(f"{worker_id!r} is not an id in the workers file",
                                    path=path, line=line, key="worker_id"))
        if court_id not in courts:
            problems.append(Located(f"{court_id!r} is not a [[court]] id in courtsync.toml "
                                    f"(known: {short(court_ids)})", path=path, line=line, key="court_id"))
    fail_if(problems, f"caseload file {path}")
    return tuple(out.values())


def load_roster(workers_path: Path, caseload_path: Path | None, collaborative_ids: Collection[str],
                court_ids: Collection[str]) -> Roster:
    workers = load_workers(workers_path, collaborative_ids)
    caseload = load_caseload(caseload_path, workers, court_ids) if caseload_path else ()
    return Roster(workers=workers, load_caseload=lambda: caseload)


def short(ids: Collection[str]) -> str:
    listed = sorted(ids)
    if not listed:
        return "none"
    return ", ".join(listed[:8]) + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")


def workers_to_bytes(roster: Roster) -> bytes:
    """Validated rows in a form that loads ~10x faster than re-reading the CSV file: first the few
    workers with a calendar of their own (all that a sync needs), then everyone."""
    rows = tuple(tuple(w) for w in roster.workers.values())
    own = marshal.dumps(tuple(r for r in rows if r[_CALENDAR]))
    return len(own).to_bytes(8, "big") + own + marshal.dumps(rows)


_CALENDAR = Worker._fields.index("calendar")


class _Workers(Mapping[str, Worker]):
    """Workers from the cache, unpacked on first use; a row becomes a Worker only when asked for (a
    check needs one of 10,000, a sync only those with a calendar of their own)."""

    def __init__(self, data: bytes) -> None:
        size = int.from_bytes(data[:8], "big")
        self._own_calendar = marshal.loads(data[8:8 + size])
        self._data = data[8 + size:]
        self._made: dict[str, Worker] = {}

    @cached_property
    def rows(self) -> dict[str, tuple[Any, ...]]:
        return {row[0]: row for row in marshal.loads(self._data)}

    def with_calendar(self) -> list[Worker]:
        return [Worker._make(row) for row in self._own_calendar]

    def __getitem__(self, worker_id: str) -> Worker:
        made = self._made.get(worker_id)
        if made is None:
            made = self._made[worker_id] = Worker._make(self.rows[worker_id])
        return made

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def workers_from_bytes(data: bytes) -> Mapping[str, Worker]:
    return _Workers(data)


def caseload_to_bytes(roster: Roster) -> bytes:
    return marshal.dumps(tuple(tuple(c) for c in roster.caseload))


def caseload_from_bytes(data: bytes) -> tuple[CaseAssignment, ...]:
    return tuple(CaseAssignment._make(c) for c in marshal.loads(data))
