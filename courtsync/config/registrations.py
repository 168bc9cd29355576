"""registrations.csv -> ranked choices per worker; every bad row is reported as file:line with its column."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from courtsync.config.roster import fail_if, read_text, rows, short
from courtsync.errors import Located, RosterError
from courtsync.models import Worker

REGISTRATION_COLUMNS = ("worker_id", "choice_1")
REGISTRATION_OPTIONAL = ("choice_2", "choice_3")


def load_registrations(path: Path, workers: Mapping[str, Worker],
                       collaborative_ids: Collection[str]) -> list[tuple[str, tuple[str, ...], int]]:
    """(worker id, choices in rank order, line) per row, in file order. A row may give no choice at all (the
    person is registered and unplaced: "no choice given"); a choice may not be left empty before a later one."""
    if not path.exists():
        raise RosterError(f"The registrations file {path} does not exist.",
                          hint="Give it with --registrations FILE, or set [roster] registrations in courtsync.toml. "
                               "Its header is worker_id,choice_1,choice_2,choice_3.")
    problems: list[Located] = []
    text = read_text(path, "registrations")
    known = set(collaborative_ids)
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
                             "person (the later one replaces nothing)")
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
                bad(column, f"{cid!r} is not a [[collaborative]] id in courtsync.toml (known: {short(known)})")
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
