"""Checks of one VEVENT's lines before icalendar reads them: what the libraries would turn into a lost file,
a lost event or a crash later (no DTSTART, two of them, unreadable parameters, dates out of range)."""

from __future__ import annotations

import re

from courtsync.calendars.ics_events import FIRST_YEAR, LAST_YEAR, Reader, year_of
from courtsync.calendars.ics_text import PARAMS, Block, Line
from courtsync.models import Problem

DATE_PROPS = {"DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"}
_UNTIL = re.compile(r"(;?)UNTIL=(\d{4})[^;]*", re.I)


def line_of(block: Block, name: str) -> int:
    return next((line.number for line in block.lines if line.name == name), block.number)


def prevalidate(block: Block, reader: Reader, problems: list[Problem]) -> bool:
    """Faults the libraries would turn into a lost file or a silent wrong answer."""
    if not _lines_ok(block, reader, problems):
        return False
    _once(block, reader, problems)
    names = [line.name for line in block.lines]
    if "DTSTART" not in names:
        problems.append(reader.problem(block.number, "event has no DTSTART; it cannot be placed in time "
                                                     "(the rest of the file is still read)"))
        return False
    if "DTEND" in names and "DURATION" in names:
        # Read it by DTEND rather than lose it (or, for a moved instance, fall back to the old time).
        problems.append(reader.problem(line_of(block, "DURATION"),
                                       "event has both DTEND and DURATION (RFC 5545 allows one); DURATION ignored"))
        block.lines = [line for line in block.lines if line.name != "DURATION"]
    if names.count("DTSTART") > 1:
        problems.append(reader.problem(line_of(block, "DTSTART"), "event has two DTSTART lines; event skipped"))
        return False
    return True


def _lines_ok(block: Block, reader: Reader, problems: list[Problem]) -> bool:
    """Lines the libraries cannot take: unreadable parameters (the line is dropped), dates outside
    FIRST_YEAR..LAST_YEAR (the event is skipped; in an EXDATE or RDATE the line is dropped)."""
    kept: list[Line] = []
    for line in block.lines:
        if line.name not in ("BEGIN", "END") and not PARAMS.fullmatch(line.params):
            problems.append(reader.problem(line.number, f"{line.name} has parameters that cannot be read; "
                                                        "line ignored, the event kept"))
            continue
        if line.name in DATE_PROPS:
            years = [year_of(v) for v in line.value.split(",")]
            bad = next((y for y in years if y is not None and not FIRST_YEAR <= y <= LAST_YEAR), None)
            if bad is not None:
                where = f"{line.name} in year {bad} is outside {FIRST_YEAR}–{LAST_YEAR}"
                if line.name in ("EXDATE", "RDATE"):
                    problems.append(reader.problem(line.number, f"{where}; line ignored"))
                    continue
                problems.append(reader.problem(line.number, f"{where}; event skipped (ask the court to correct it)"))
                return False
        if line.name == "DURATION" and _too_long(line.value):
            problems.append(reader.problem(line.number, f"DURATION {line.value.strip()[:40]} is longer than "
                                                        f"{LAST_YEAR - FIRST_YEAR} years; event skipped"))
            return False
        if line.name == "RRULE" and "UNTIL=" in line.value.upper():
            line = _until_in_range(line)
        kept.append(line)
    block.lines = kept
    return True


_SPAN = re.compile(r"(\d+)([WDHMS])")
_UNIT_DAYS = {"W": 7.0, "D": 1.0, "H": 1 / 24, "M": 1 / 1440, "S": 1 / 86400}


def _too_long(value: str) -> bool:
    days = sum(int(n) * _UNIT_DAYS[u] for n, u in _SPAN.findall(value.upper()[:200]))
    return days > 366 * (LAST_YEAR - FIRST_YEAR)


def _until_in_range(line: Line) -> Line:
    """An UNTIL after LAST_YEAR ('forever', 99991231) is no end: the window bounds the series anyway, and
    converting it between zones would overflow."""
    m = _UNTIL.search(line.value)
    if m is None or int(m.group(2)) <= LAST_YEAR:
        return line
    value = (line.value[:m.start()] + line.value[m.end():]).strip(";")
    return Line(line.number, line.name, line.params, value, f"{line.name}{line.params}:{value}")


# Properties a VEVENT holds at most once (RFC 5545 3.6.1); icalendar turns a second one into a list, which
# every reader of the value would trip on. DTSTART twice with different values is refused by prevalidate.
_ONCE = {"DTEND", "DURATION", "RECURRENCE-ID", "UID", "SEQUENCE", "DTSTAMP", "STATUS", "TRANSP", "CLASS",
         "SUMMARY", "LOCATION", "DESCRIPTION", "CREATED", "LAST-MODIFIED", "PRIORITY", "ORGANIZER", "URL",
         "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-ALLDAYEVENT"}


def _once(block: Block, reader: Reader, problems: list[Problem]) -> None:
    """A property of the event itself (not of a VALARM in it) given again: the first is read, the others are
    reported and dropped. A DTSTART repeated word for word is read once too."""
    seen: dict[str, str] = {}
    kept: list[Line] = []
    depth = 0
    for line in block.lines:
        if line.name in ("BEGIN", "END"):
            depth += 1 if line.name == "BEGIN" else -1
        elif depth == 1 and (line.name in _ONCE or line.name == "DTSTART" and seen.get("DTSTART") == line.raw):
            if line.name in seen:
                problems.append(reader.problem(line.number, f"{line.name} appears again; the first one is read"))
                continue
            seen[line.name] = line.raw
        elif depth == 1 and line.name == "DTSTART":
            seen.setdefault("DTSTART", line.raw)
        kept.append(line)
    block.lines = kept
