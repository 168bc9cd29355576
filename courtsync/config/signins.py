"""Sign-in exports (attendance.csv: date,collaborative_id,worker_id,hours) -> the rows to record, and each bad row
as file:line with its column. Unlike the roster, a bad row does not stop the file: the rest is imported."""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from courtsync.config.roster import read_text, rows, short
from courtsync.errors import Located
from courtsync.models import Collaborative, Session

SIGNIN_COLUMNS = ("date", "collaborative_id", "worker_id")
SIGNIN_OPTIONAL = ("hours",)
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)$")
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


def _day(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_hours(text: str) -> float | None:
    """'3', '2.5' or '2:30' -> hours; None when it is none of these."""
    clock = _CLOCK.match(text)
    if clock:
        return int(clock[1]) + int(clock[2]) / 60
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def load_signins(path: Path, workers: Container[str], collaboratives: Mapping[str, Collaborative],
                 sessions: Mapping[str, Sequence[Session]]) -> tuple[str, list[tuple[str, str, str, float, int]],
                                                                     list[Located]]:
    """(the file's text, the good rows as (worker, collaborative, ISO day, hours, line), the problems). An empty
    `hours` is the whole session."""
    text = read_text(path, "sign-in")
    problems: list[Located] = []
    seen: dict[tuple[str, str, date], int] = {}
    out: list[tuple[str, str, str, float, int]] = []
    by_day = {cid: {s.day: s for s in sessions[cid] if s.active} for cid in collaboratives}
    for line, (day_text, cid, worker_id, hours_text) in rows(path, text, SIGNIN_COLUMNS, SIGNIN_OPTIONAL,
                                                             problems):
        def bad(column: str, message: str, line: int = line) -> None:
            problems.append(Located(message, path=path, line=line, key=column))

        day = _day(day_text)
        if day is None:
            bad("date", f"{day_text!r} is not a date; write it as YYYY-MM-DD (or MM/DD/YYYY)")
            continue
        if cid not in collaboratives:
            close = difflib.get_close_matches(cid, sorted(collaboratives), n=1)
            hint = f"(did you mean {close[0]!r}?)" if close else f"(known: {short(collaboratives)})"
            bad("collaborative_id", f"{cid!r} is not a [[collaborative]] id in courtsync.toml {hint}")
            continue
        if not worker_id or worker_id not in workers:
            bad("worker_id", f"{worker_id!r} is not an id in the workers file" if worker_id else
                "is empty; give the id of a row in workers.csv")
            continue
        session = by_day[cid].get(day)
        if session is None:
            near = sorted(by_day[cid], key=lambda d: abs((d - day).days))[:1]
            bad("date", f"{day} is not a session of {cid}"
                + (f" (its nearest is {near[0]})" if near else " (it has no sessions)")
                + "; check the date, or the collaborative's schedule in courtsync.toml")
            continue
        length = (session.end - session.start).total_seconds() / 3600
        hours = parse_hours(hours_text) if hours_text else length
        if hours is None or hours <= 0:
            bad("hours", f"{hours_text!r} is not a number of hours above 0; write it as 3, 2.5 or 2:30 (leave it "
                         "empty for the whole session)")
            continue
        if hours > length + 0.01:
            bad("hours", f"{hours_text} hours is longer than the session ({length:g} hours, "
                         f"{session.start:%H:%M}-{session.end:%H:%M}); give the hours attended")
            continue
        key = (worker_id, cid, day)
        if key in seen:
            bad("worker_id", f"{worker_id} at {cid} on {day} is already on line {seen[key]}; keep one row per "
                             "person and session")
            continue
        seen[key] = line
        out.append((worker_id, cid, day.isoformat(), round(hours, 4), line))
    return text, out, problems
