"""Differential test over the real-world calendars shipped inside icalendar and recurring-ical-events.

They are read from site-packages at test time (never copied: recurring-ical-events is LGPL). For
each file courtsync must not crash; it may refuse only fragments and files cut off before their
last END:VCALENDAR; and wherever the libraries produce occurrences, courtsync must produce the
same ones, except in the places listed in KNOWN_DIFFERENCES, each with the reason courtsync's
answer is the one a careful reader would give.
"""

from __future__ import annotations

import importlib.resources
import os
import warnings
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from courtsync.calendars.base import Window
from courtsync.calendars.ics import read_ics
from courtsync.errors import SourceError

CHI = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")
WINDOW = Window(datetime(2015, 1, 1, tzinfo=CHI), datetime(2030, 1, 1, tzinfo=CHI), CHI)

KNOWN_DIFFERENCES = {
    "issue_128_only_first_event.ics": "COUNT=-1 marks a deleted series (Confluence): not busy, reported (policy)",
    "issue_201_mixed_datetime_and_date.ics": "a DATE start with a DATE-TIME end is read as whole local days",
}


def corpus() -> list[Path]:
    files: list[Path] = []
    for package, folder in (("recurring_ical_events", "test/calendars"), ("icalendar", "tests")):
        try:
            root = Path(str(importlib.resources.files(package))) / folder
        except ModuleNotFoundError:
            continue
        for dirpath, _, names in os.walk(root):
            files += [Path(dirpath) / n for n in names if n.endswith(".ics")]
    return sorted(files)


FILES = corpus()


def key(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=CHI)).astimezone(UTC).isoformat()
    return value.isoformat()


def library_reading(data: bytes) -> set[tuple[str, str]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = []
            for cal in icalendar.Calendar.from_ical(data, multiple=True):
                found += list(recurring_ical_events.of(cal, components=["VEVENT"]).between(WINDOW.start, WINDOW.end))
    except Exception:
        return None  # the libraries cannot read it at all; courtsync reading anything is a gain
    return {(str(c.get("UID", "")), key(c.start)) for c in found if c.get("DTSTART") is not None}


def test_the_corpus_is_there() -> None:
    if not FILES:
        pytest.skip("the libraries' test calendars are not installed")
    assert len(FILES) > 200


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_world_calendar(path: Path) -> None:
    data = path.read_bytes()
    try:
        snap = read_ics(data, source="corpus", name=path.name, kind="court", window=WINDOW, case_pattern=None)
    except SourceError:
        text = data.strip().upper()
        fragment = not text.lstrip(b"\xef\xbb\xbf").startswith(b"BEGIN:VCALENDAR")
        assert fragment or not text.endswith(b"END:VCALENDAR"), "refused a complete calendar"
        return
    problems = [p for g in snap.groups.values() for p in (g.problems or [])] + snap.problems
    assert not [p for p in problems if "internal error" in p.reason]
    assert all(p.location.startswith(f"{path.name}:") for p in problems)
    items = [i for g in snap.groups.values() for i in (g.items or [])
             if i.start < WINDOW.end and (i.end or i.start) >= WINDOW.start]
    ours = {(i.uid, i.start.date().isoformat() if i.all_day else key(i.start)) for i in items}
    theirs = library_reading(data)
    if theirs is None:
        return
    if path.name in KNOWN_DIFFERENCES:
        assert ours != theirs, f"{path.name} now agrees with the libraries: drop it from KNOWN_DIFFERENCES"
        return
    assert ours == theirs
