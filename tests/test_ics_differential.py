"""The fast path for plain events reads exactly what the careful (icalendar) reader reads."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from courtsync.calendars import ics as ics_module
from courtsync.calendars.base import Reading
from courtsync.models import BusyItem
from tests.calendar_helpers import CALENDARS, read_bytes

CORPUS = sorted(p for p in CALENDARS.rglob("*.ics") if p.name not in ("empty.ics", "html_login.ics",
                                                                        "truncated.ics"))


def generated_feed(seed: int) -> bytes:
    """Plain events of every shape the fast path accepts, with awkward values."""
    rng = random.Random(seed)
    zones = ["America/Chicago", "Central Standard Time", '"Eastern Standard Time"', "UTC", "Europe/Berlin",
             "/citadel.org/20190101_1/America/New_York"]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    base = datetime(2027, 1, 1, 0, 0)
    for n in range(300):
        start = base + timedelta(days=rng.randrange(0, 700), minutes=15 * rng.randrange(0, 96))
        shape = rng.choice(["tz", "utc", "floating", "date", "duration", "noend", "outlook"])
        lines += ["BEGIN:VEVENT", f"UID:gen-{seed}-{n}", "DTSTAMP:20261101T000000Z"]
        if shape == "date":
            lines.append(f"DTSTART;VALUE=DATE:{start:%Y%m%d}")
            if rng.random() < 0.7:
                lines.append(f"DTEND;VALUE=DATE:{start + timedelta(days=rng.choice([0, 1, 3])):%Y%m%d}")
        elif shape == "utc":
            lines += [f"DTSTART:{start:%Y%m%dT%H%M%S}Z", f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%S}Z"]
        elif shape == "floating":
            lines += [f"DTSTART:{start:%Y%m%dT%H%M%S}", f"DTEND:{start + timedelta(minutes=45):%Y%m%dT%H%M%S}"]
        elif shape == "outlook":
            day = start.replace(hour=0, minute=0)
            lines += [f"DTSTART;TZID=America/Chicago:{day:%Y%m%dT%H%M%S}",
                      f"DTEND;TZID=America/Chicago:{day + timedelta(days=1):%Y%m%dT%H%M%S}",
                      "X-MICROSOFT-CDO-ALLDAYEVENT:TRUE"]
        else:
            zone = rng.choice(zones)
            lines.append(f"DTSTART;TZID={zone}:{start:%Y%m%dT%H%M%S}")
            if shape == "tz":
                lines.append(f"DTEND;TZID={zone}:{start + timedelta(minutes=rng.choice([15, 60, 150])):%Y%m%dT%H%M%S}")
            elif shape == "duration":
                lines.append(f"DURATION:{rng.choice(['PT1H', 'PT24H', 'P1D', 'PT90M', 'P1DT2H', 'PT0S'])}")
        status = rng.choice(["", "STATUS:CANCELLED", "STATUS:TENTATIVE", "TRANSP:TRANSPARENT",
                             "X-MICROSOFT-CDO-BUSYSTATUS:OOF", "CLASS:PRIVATE"])
        if status:
            lines.append(status)
        lines += [f"SUMMARY:2027-JA-{n:06d} Hearing\\, room 3\\; Judge Pe\u00f1a\\nsecond line",
                  "LOCATION:Courtroom 3\\, 2nd floor",
                  'ATTENDEE;CN="Doe, Jane";ROLE=REQ-PARTICIPANT:mailto:Jane.Doe@Agency.Example', "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def readings(data: bytes, kind: str, monkeypatch: pytest.MonkeyPatch, fast: bool) -> dict[str, list[BusyItem]]:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(ics_module, "read_plain", lambda block, reader: None)
            m.setattr(ics_module, "read_plain_chunk", lambda raw, number, reader: None)
        snap = read_bytes(data, kind=kind)  # type: ignore[arg-type]
    return {k: sorted(g.items, key=lambda i: i.start.timestamp()) for k, g in snap.groups.items()}


def comparable(items: list[BusyItem]) -> list[tuple[object, ...]]:
    return [(i.uid, i.start.timestamp(), i.end.timestamp() if i.end else None, i.all_day, i.status, i.busy,
             i.summary, i.location, i.case_numbers, i.attendees, sorted(i.flags), i.private) for i in items]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_fixture_calendars_read_the_same_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kind = "personal" if path.parent.name == "personal" else "court"
    fast = readings(path.read_bytes(), kind, monkeypatch, fast=True)
    full = readings(path.read_bytes(), kind, monkeypatch, fast=False)
    assert {k: comparable(v) for k, v in fast.items()} == {k: comparable(v) for k, v in full.items()}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["court", "personal"])
def test_generated_plain_events_read_the_same_both_ways(seed: int, kind: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = generated_feed(seed)
    fast = readings(data, kind, monkeypatch, fast=True)
    full = readings(data, kind, monkeypatch, fast=False)
    assert len(fast) == 300
    mismatched = [k for k in fast if comparable(fast[k]) != comparable(full.get(k, []))]
    assert not mismatched, (mismatched[:3], [comparable(fast[k]) for k in mismatched[:1]],
                            [comparable(full.get(k, [])) for k in mismatched[:1]])


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_quick_scan_and_full_structure_read_the_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The byte-level scan (used for speed) and the line-by-line structure reader agree, problems included."""
    data = path.read_bytes()
    quick = read_bytes(data)
    with monkeypatch.context() as m:
        m.setattr(ics_module, "scan", lambda *a: None)
        full = read_bytes(data)
    assert grouped(quick) == grouped(full)


def grouped(reading: Reading) -> list[tuple[object, ...]]:
    """Each group's items and problems, by UID (an event without one is keyed by its content, differently by
    the two readers: those are compared by what they hold)."""
    return sorted((k if not k.startswith("(no UID") else "(no UID)",
                   comparable(sorted(g.items, key=lambda i: i.start.timestamp())),
                   sorted((p.location, p.reason) for p in g.problems)) for k, g in reading.groups.items())


def test_the_fast_paths_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the differential tests above: they only mean something if the fast path really runs."""
    calls: list[int] = []
    real = ics_module.read_plain_chunk
    monkeypatch.setattr(ics_module, "read_plain_chunk", lambda *a: calls.append(1) or real(*a))
    read_bytes(generated_feed(0))
    assert len(calls) == 300
