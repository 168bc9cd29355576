"""Half-open overlap, travel buffers and instants, independent of zones."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from courtsync.core.conflicts import classify
from courtsync.models import Session

CHI = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")
SESSION = Session("c", "u", datetime(2027, 6, 16).date(), datetime(2027, 6, 16, 9, tzinfo=CHI),
                  datetime(2027, 6, 16, 16, tzinfo=CHI))
HOUR = timedelta(hours=1)


def at(h: int, m: int = 0) -> datetime:
    return datetime(2027, 6, 16, h, m, tzinfo=CHI)


@pytest.mark.parametrize(("start", "end", "expected"), [
    (at(8), at(9), "buffer"),           # ends exactly at the start: no overlap, inside the buffer
    (at(7), at(8), None),               # ends exactly where the buffer starts
    (at(8, 59), at(9, 1), "overlap"),
    (at(15, 59), at(17), "overlap"),
    (at(16), at(16, 30), "buffer"),     # starts exactly at the end
    (at(17), at(18), None),             # starts exactly where the buffer ends
    (at(6), at(20), "overlap"),         # contains the session
    (at(10), at(11), "overlap"),        # inside the session
])
def test_intervals(start: datetime, end: datetime, expected: str | None) -> None:
    assert classify(SESSION, start, end, HOUR) == expected


def test_no_buffer_means_only_overlap() -> None:
    assert classify(SESSION, at(16), at(17), timedelta(0)) is None


@pytest.mark.parametrize(("t", "expected"), [
    (at(9), "overlap"), (at(15, 59), "overlap"), (at(16), "buffer"), (at(8), "buffer"),
    (at(17), None), (at(7, 59), None),
])
def test_instants(t: datetime, expected: str | None) -> None:
    assert classify(SESSION, t, None, HOUR) == expected


def test_zones_compare_as_instants() -> None:
    # 14:30 UTC is 09:30 CDT: inside the session.
    assert classify(SESSION, datetime(2027, 6, 16, 14, 30, tzinfo=UTC),
                    datetime(2027, 6, 16, 15, tzinfo=UTC), HOUR) == "overlap"
    # 21:00 UTC is 16:00 CDT: the first instant after the session.
    assert classify(SESSION, datetime(2027, 6, 16, 21, tzinfo=UTC), None, timedelta(0)) is None


def test_repeated_hour_after_dst_ends_compares_as_instants() -> None:
    """Python compares two datetimes of one zone by wall clock; 01:30 CST (fold=1) is after 01:45 CDT."""
    night = Session("c", "u", datetime(2027, 11, 7).date(), datetime(2027, 11, 7, 1, 40, tzinfo=CHI),
                    datetime(2027, 11, 7, 1, 50, tzinfo=CHI))  # 01:40-01:50 CDT, the first pass
    second_pass = datetime(2027, 11, 7, 1, 30, fold=1, tzinfo=CHI)  # 01:30 CST = 07:30 UTC
    assert classify(night, second_pass, second_pass + timedelta(minutes=30), timedelta(0)) is None
    first_pass = datetime(2027, 11, 7, 1, 30, tzinfo=CHI)
    assert classify(night, first_pass, first_pass + timedelta(minutes=15), timedelta(0)) == "overlap"
