"""Every fixture calendar read as a careful person would read it (calendar-quirks.md, case by case)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from courtsync.errors import SourceError
from tests.calendar_helpers import CALENDARS, CHICAGO, by_uid, read_bytes, read_fixture


def iso(items: list, attr: str = "start") -> list[str]:  # type: ignore[type-arg]
    return [getattr(i, attr).astimezone(CHICAGO).isoformat() for i in items]


ALL_FIXTURES = sorted(str(p.relative_to(CALENDARS)) for p in CALENDARS.rglob("*.ics"))
UNREADABLE = {"broken/empty.ics", "broken/html_login.ics", "broken/truncated.ics"}


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_reads_or_fails_as_a_whole_with_a_reason(name: str) -> None:
    kind = "personal" if name.startswith("personal") else "court"
    if name in UNREADABLE:
        with pytest.raises(SourceError) as info:
            read_fixture(name, kind)
        assert Path(name).name in info.value.message
        return
    items, problems = read_fixture(name, kind)
    assert items, "a readable fixture yields items"
    for p in problems:
        assert p.location.startswith(Path(name).name + ":"), p
        assert int(p.location.rsplit(":", 1)[1]) > 0


def test_windows_zone_names_map_to_iana_even_with_a_stale_vtimezone() -> None:
    items = by_uid(read_fixture("court/windows_tzid.ics")[0])
    assert iso(items["win-1"]) == ["2027-06-16T09:00:00-05:00"]
    # The embedded VTIMEZONE has pre-2007 rules (DST from April); the real zone is in DST on March 17.
    assert items["win-2"][0].start.isoformat() == "2027-03-17T10:00:00-04:00"
    assert items["win-3"][0].flags == ("tzid-guessed",)
    assert iso(items["win-3"]) == ["2027-06-16T13:00:00-05:00"]


def test_custom_vtimezones_with_one_name_do_not_leak_between_files() -> None:
    central = read_fixture("court/custom_vtimezone.ics")[0][0]
    pacific = read_fixture("court/custom_vtimezone_pacific.ics")[0][0]
    again = read_fixture("court/custom_vtimezone.ics")[0][0]
    assert central.start.isoformat() == again.start.isoformat() == "2027-06-16T09:00:00-05:00"
    assert pacific.start.isoformat() == "2027-06-16T09:00:00-07:00"


def test_unknown_zone_is_a_problem_never_a_guess() -> None:
    items, problems = read_fixture("court/unknown_tz.ics")
    assert [i.uid for i in items] == ["unk-2"]
    assert [(p.location, "unknown time zone 'Central Time'" in p.reason) for p in problems] == \
        [("unknown_tz.ics:7", True)]


def test_floating_is_agency_time_and_utc_is_an_instant() -> None:
    items = by_uid(read_fixture("court/floating_and_utc.ics")[0])
    assert iso(items["flt-1"]) == ["2027-06-16T09:00:00-05:00"] and "floating" in items["flt-1"][0].flags
    assert iso(items["flt-2"]) == ["2027-06-16T09:00:00-05:00"]


def test_google_x_wr_timezone_keeps_local_time_across_dst() -> None:
    items = read_fixture("court/google_x_wr_timezone.ics")[0]
    assert iso(items) == ["2027-03-03T09:00:00-06:00", "2027-03-10T09:00:00-06:00", "2027-03-17T09:00:00-05:00"]


def test_all_day_items_are_whole_local_days() -> None:
    items = by_uid(read_fixture("court/all_day.ics")[0])
    spans = {uid: (iso(v)[0], iso(v, "end")[0], v[0].all_day, v[0].flags) for uid, v in items.items()}
    assert spans == {
        "ad-1": ("2027-06-16T00:00:00-05:00", "2027-06-17T00:00:00-05:00", True, ()),
        "ad-2": ("2027-06-21T00:00:00-05:00", "2027-06-24T00:00:00-05:00", True, ()),
        "ad-3": ("2027-07-01T00:00:00-05:00", "2027-07-02T00:00:00-05:00", True, ("all-day-zero-length",)),
        "ad-4": ("2027-07-06T00:00:00-05:00", "2027-07-07T00:00:00-05:00", True, ("date-with-z",)),
        "ad-5": ("2027-07-08T00:00:00-05:00", "2027-07-09T00:00:00-05:00", True, ("outlook-all-day",)),
    }


def test_no_end_is_an_instant_and_durations_are_exact_or_nominal() -> None:
    items = by_uid(read_fixture("court/no_end_and_durations.ics")[0])
    assert items["ne-1"][0].end is None and "no-end" in items["ne-1"][0].flags
    # 01:30 CDT + exactly one hour on the fall-back night is 01:30 CST.
    assert iso(items["du-1"], "end") == ["2027-11-07T01:30:00-06:00"]
    assert items["du-1"][0].end.timestamp() - items["du-1"][0].start.timestamp() == 3600  # type: ignore[union-attr]
    # PT24H is 24 real hours (13:00 after the spring change); P1D is the same wall time next day.
    assert iso(items["du-2"], "end") == ["2027-03-14T13:00:00-05:00"]
    assert iso(items["du-3"], "end") == ["2027-03-14T12:00:00-05:00"]


def test_recurrence_rules() -> None:
    items = by_uid(read_fixture("court/recurrence.ics")[0])
    assert iso(items["rec-count-exdate"]) == ["2027-06-01T10:00:00-05:00", "2027-06-15T10:00:00-05:00"]
    assert iso(items["rec-utc-until"]) == ["2027-06-02T19:00:00-05:00", "2027-06-03T19:00:00-05:00"]
    assert [i.start.day for i in items["rec-local-until"]] == [7, 8, 9]
    assert all("until-adjusted" in i.flags for i in items["rec-local-until"])
    assert [i.start.day for i in items["rec-date-until"]] == [14, 15, 16]
    assert [i.start.date().isoformat() for i in items["rec-outlook-3rd-wed"]] == ["2027-01-20", "2027-02-17",
                                                                                "2027-03-17"]
    assert [i.start.date().isoformat() for i in items["rec-31st"]] == ["2027-01-31", "2027-03-31", "2027-05-31"]
    assert iso(items["rec-dst"]) == ["2027-03-03T09:00:00-06:00", "2027-03-10T09:00:00-06:00",
                                     "2027-03-17T09:00:00-05:00"]


def test_moved_and_cancelled_instances() -> None:
    moved = by_uid(read_fixture("court/recurrence.ics")[0])["rec-moved"]
    assert [(i.start.isoformat(), i.busy) for i in moved] == [
        ("2027-07-05T13:00:00-05:00", True), ("2027-07-13T15:00:00-05:00", True),
        ("2027-07-19T13:00:00-05:00", False)]
    assert moved[2].status == "cancelled"
    assert len({i.instance for i in moved}) == 3


def test_dtstart_off_the_rule_is_an_extra_flagged_occurrence() -> None:
    extra = by_uid(read_fixture("court/recurrence.ics")[0])["rec-extra"]
    assert [(i.start.day, i.flags) for i in extra] == [(2, ("extra-dtstart",)), (4, ()), (11, ())]


def test_deleted_series_are_not_busy_and_are_reported() -> None:
    items, problems = read_fixture("court/deleted_series.ics")
    assert [i.uid for i in items] == ["del-3"]
    assert [p.location for p in problems] == ["deleted_series.ics:9", "deleted_series.ics:17"]


def test_status_and_transparency() -> None:
    items = by_uid(read_fixture("court/status_and_transparency.ics")[0])
    assert (items["st-1"][0].busy, items["st-1"][0].flags) == (False, ("cancelled",))
    assert (items["st-2"][0].busy, items["st-2"][0].flags) == (True, ("possibly-cancelled",))
    assert (items["st-3"][0].busy, items["st-3"][0].flags) == (True, ("hearing-marked-free",))
    assert items["st-4"][0].attendees == ("wendy@agency.example", "clerk@example.org")


def test_duplicate_uids() -> None:
    items, problems = read_fixture("court/duplicates.ics")
    got = by_uid(items)
    assert iso(got["dup-seq"]) == ["2027-06-17T09:00:00-05:00"]  # the higher SEQUENCE
    assert len(got["dup-same"]) == 1                                 # identical copies collapse
    assert iso(got["dup-clash"]) == ["2027-06-21T09:00:00-05:00", "2027-06-22T14:00:00-05:00"]
    assert ["same SEQUENCE" in p.reason for p in problems] == [True]


def test_overrides_without_master_are_standalone_items() -> None:
    items = read_fixture("court/overrides_only.ics")[0]
    assert iso(items) == ["2027-06-07T09:00:00-05:00", "2027-06-14T10:00:00-05:00"]


def test_bad_lines_are_reported_by_line_and_good_events_kept() -> None:
    items, problems = read_fixture("broken/bad_lines.ics")
    # bl-4 ends before it starts: reported, and busy between the two times (issue 11), never dropped.
    assert [i.uid for i in items] == ["bl-1", "bl-4", "bl-5", "bl-6", "bl-7"]
    assert [p.location for p in problems] == ["bad_lines.ics:9", "bad_lines.ics:15", "bad_lines.ics:16",
                                              "bad_lines.ics:19", "bad_lines.ics:29", "bad_lines.ics:37"]
    assert "no DTSTART" in problems[3].reason and "before DTSTART" in problems[4].reason
    assert "DURATION ignored" in problems[5].reason


def test_a_broken_vtimezone_spoils_only_the_events_that_use_it() -> None:
    items, problems = read_fixture("broken/bad_vtimezone_offset.ics")
    assert [i.uid for i in items] == ["bv-2"]
    assert [p.location for p in problems] == ["bad_vtimezone_offset.ics:12"]


def test_encodings_come_out_readable() -> None:
    cp_items, cp_problems = read_fixture("broken/cp1252.ics")
    assert cp_items[0].summary == "2027-JA-001701 Audiencia \u2013 Juez Pe\u00f1a"
    assert "read as Windows-1252" in cp_problems[0].reason
    fold = read_fixture("broken/fold_in_utf8_character.ics")[0][0]
    assert fold.summary == "2027-JA-001801 Juez Pe\u00f1a y Mu\u00f1oz \u2013 Audiencia"
    assert "\ufffd" not in fold.summary
    odd = read_fixture("broken/bom_lf_lowercase.ics")[0][0]
    assert odd.summary == "2027-JA-001901 lower-case names, LF line ends and a TAB fold"


def test_two_calendars_in_one_file_are_both_read() -> None:
    assert [i.uid for i in read_fixture("broken/two_calendars.ics")[0]] == ["two-1", "two-2"]


@pytest.mark.parametrize(("name", "needle"), [("broken/html_login.ics", "HTML"),
                                              ("broken/truncated.ics", "truncated"),
                                              ("broken/empty.ics", "empty")])
def test_unreadable_files_say_why(name: str, needle: str) -> None:
    with pytest.raises(SourceError) as info:
        read_fixture(name)
    assert needle in info.value.message


def test_personal_calendar_rules() -> None:
    items = by_uid(read_fixture("personal/own_calendar.ics", "personal")[0])
    busy = {uid: (v[0].busy, v[0].flags) for uid, v in items.items()}
    assert busy == {"p-busy": (True, ()), "p-tentative": (True, ("tentative",)), "p-free": (False, ("free",)),
                    "p-oof": (True, ("out-of-office",)), "p-cancelled": (False, ("cancelled",)),
                    "p-private": (True, ("private",))}
    assert items["p-private"][0].summary == "(private)"  # the subject is never kept


def test_case_numbers_only_from_court_feeds() -> None:
    data = (CALENDARS / "court" / "status_and_transparency.ics").read_bytes()
    court = read_bytes(data, kind="court").groups["st-3"].items
    personal = read_bytes(data, kind="personal").groups["st-3"].items
    assert court and court[0].case_numbers == ("2027-JA-001003",)
    assert personal and personal[0].case_numbers == ()


def test_uids_are_never_paths() -> None:
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:../../etc/passwd\r\nDTSTAMP:20261101T120000Z\r\n"
            b"DTSTART:20270616T140000Z\r\nDTEND:20270616T150000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    snap = read_bytes(data)
    assert list(snap.groups) == ["../../etc/passwd"]
    assert snap.groups["../../etc/passwd"].items[0].start == datetime(2027, 6, 16, 9, tzinfo=CHICAGO)  # type: ignore
