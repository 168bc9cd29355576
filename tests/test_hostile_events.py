"""One bad event is one problem, never more (issue 11): each fault in one event of a feed is a problem with
that event's file:line, every other event of the feed is still read, on a first read and on a re-read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from courtsync.calendars.base import Reading
from courtsync.calendars.ics import read_ics
from courtsync.calendars.ics_series import series_cap
from courtsync.models import BusyItem, Problem
from courtsync.store.sqlite import Store
from tests.calendar_helpers import CHICAGO, WINDOW, by_uid, read_bytes, store_state, synced, within
from tests.conftest import AS_OF, Run
from tests.store_sql import store_sql

GOOD = ("good-1", "good-2", "good-3", "good-4")


def event(uid: str, *extra: str, start: str = "20270616T090000", end: str | None = "20270616T100000",
          tz: str = "TZID=America/Chicago") -> str:
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T120000Z", f"DTSTART;{tz}:{start}"]
    if end is not None:
        lines.append(f"DTEND;{tz}:{end}")
    lines += [f"SUMMARY:2027-JA-00{len(uid)}123 hearing {uid}", *extra, "END:VEVENT"]
    return "\r\n".join(lines) + "\r\n"


def feed(bad: str) -> bytes:
    """Two good events, the bad one, two more good ones."""
    goods = [event(uid, start=f"2027061{k}T090000", end=f"2027061{k}T100000") for k, uid in enumerate(GOOD, 1)]
    body = goods[0] + goods[1] + bad + goods[2] + goods[3]
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n".encode()


def line_of(data: bytes, needle: str) -> int:
    """The line of `needle` in the bad event (the third)."""
    lines = data.decode().split("\r\n")
    third = [n for n, line in enumerate(lines) if line == "BEGIN:VEVENT"][2]
    return lines.index(needle, third) + 1


def contents(snap: Reading) -> tuple[list[BusyItem], list[Problem]]:
    items = [i for g in snap.groups.values() for i in (g.items or [])]
    return items, list(snap.problems) + [p for g in snap.groups.values() for p in (g.problems or [])]


def check_one_problem(tmp_path: Path, bad: str, at: str, reason: str) -> list[BusyItem]:
    """`bad` in one feed: every good event read, one problem at the line `at` whose reason holds `reason`;
    the same on a re-read of a store that held the clean feed (the partial path). The bad event's items."""
    data = feed(bad)
    with within(30):
        items, problems = contents(read_bytes(data))
    assert set(GOOD) <= {i.uid for i in items}
    assert {p.location for p in problems} == {f"test.ics:{line_of(data, at)}"}, problems
    assert any(reason in p.reason for p in problems), problems
    # A re-sync of a store holding the clean feed (only the changed events parsed) ends as a fresh sync of it.
    kept = Store(tmp_path / "kept.db")
    synced(kept, tmp_path, "test.ics", feed(""))
    with within(30):
        synced(kept, tmp_path, "test.ics", data)
    fresh = Store(tmp_path / "fresh.db")
    synced(fresh, tmp_path, "test.ics", data)
    assert store_state(kept) == store_state(fresh)
    return [i for i in items if i.uid not in GOOD]


def test_a_vevent_missing_end_is_one_problem(tmp_path: Path) -> None:
    bad = event("no-end").replace("END:VEVENT\r\n", "")
    check_one_problem(tmp_path, bad, "BEGIN:VEVENT", "no END:VEVENT")


