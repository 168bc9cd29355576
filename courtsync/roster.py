"""workers.csv and caseload.csv -> Roster; every bad row is reported as file:line with its column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator
from pathlib import Path

from courtsync.errors import Located, RosterError
from courtsync.models import CaseAssignment, Roster, Worker

WORKER_COLUMNS = ("id", "name", "email", "role", "office", "supervisor_id", "collaboratives")
WORKER_OPTIONAL = ("calendar",)
CASELOAD_COLUMNS = ("case_number", "worker_id", "court_id")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\".]+(\.[^@\s<>\".]+)+$")
_MAX_LISTED = 40


def _read_text(path: Path, what: str) -> str:
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


def _rows(path: Path, text: str, required: tuple[str, ...], optional: tuple[str, ...],
          problems: list[Located]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Located(f"the file is empty; the first line must be the header "
                                f"{','.join(required)}", path=path, line=1))
        return
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    unknown = [h for h in names if h not in required and h not in optional]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(u) for u in unknown)}")
        problems.append(Located(f"{'; '.join(parts)}. The header must be {','.join(required)}"
                                + (f" (optionally {','.join(optional)})" if optional else ""),
                                path=path, line=1))
        return
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            problems.append(Located(f"row has {len(fields)} fields but the header has {len(names)}; "
                                    "quote values that contain commas", path=path, line=line))
            continue
        yield line, {n: f.strip() for n, f in zip(names, fields, strict=True)}


def _fail_if(problems: list[Located], what: str) -> None:
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
    text = _read_text(path, "workers")
    workers: dict[str, Worker] = {}
    emails: dict[str, int] = {}
    for line, row in _rows(path, text, WORKER_COLUMNS, WORKER_OPTIONAL, problems):
        def bad(column: str, message: str, line: int = line) -> None:
            problems.append(Located(message, path=path, line=line, key=column))

        wid = row["id"]
        if not _ID.match(wid):
            bad("id", f"{wid!r} is not a valid id (letters, digits, '-', '_', '.')")
            continue
        if wid in workers:
            bad("id", f"{wid!r} is already used on line {workers[wid].line}; ids must be unique")
            continue
        if not row["name"]:
            bad("name", "is empty; give the person's name")
        email = row["email"]
        if not _EMAIL.match(email):
            bad("email", f"{email!r} is not an email address such as dana.reyes@agency.example")
        elif email.lower() in emails:
            bad("email", f"{email!r} is already used on line {emails[email.lower()]}; hearings are "
                         "matched to staff by email, so each must be unique")
        else:
            emails[email.lower()] = line
        if not row["role"]:
            bad("role", "is empty; give a role such as caseworker, supervisor or administrator")
        collabs = tuple(dict.fromkeys(c.strip() for c in row["collaboratives"].split(";") if c.strip()))
        for cid in collabs:
            if cid not in collaborative_ids:
                bad("collaboratives", f"{cid!r} is not a [[collaborative]] id in courtsync.toml "
                                      f"(known: {_short(collaborative_ids)}); separate ids with ';'")
        workers[wid] = Worker(id=wid, name=row["name"], email=email, role=row["role"],
                              office=row["office"], supervisor_id=row["supervisor_id"] or None,
                              collaboratives=collabs, calendar=row.get("calendar") or None, line=line)
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
    _fail_if(problems, f"workers file {path}")
    return workers


def load_caseload(path: Path, workers: Collection[str], court_ids: Collection[str]) -> tuple[CaseAssignment, ...]:
    """Read caseload.csv; its workers and courts must exist."""
    problems: list[Located] = []
    text = _read_text(path, "caseload")
    out: dict[tuple[str, str, str], CaseAssignment] = {}
    for line, row in _rows(path, text, CASELOAD_COLUMNS, (), problems):
        ok = True
        if not row["case_number"]:
            problems.append(Located("is empty", path=path, line=line, key="case_number"))
            ok = False
        if row["worker_id"] not in workers:
            problems.append(Located(f"{row['worker_id']!r} is not an id in the workers file",
                                    path=path, line=line, key="worker_id"))
            ok = False
        if row["court_id"] not in court_ids:
            problems.append(Located(f"{row['court_id']!r} is not a [[court]] id in courtsync.toml "
                                    f"(known: {_short(court_ids)})", path=path, line=line, key="court_id"))
            ok = False
        if ok:
            key = (row["case_number"], row["worker_id"], row["court_id"])
            out.setdefault(key, CaseAssignment(*key, line=line))
    _fail_if(problems, f"caseload file {path}")
    return tuple(out.values())


def load_roster(workers_path: Path, caseload_path: Path | None, collaborative_ids: Collection[str],
                court_ids: Collection[str]) -> Roster:
    workers = load_workers(workers_path, collaborative_ids)
    caseload = load_caseload(caseload_path, workers, court_ids) if caseload_path else ()
    return Roster(workers=workers, caseload=caseload)


def _short(ids: Collection[str]) -> str:
    listed = sorted(ids)
    if not listed:
        return "none"
    return ", ".join(listed[:8]) + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")
