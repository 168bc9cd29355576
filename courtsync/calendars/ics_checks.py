"""Checks of one VEVENT's lines before icalendar reads them: what the libraries would turn into a lost file,
a lost event or a crash later (no DTSTART, two of them, unreadable parameters, dates out of range)."""

from __future__ import annotations

import re

from courtsync.calendars.ics_events import FIRST_YEAR, LAST_YEAR, Reader, year_of
from courtsync.calendars.ics_text import Block, Line
from courtsync.models import Problem

DATE_PROPS = {"DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"}
# Parameters as RFC 5545 3.2 writes them (possessive: linear on any line). icalendar fails a whole event on
# a parameter without '=' ('X-A;b;c:v'), so such a line is dropped before it gets there.
_PARAMS = re.compile(r'(?:;[A-Za-z0-9_-]++=(?:"[^"]*+"|[^";:,]*+)(?:,(?:"[^"]*+"|[^";:,]*+))*+)*+')
_UNTIL = re.compile(r"(;?)UNTIL=(\d{4})[^;]*", re.I)


def line_of(block: Block, name: str) -> int:
    return next((line.number for line in block.lines if line.name == name), block.number)


def prevalidate(block: Block, reader: Reader, problems: list[Problem]) -> bool:
    """Faults the libraries would turn into a lost file or a silent wrong answer."""
    if not _lines_ok(block, reader, problems):
        return False
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
        if line.name not in ("BEGIN", "END") and not _PARAMS.fullmatch(line.params):
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
        if line.name == "RRULE" and "UNTIL=" in line.value.upper():
            line = _until_in_range(line)
        kept.append(line)
    block.lines = kept
    return True


def _until_in_range(line: Line) -> Line:
    """An UNTIL after LAST_YEAR ('forever', 99991231) is no end: the window bounds the series anyway, and
    converting it between zones would overflow."""
    m = _UNTIL.search(line.value)
    if m is None or int(m.group(2)) <= LAST_YEAR:
        return line
    value = (line.value[:m.start()] + line.value[m.end():]).strip(";")
    return Line(line.number, line.name, line.params, value, f"{line.name}{line.params}:{value}")
