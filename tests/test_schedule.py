"""The schedule rule of product.md: ordinal weekdays, 5th -> last, overrides, DST, holidays."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from courtsync.core.schedule import CourtHolidays, ScheduleError, ordinal, rule_dates, sessions
from courtsync.models import Collaborative, Move, Rule

CHICAGO = ZoneInfo("America/Chicago")
NO_HOLIDAYS = CourtHolidays(False)


def collab(rule: Rule | None = None, **kw: object) -> Collaborative:
    base: dict[str, object] = dict(id="c", name="C", kind="training-center", start=time(9), end=time(16),
                                   rule=rule)
    base.update(kw)
    return Collaborative(**base)  # type: ignore[arg-type]


def days(c: Collaborative, holidays: CourtHolidays = NO_HOLIDAYS, active_only: bool = True) -> list[str]:
    return [s.day.isoformat() for s in sessions(c, CHICAGO, holidays) if s.active or not active_only]


def test_third_wednesday_every_other_month_matches_product_md() -> None:
    got = rule_dates(Rule(date(2027, 4, 21), every=2, until=date(2028, 6, 30)))
    assert [d.isoformat() for d in got] == [
        "2027-04-21", "2027-06-16", "2027-08-18", "2027-10-20", "2027-12-15",
        "2028-02-16", "2028-04-19", "2028-06-21"]


def test_until_is_inclusive() -> None:
    got = rule_dates(Rule(date(2027, 4, 21), every=2, until=date(2027, 6, 16)))
    assert got[-1] == date(2027, 6, 16)
    assert len(rule_dates(Rule(date(2027, 4, 21), every=2, until=date(2027, 6, 15)))) == 1


def test_count_counts_rule_dates() -> None:
    assert len(rule_dates(Rule(date(2027, 4, 21), every=2, count=6))) == 6


def test_fifth_friday_repeats_on_last_friday() -> None:
    # 2027-01-29 is the 5th Friday of January; February 2027 has only four Fridays.
    assert ordinal(date(2027, 1, 29)) == 5
    got = rule_dates(Rule(date(2027, 1, 29), every=1, count=4))
    assert [d.isoformat() for d in got] == ["2027-01-29", "2027-02-26", "2027-03-26", "2027-04-30"]


def test_month_end_first_session_on_the_31st() -> None:
    # 2027-03-31 is the 5th Wednesday of March: the last Wednesday of each later month.
    got = rule_dates(Rule(date(2027, 3, 31), every=1, count=3))
    assert [d.isoformat() for d in got] == ["2027-03-31", "2027-04-28", "2027-05-26"]


def test_leap_year_fifth_tuesday_of_february() -> None:
    # 2028-02-29 exists (leap year) and is the 5th Tuesday of February 2028.
    got = rule_dates(Rule(date(2028, 2, 29), every=12, count=3))
    assert [d.isoformat() for d in got] == ["2028-02-29", "2029-02-27", "2030-02-26"]


def test_fourth_weekday_is_not_treated_as_last() -> None:
    # 2027-02-24 is the 4th Wednesday; March 2027 has five Wednesdays, the 4th is the 24th.
    got = rule_dates(Rule(date(2027, 2, 24), every=1, count=2))
    assert got == [date(2027, 2, 24), date(2027, 3, 24)]


def test_every_counts_months_from_first_session() -> None:
    got = rule_dates(Rule(date(2027, 11, 17), every=3, count=3))
    assert got == [date(2027, 11, 17), date(2028, 2, 16), date(2028, 5, 17)]


def test_cancelled_added_moved_apply() -> None:
    c = collab(Rule(date(2027, 4, 21), every=2, until=date(2028, 6, 30)),
               cancelled=(date(2027, 8, 18),), added=(date(2027, 9, 1),),
               moved=(Move(date(2027, 10, 20), date(2027, 10, 27)),))
    assert days(c) == ["2027-04-21", "2027-06-16", "2027-09-01", "2027-10-27", "2027-12-15",
                       "2028-02-16", "2028-04-19", "2028-06-21"]
    every = {s.day: s for s in sessions(c, CHICAGO, NO_HOLIDAYS)}
    assert every[date(2027, 8, 18)].status == "cancelled"
    moved = every[date(2027, 10, 27)]
    assert moved.moved_from == date(2027, 10, 20) and moved.origin == "moved"
    # A moved session keeps the identity of the date it was moved from.
    assert moved.uid == "c-20271020@courtsync"
    assert every[date(2027, 9, 1)].origin == "added"


def test_count_is_taken_before_overrides() -> None:
    c = collab(Rule(date(2027, 4, 21), every=2, count=3), cancelled=(date(2027, 6, 16),))
    assert days(c) == ["2027-04-21", "2027-08-18"]


def test_explicit_dates_instead_of_rule() -> None:
    c = collab(None, dates=(date(2027, 9, 8), date(2027, 3, 3)))
    assert days(c) == ["2027-03-03", "2027-09-08"]
    assert all(s.origin == "dates" for s in sessions(c, CHICAGO, NO_HOLIDAYS))


@pytest.mark.parametrize(("kw", "key"), [
    ({"cancelled": (date(2027, 8, 19),)}, "cancelled"),
    ({"moved": (Move(date(2027, 8, 19), date(2027, 8, 26)),)}, "moved"),
    ({"moved": (Move(date(2027, 8, 18), date(2027, 10, 20)),)}, "moved"),
    ({"added": (date(2027, 6, 16),)}, "added"),
    ({"cancelled": (date(2027, 6, 16),), "moved": (Move(date(2027, 6, 16), date(2027, 6, 23)),)}, "moved"),
])
def test_overrides_that_do_not_fit_are_errors(kw: dict[str, object], key: str) -> None:
    with pytest.raises(ScheduleError) as info:
        sessions(collab(Rule(date(2027, 4, 21), every=2, count=6), **kw), CHICAGO, NO_HOLIDAYS)
    assert info.value.key == key


def test_sessions_keep_wall_time_across_dst() -> None:
    # DST starts 2027-03-14 and ends 2027-11-07 in Chicago.
    c = collab(Rule(date(2027, 3, 10), every=1, count=9))
    got = {s.day: s for s in sessions(c, CHICAGO, NO_HOLIDAYS)}
    before, after = got[date(2027, 3, 10)], got[date(2027, 4, 14)]
    autumn = got[date(2027, 11, 10)]
    assert before.start.isoformat() == "2027-03-10T09:00:00-06:00"
    assert after.start.isoformat() == "2027-04-14T09:00:00-05:00"
    assert autumn.start.isoformat() == "2027-11-10T09:00:00-06:00"
    assert all(s.start.hour == 9 and s.end.hour == 16 for s in got.values())
    assert (after.end - after.start).total_seconds() == 7 * 3600


def test_session_in_the_dst_week_itself() -> None:
    # Sunday 2027-03-14 is the change day: an (odd) Sunday session still starts at 09:00 CDT.
    c = collab(None, dates=(date(2027, 3, 14), date(2027, 11, 7)))
    s1, s2 = sessions(c, CHICAGO, NO_HOLIDAYS)
    assert s1.start.utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]
    assert s2.start.utcoffset().total_seconds() == -6 * 3600  # type: ignore[union-attr]
    assert (s1.end - s1.start).total_seconds() == 7 * 3600


def test_illinois_court_holidays_are_flagged_not_moved() -> None:
    il = CourtHolidays("US-IL")
    # Lincoln's Birthday 2027-02-12 (Friday) and Casimir Pulaski Day 2027-03-01 (first Monday).
    c = collab(None, dates=(date(2027, 2, 12), date(2027, 3, 1), date(2027, 3, 2)))
    got = sessions(c, CHICAGO, il)
    assert [s.day for s in got] == [date(2027, 2, 12), date(2027, 3, 1), date(2027, 3, 2)]
    assert got[0].holiday == "Lincoln's Birthday"
    assert got[1].holiday == "Casimir Pulaski Day"
    assert got[2].holiday is None


def test_observed_holidays_count() -> None:
    il = CourtHolidays("US-IL")
    assert il(date(2027, 12, 31)) == "New Year's Day (observed)"
    assert not il.is_business_day(date(2027, 12, 31))
    assert il.is_business_day(date(2027, 12, 30))


def test_holidays_from_a_list_and_none() -> None:
    listed = CourtHolidays([date(2027, 6, 16)])
    assert listed(date(2027, 6, 16)) == "Court holiday"
    assert listed(date(2027, 7, 5)) is None  # a list replaces the national calendar entirely
    assert NO_HOLIDAYS(date(2027, 12, 25)) is None