def test_a_vevent_missing_end_inside_an_open_alarm_is_one_problem(tmp_path: Path) -> None:
    bad = event("no-end", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M").replace("END:VEVENT\r\n", "")
    data = feed(bad)
    items, problems = contents(read_bytes(data))
    assert set(GOOD) <= {i.uid for i in items}
    assert any("no END:VEVENT" in p.reason and "this event is skipped" in p.reason for p in problems)


@pytest.mark.parametrize(("start", "end", "prop"), [("00010101T090000", "20270616T100000", "DTSTART"),
                                                     ("20270616T090000", "99991231T235959", "DTEND")])
def test_a_date_out_of_range_is_one_problem(tmp_path: Path, start: str, end: str, prop: str) -> None:
    bad = event("far", start=start, end=end)
    value = start if prop == "DTSTART" else end
    check_one_problem(tmp_path, bad, f"{prop};TZID=America/Chicago:{value}", "outside 1900–2200")


def test_a_duration_ending_after_2200_is_one_problem(tmp_path: Path) -> None:
    bad = event("late", "DURATION:P5200W", start="21990101T090000", end=None)
    check_one_problem(tmp_path, bad, "BEGIN:VEVENT", "outside 1900–2200")


def test_a_dtstart_in_year_1_is_one_problem_in_a_recurring_event_too(tmp_path: Path) -> None:
    bad = event("far", "RRULE:FREQ=WEEKLY", start="00010101T090000", end="00010101T100000")
    check_one_problem(tmp_path, bad, "DTSTART;TZID=America/Chicago:00010101T090000", "outside 1900–2200")


def test_an_until_of_year_9999_means_no_end() -> None:
    bad = event("forever", "RRULE:FREQ=WEEKLY;UNTIL=99991231T235959")
    items, problems = contents(read_bytes(feed(bad)))
    assert not problems
    assert len([i for i in items if i.uid == "forever"]) > 50


def test_an_rrule_with_interval_0_is_read_as_every_period_and_reported(tmp_path: Path) -> None:
    bad = event("zero", "RRULE:FREQ=DAILY;INTERVAL=0;COUNT=5")
    items = check_one_problem(tmp_path, bad, "RRULE:FREQ=DAILY;INTERVAL=0;COUNT=5", "INTERVAL=0")
    assert [i.start.day for i in items] == [16, 17, 18, 19, 20]


@pytest.mark.parametrize("rule", ["RRULE:FREQ=SECONDLY", "RRULE:FREQ=MINUTELY", "RRULE:FREQ=SECONDLY;INTERVAL=0",
                                  "RRULE:FREQ=MINUTELY;COUNT=100000000"])
def test_a_dense_rule_without_end_is_capped_in_the_window_and_reported(tmp_path: Path, rule: str) -> None:
    bad = event("dense", rule, start="20260101T000000", end="20260101T000001")
    items = check_one_problem(tmp_path, bad, rule, "series capped")
    assert 0 < len(items) <= series_cap((WINDOW.start, WINDOW.end))
    assert all(i.start < WINDOW.end and i.end is not None and i.end > WINDOW.start for i in items)


def test_a_dense_count_rule_that_cannot_move_is_capped_before_the_window(tmp_path: Path) -> None:
    rule = "RRULE:FREQ=SECONDLY;BYSECOND=0,30;COUNT=100000000"
    bad = event("dense", rule, start="20260101T000000", end="20260101T000001")
    assert check_one_problem(tmp_path, bad, rule, "none read") == []


def test_a_dense_rule_ending_before_the_window_is_not_capped() -> None:
    bad = event("past", "RRULE:FREQ=SECONDLY;UNTIL=20260102T000000Z", start="20260101T000000", end="20260101T000001")
    items, problems = contents(read_bytes(feed(bad)))
    assert not problems and "past" not in {i.uid for i in items}


def test_a_property_line_of_many_semicolons_and_no_colon_reads_in_linear_time(tmp_path: Path) -> None:
    # 30 ';' took minutes (exponential backtracking); 20,000 must be instant.
    line = "X-NOTE" + ";a" * 20000
    check_one_problem(tmp_path, event("semis", line), line, "not a property line")


def test_a_parameter_without_a_value_loses_that_line_only(tmp_path: Path) -> None:
    # Found while fuzzing: 'X-A;b;c:v' made icalendar fail the whole event (reported as an internal error).
    line = "X-NOTE" + ";a" * 40 + ":v"
    items = check_one_problem(tmp_path, event("params", "RRULE:FREQ=WEEKLY;COUNT=2", line), line,
                              "parameters that cannot be read")
    assert len(items) == 2


def test_case_numbers_are_searched_in_bounded_text() -> None:
    # A pattern that passes the config check but is quadratic: on a 1 MB description it would take hours.
    slow = r"\d+x"
    data = feed(event("long", "DESCRIPTION:" + "1" * 1_000_000))
    with within(30):
        snap = read_ics(data, source="src", name="test.ics", kind="court", window=WINDOW, case_pattern=slow)
    assert set(GOOD) <= {i.uid for i in contents(snap)[0]}


def test_a_generated_instance_in_the_spring_gap_is_skipped_and_not_counted() -> None:
    # 02:30 does not exist on 2027-03-14 in Chicago: that instance is ignored and uses no COUNT slot.
    bad = event("gap", "RRULE:FREQ=DAILY;COUNT=5", start="20270312T023000", end="20270312T033000")
    items, problems = contents(read_bytes(feed(bad)))
    gap = sorted(i.start for i in items if i.uid == "gap")
    assert [d.isoformat() for d in gap] == ["2027-03-12T02:30:00-06:00", "2027-03-13T02:30:00-06:00",
                                            "2027-03-15T02:30:00-05:00", "2027-03-16T02:30:00-05:00",
                                            "2027-03-17T02:30:00-05:00"]
    assert not problems


def test_a_spring_gap_instance_is_skipped_without_count_too() -> None:
    bad = event("gap", "RRULE:FREQ=DAILY;UNTIL=20270316T000000Z", start="20270312T023000", end="20270312T033000")
    items = by_uid(contents(read_bytes(feed(bad)))[0])["gap"]
    assert [i.start.day for i in items] == [12, 13, 15]


@pytest.mark.parametrize(("extra", "end", "length", "wall_end"), [
    # DTEND 2 h after DTSTART: on the fall-back night the instance is still 2 absolute hours (02:00 CST).
    ((), "20271106T030000", timedelta(hours=2), "2027-11-07T02:00:00-06:00"),
    # DURATION PT1H stays one absolute hour across the spring change.
    (("DURATION:PT1H",), None, timedelta(hours=1), "2027-03-14T03:30:00-05:00"),
])
def test_every_instance_keeps_the_exact_duration_of_the_first(extra: tuple[str, ...], end: str | None,
                                                              length: timedelta, wall_end: str) -> None:
    start = "20271106T010000" if end else "20270313T013000"
    bad = event("exact", "RRULE:FREQ=DAILY;COUNT=3", *extra, start=start, end=end)
    items = by_uid(contents(read_bytes(feed(bad)))[0])["exact"]
    assert [i.end.timestamp() - i.start.timestamp() for i in items if i.end] == [length.total_seconds()] * 3
    assert items[1].end is not None and items[1].end.astimezone(CHICAGO).isoformat() == wall_end


def test_a_p1d_instance_stays_one_calendar_day_across_a_dst_change() -> None:
    bad = event("day", "RRULE:FREQ=WEEKLY;COUNT=2", "DURATION:P1D", start="20270313T090000", end=None)
    items = by_uid(contents(read_bytes(feed(bad)))[0])["day"]
    assert [(i.start.isoformat(), i.end.isoformat() if i.end else None) for i in items] == [
        ("2027-03-13T09:00:00-06:00", "2027-03-14T09:00:00-05:00"),
        ("2027-03-20T09:00:00-05:00", "2027-03-21T09:00:00-05:00")]


@pytest.mark.parametrize("rule", [(), ("RRULE:FREQ=WEEKLY;COUNT=2",)])
def test_an_event_ending_before_it_starts_is_reported_and_busy_between(tmp_path: Path,
                                                                       rule: tuple[str, ...]) -> None:
    bad = event("backwards", *rule, start="20270616T100000", end="20270616T090000")
    items = check_one_problem(tmp_path, bad, "DTEND;TZID=America/Chicago:20270616T090000", "before DTSTART")
    assert len(items) == 1 + len(rule)
    for item in items:
        assert item.busy and item.end is not None and item.end.timestamp() - item.start.timestamp() == 3600
        assert item.start.astimezone(CHICAGO).hour == 9


def test_an_all_day_event_ending_before_it_starts_is_busy_between() -> None:
    bad = event("backwards", start="20270618", end="20270616", tz="VALUE=DATE")
    items = by_uid(contents(read_bytes(feed(bad)))[0])["backwards"]
    assert [(i.start.day, i.end.day if i.end else None, i.all_day) for i in items] == [(16, 18, True)]


def _cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


COMMANDS = (("events",), ("scan",), ("check", "--worker", "w01", "--date", "2027-01-05", "--time", "09:00-10:00"),
            ("digest",), ("notices",))


HOSTILE = {
    "missing END:VEVENT": event("hostile").replace("END:VEVENT\r\n", ""),
    "DTSTART in year 1": event("hostile", start="00010101T090000"),
    "DTEND at 9999-12-31 23:59:59": event("hostile", end="99991231T235959"),
    "INTERVAL=0": event("hostile", "RRULE:FREQ=DAILY;INTERVAL=0"),
    "SECONDLY without end": event("hostile", "RRULE:FREQ=SECONDLY", start="20260101T000000", end="20260101T000001"),
    "MINUTELY without end": event("hostile", "RRULE:FREQ=MINUTELY", start="20260101T000000", end="20260101T000001"),
    "many ';' and no ':'": event("hostile", "X-NOTE" + ";a" * 5000),
}


@pytest.mark.parametrize("fault", list(HOSTILE))
def test_one_bad_event_in_a_feed_is_one_problem_and_breaks_no_command(example_dir: Path, run: Callable[..., Run],
                                                                      fault: str) -> None:
    feed_path = example_dir / "feeds" / "cook-cpd.ics"
    run("sync", *_cfg(example_dir))
    before = json.loads(run("events", *_cfg(example_dir), "--offline", "--format", "json").stdout)
    text = feed_path.read_bytes().decode()
    at = text.index("BEGIN:VEVENT", text.index("BEGIN:VEVENT") + 1)   # as the second event of the feed
    feed_path.write_bytes((text[:at] + HOSTILE[fault] + text[at:]).encode())
    line = text[:at].count("\n") + 1
    with within(60):
        synced = run("sync", *_cfg(example_dir))
    assert synced.exit_code == 0 and "1 problem(s)" in synced.stdout, synced.stdout
    after = json.loads(run("events", *_cfg(example_dir), "--offline", "--format", "json").stdout)
    assert {(e["uid"], e["start"]) for e in before["events"]} <= {(e["uid"], e["start"]) for e in after["events"]}
    lines = {int(p["location"].rsplit(":", 1)[1]) for p in after["problems"]}
    assert lines and lines <= set(range(line, line + HOSTILE[fault].count("\n"))), after["problems"]
    for command in COMMANDS:
        result = run(*command, *_cfg(example_dir), "--offline")
        assert result.exit_code in (0, 1), (command, result.exit_code, result.stderr)


def test_out_of_range_dates_break_no_command(example_dir: Path, run: Callable[..., Run]) -> None:
    feed_path = example_dir / "feeds" / "cook-cpd.ics"
    text = feed_path.read_bytes().decode()
    bad = event("year-1", start="00010101T090000") + event("year-9999", end="99991231T235959")
    feed_path.write_bytes(text.replace("END:VCALENDAR", bad + "END:VCALENDAR").encode())
    run("sync", *_cfg(example_dir))
    for command in COMMANDS:
        result = run(*command, *_cfg(example_dir), "--offline")
        assert result.exception is None or isinstance(result.exception, SystemExit), (command, result.exception)
        assert "Traceback" not in result.stderr


def test_a_stored_instant_out_of_range_breaks_no_command(example_dir: Path, run: Callable[..., Run]) -> None:
    # A store written before the readers refused such dates (9999-12-31 23:59:59 local is past year 9999 UTC).
    run("sync", *_cfg(example_dir))
    store_sql(example_dir, 'UPDATE items SET "end" = 253402318799 WHERE id = (SELECT MIN(id) FROM items)')
    store_sql(example_dir, "UPDATE items SET start = -62135596800 WHERE id = (SELECT MAX(id) FROM items)")
    for command in COMMANDS:
        result = run(*command, *_cfg(example_dir), "--offline")
        assert result.exception is None or isinstance(result.exception, SystemExit), (command, result.exception)


@pytest.mark.parametrize("pattern", ["(a+)+$", r"(\d+-?)*J", r"(?:[A-Z]|\d+)*-J"])
def test_a_case_pattern_with_nested_quantifiers_is_refused_at_load(config_dir: Path, run: Callable[..., Run],
                                                                   pattern: str) -> None:
    toml = config_dir / "courtsync.toml"
    text = toml.read_text()
    old = "case_pattern = '\\d{4}-J[AD]-\\d{3,6}'"
    assert old in text
    toml.write_text(text.replace(old, f"case_pattern = '{pattern}'"))
    line = text[:text.index(old)].count("\n") + 1
    result = run("events", "--config", str(toml), "--offline")
    assert result.exit_code == 2
    assert f"{toml}:{line}" in result.stderr and "case_pattern" in result.stderr
    assert "nested quantifier" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("pattern", [r"\d{4}-J[AD]-\d{3,6}", r"(?:\d{2}){2}-[A-Z]{2}-\d+", r"(\d{4}-)?J\d+"])
def test_ordinary_case_patterns_still_load(config_dir: Path, run: Callable[..., Run], pattern: str) -> None:
    toml = config_dir / "courtsync.toml"
    text = toml.read_text()
    toml.write_text(text.replace("case_pattern = '\\d{4}-J[AD]-\\d{3,6}'", f"case_pattern = '{pattern}'"))
    result = run("events", "--config", str(toml), "--offline")
    assert result.exit_code != 2, result.stderr


def test_two_dense_rules_in_one_event_are_capped_together(tmp_path: Path) -> None:
    # Found by the fuzzer: the cap was reached on the hourly rule alone, and the secondly one then listed a
    # million instances up to there.
    bad = event("two", "RRULE:FREQ=HOURLY;COUNT=999999999", "RRULE:FREQ=SECONDLY", start="20270616T090000", end=None)
    items = check_one_problem(tmp_path, bad, "RRULE:FREQ=HOURLY;COUNT=999999999", "series capped")
    assert 0 < len(items) <= 2 * series_cap((WINDOW.start, WINDOW.end))
