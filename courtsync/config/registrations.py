"""registrations.csv -> ranked choices per worker; every bad row is reported as file:line with its column."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from courtsync.config.roster import fail_if, read_text, rows, short
from courtsync.errors import Located, RosterError
from courtsync.models import Collaborative, Worker

REGISTRATION_COLUMNS = ("worker_id", "choice_1")
REGISTRATION_OPTIONAL = ("choice_2", "choice_3")


def load_registrations(path: Path, workers: Mapping[str, Worker],
                       collaboratives: Mapping[str, Collaborative]) -> list[tuple[str, tuple[str, ...], int]]:
    """(worker id, choices in rank order, line) per row, in file order. A row may give no choice at all (the
    person is registered and unplaced: "no choice given"); a choice may not be left empty before a later one;
    the choices of a row are collaboratives of one kind (a tier: the enrollment replaces that tier's listing)."""
    if not path.exists():
        raise RosterError(f"The registrations file {path} does not exist.",
                          hint="Give it with --registrations FILE, or set [roster] registrations in courtsync.toml. "
                               "Its header is worker_id,choice_1,choice_2,choice_3.")
    problems: list[Located] = []
    text = read_text(path, "registrations")
    known = set(collaboratives)
    seen: dict[str, int] = {}
    out: list[tuple[str, tuple[str, ...], int]] = []
    for line, (worker_id, *given) in rows(path, text, REGISTRATION_COLUMNS, REGISTRATION_OPTIONAL, problems):
        def bad(column: str, message: str, line: int = line) -> None:
            problems.append(Located(message, path=path, line=line, key=column))

        ok = True
        if not worker_id:
            bad("worker_id", "is empty; give the id of a row in workers.csv")
            continue
        if worker_id not in workers:
            bad("worker_id", f"{worker_id!r} is not an id in the workers file")
            ok = False
        elif worker_id in seen:
            bad("worker_id", f"{worker_id!r} is already registered on line {seen[worker_id]}; keep one row per "
                             "person")
            continue
        choices: list[str] = []
        gap = None
        for number, cid in enumerate(given, start=1):
            column = f"choice_{number}"
            if not cid:
                gap = gap or column
                continue
            if gap is not None:
                bad(column, f"is given while {gap} is empty; fill the choices in order, first choice first")
                ok = False
            if cid not in known:
                close = difflib.get_close_matches(cid, sorted(known), n=1)
                bad(column, f"{cid!r} is not a [[collaborative]] id in courtsync.toml "
                            + (f"(did you mean {close[0]!r}?)" if close else f"(known: {short(known)})"))
                ok = False
            elif choices and choices[0] in known and collaboratives[cid].kind != collaboratives[choices[0]].kind:
                bad(column, f"{cid!r} is of kind {collaboratives[cid].kind} but choice_1 ({choices[0]}) is of "
                            f"kind {collaboratives[choices[0]].kind}; a registration ranks collaboratives of one kind")
                ok = False
            elif cid in choices:
                bad(column, f"{cid!r} is already choice_{choices.index(cid) + 1}; give each collaborative once "
                            "(leave the column empty for fewer choices)")
                ok = False
            choices.append(cid)
        if ok:
            seen[worker_id] = line
            out.append((worker_id, tuple(choices), line))
    problems.sort(key=lambda p: p.line or 0)
    fail_if(problems, f"registrations file {path}")
    return out
