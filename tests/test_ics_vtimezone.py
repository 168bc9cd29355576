"""The rule-based VTIMEZONE agrees with the zone database in every parser, in zones with ordinary, southern,
negative (Europe/Dublin), irregular (Africa/Casablanca, America/Santiago) or no daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from courtsync.models import PublishedEvent
from courtsync.notices.ics_out import calendar_ics
from courtsync.notices.vtimezone import vtimezone
from tests.test_ics_parsers import icaljs

ZONES = ["America/Chicago", "America/New_York", "Europe/Berlin", "Europe/Dublin", "Australia/Sydney",
         "America/Phoenix", "UTC", "Asia/Kolkata", "Africa/Casablanca", "America/Santiago", "Pacific/Chatham"]
FIRST, LAST = 2027, 2029


def wrapped(zone: ZoneInfo) -> bytes:
    return (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//courtsync tests//EN\r\n"
            + vtimezone(zone, FIRST, LAST).to_ical() + b"END:VCALENDAR\r\n")


def samples(zone: ZoneInfo) -> list[datetime]:
    """Every hour within two days of each offset change (as the zone database has them), and noon UTC daily."""
    start = datetime(FIRST, 1, 1, tzinfo=UTC)
    every = [start + timedelta(hours=h) for h in range((LAST - FIRST + 1) * 366 * 24)]
    changes = [i for i in range(1, len(every)) if every[i].astimezone(zone).utcoffset()
               != every[i - 1].astimezone(zone).utcoffset()]
    near = {j for i in changes for j in range(max(0, i - 48), min(len(every), i + 48))}
    return [t for i, t in enumerate(every) if i in near or i % 24 == 12]


@pytest.mark.parametrize("name", ZONES)
def test_vtimezone_agrees_with_the_zone_database(name: str) -> None:
    zone = ZoneInfo(name)
    raw = wrapped(zone)
    from_icalendar = Calendar.from_ical(raw).walk("VTIMEZONE")[0].to_tz()
    from_vobject = vobject.readOne(raw.decode(), validate=True).vtimezone.gettzinfo()
    moments = samples(zone)
    for parsed in (from_icalendar, from_vobject):
        wrong = [t for t in moments if t.astimezone(parsed).utcoffset() != t.astimezone(zone).utcoffset()]
        assert wrong == [], f"{name}: {len(wrong)} hour(s) off, first {wrong[0].isoformat()}"


def test_an_ordinary_zone_is_two_yearly_rules() -> None:
    for name, daylight, standard in (("America/Chicago", "2SU", "1SU"), ("Europe/Berlin", "-1SU", "-1SU"),
                                     ("Europe/Dublin", "-1SU", "-1SU")):
        (std,), (dst,) = ([c for c in Calendar.from_ical(wrapped(ZoneInfo(name))).walk(kind)]
                          for kind in ("STANDARD", "DAYLIGHT"))
        assert dst["RRULE"]["BYDAY"] == [daylight] and std["RRULE"]["BYDAY"] == [standard], name
        assert dst["TZOFFSETTO"].td > dst["TZOFFSETFROM"].td, f"{name}: DAYLIGHT is the later clock"


def test_icaljs_agrees_with_the_zone_database(tmp_path: Path) -> None:
    """09:00 on the 1st and 15th of every month, in every zone, read by ical.js at the right instant."""
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    events, want = [], {}
    for name in ZONES:
        zone = ZoneInfo(name)
        for year in range(FIRST, LAST + 1):
            for month in range(1, 13):
                for day in (1, 15):
                    start = datetime.combine(date(year, month, day), time(9), tzinfo=zone)
                    uid = f"{name}-{start:%Y%m%d}@test"
                    events.append(PublishedEvent(uid=uid, start=start, end=start + timedelta(hours=7),
                                                 cancelled=False, summary="s", location="", description="",
                                                 stamp=stamp))
                    want[uid] = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    (tmp_path / "zones.ics").write_bytes(calendar_ics(events, "zones", "all"))
    got = {uid: e["start"] for uid, e in icaljs(tmp_path / "zones.ics").items()}
    wrong = sorted(uid for uid in want if got.get(uid) != want[uid])
    assert wrong == [], f"{len(wrong)} wrong, e.g. {wrong[:3]}: {[got.get(u) for u in wrong[:3]]}"
