"""Fuzzing the iCalendar reader (issue 11): a few hundred seeded mutations of the fixture calendars, each
answered without a traceback, within a time limit and a memory bound, every untouched event read as
before, on a first read and on a re-read from the last good one. benchmarks/fuzz_ics.py runs thousands."""

from __future__ import annotations

from pathlib import Path

from courtsync.store.sqlite import Store
from tests import ics_mutator
from tests.calendar_helpers import by_uid, read_fixture, store_state, within

COUNT = 1000         # CI: the whole file stays well under a minute on a loaded two-core machine
SEED = 11
PER_CASE = 10.0      # seconds: a generous hang-guard (a case takes milliseconds)
MEMORY_MB = 400      # growth of the peak resident size over the whole run


def test_fuzzed_calendars_are_read_one_bad_event_at_a_time() -> None:
    baseline = ics_mutator.baselines()
    start_rss = ics_mutator.max_rss_mb()
    failures = []
    kinds: set[str] = set()
    for case in ics_mutator.cases(COUNT, SEED):
        kinds.add(case.kind)
        problem = ics_mutator.check(case, baseline, PER_CASE)
        if problem is None and ics_mutator.max_rss_mb() - start_rss > MEMORY_MB:
            problem = f"peak memory grew past {MEMORY_MB} MB"
        if problem:
            failures.append(f"{case.label()}: {problem}")
    assert set(ics_mutator.KINDS) <= kinds
    assert not failures, "\n".join(failures[:20])


def test_fuzzed_calendars_read_again_as_a_first_read_would(tmp_path: Path) -> None:
    """A re-sync from the original file's stored read (only changed tags parsed) stores what a first sync of
    the mutated file does."""
    failures = []
    for k, case in enumerate(ics_mutator.cases(COUNT // 5, SEED + 1)):
        folder = tmp_path / str(k)
        folder.mkdir()
        kept, fresh = Store(folder / "kept.db"), Store(folder / "fresh.db")
        original = (ics_mutator.CALENDARS / case.fixture).read_bytes()
        if ics_mutator.sync(kept, folder, case.fixture, original).outcome != "read":
            continue
        again = ics_mutator.sync(kept, folder, case.fixture, case.data)
        first = ics_mutator.sync(fresh, folder, case.fixture, case.data)
        if again.outcome == first.outcome == "read" and store_state(kept) != store_state(fresh):
            failures.append(case.label())
        kept.close()
        fresh.close()
    assert not failures, "\n".join(failures[:20])


# --- what the fuzzer found, each with its fixture (fixtures/fuzz_found/ holds the ones too slow to join the
# auto-discovered fixture calendars: a capped dense series costs a second a read) ----------------------------

def test_fuzz_found_rules_no_period_can_match_are_read_once_not_for_seconds() -> None:
    # BYMONTHDAY=99 (a huge value), February 30, BYSETPOS past the set: dateutil walked to the year 9999.
    with within(30):
        items, problems = read_fixture("broken/fuzz_impossible_rrule.ics")
    got = by_uid(items)
    assert [len(got[uid]) for uid in ("imp-1", "imp-2", "imp-3", "imp-4")] == [1, 1, 1, 2]
    assert [p.location for p in problems] == ["fuzz_impossible_rrule.ics:9", "fuzz_impossible_rrule.ics:17",
                                              "fuzz_impossible_rrule.ics:25"]
    assert all("read as one event at DTSTART" in p.reason for p in problems)


def test_fuzz_found_an_hourly_vtimezone_rule_does_not_stall_the_reader() -> None:
    # icalendar expands every transition of a custom VTIMEZONE: an hourly rule took minutes.
    with within(30):
        items, problems = read_fixture("broken/fuzz_hourly_vtimezone_rule.ics")
    assert [i.uid for i in items] == ["hz-2"]
    assert [(p.location, "cannot be used" in p.reason) for p in problems] == \
        [("fuzz_hourly_vtimezone_rule.ics:22", True)]


def test_fuzz_found_a_repeated_dtend_or_status_reads_the_first_not_an_internal_error() -> None:
    items, problems = read_fixture("broken/fuzz_repeated_properties.ics")
    got = by_uid(items)
    assert [(i.end.hour if i.end else None, i.status) for i in got["rp-1"]] == [(10, "confirmed")]
    assert [p.location for p in problems] == ["fuzz_repeated_properties.ics:9", "fuzz_repeated_properties.ics:11"]
    assert all("appears again" in p.reason for p in problems) and "rp-2" in got


def test_fuzz_found_a_duration_past_the_year_9999_is_one_problem() -> None:
    items, problems = read_fixture("broken/fuzz_huge_duration.ics")
    assert [i.uid for i in items] == ["hd-2"]
    assert [(p.location, "longer than" in p.reason) for p in problems] == [("fuzz_huge_duration.ics:8", True)]


def test_fuzz_found_a_control_character_in_a_parameter_loses_that_line_only() -> None:
    items, problems = read_fixture("broken/fuzz_control_character_in_parameter.ics")
    assert [i.uid for i in items] == ["cc-2"]   # cc-1 lost its DTSTART line: reported, never guessed
    assert [p.location for p in problems] == ["fuzz_control_character_in_parameter.ics:7",
                                              "fuzz_control_character_in_parameter.ics:4",
                                              "fuzz_control_character_in_parameter.ics:16"]   # cc-2's ATTENDEE
    assert not [p for p in problems if "internal error" in p.reason]


def test_fuzz_found_an_unreadable_recurrence_id_is_one_problem() -> None:
    items, problems = read_fixture("broken/fuzz_unreadable_recurrence_id.ics")
    assert sorted((i.uid, i.start.day) for i in items) == [("ur-1", 14), ("ur-2", 15)]
    assert [(p.location, p.reason) for p in problems] == [
        ("fuzz_unreadable_recurrence_id.ics:7", "RECURRENCE-ID cannot be read; event skipped")]


def test_fuzz_found_a_dense_series_ending_before_it_starts_is_bounded() -> None:
    # The library anchors such a series at its DTEND; the bounds walked it from DTSTART, seven months on.
    with within(30):
        items, problems = read_fixture("../fuzz_found/fuzz_backwards_dense_series.ics")
    assert "bd-2" in by_uid(items)
    assert [(p.location, p.reason.split(";")[0].split(":")[0]) for p in problems] == [
        ("fuzz_backwards_dense_series.ics:8", "DTEND 2026-11-01 12"), ("fuzz_backwards_dense_series.ics:9",
                                                                       "series capped")]


def test_fuzz_found_a_vtimezone_naming_its_tzid_twice_still_reads() -> None:
    # A repeated TZID line made icalendar fail on a list: every event in that zone was an internal error.
    items, problems = read_fixture("broken/fuzz_vtimezone_two_tzids.ics")
    assert items and items[0].start.isoformat() == "2027-06-16T09:00:00-05:00"
    assert not [p for p in problems if "internal error" in p.reason]


def test_fuzz_found_two_dense_rules_in_one_event_are_capped_together() -> None:
    with within(30):
        items, problems = read_fixture("../fuzz_found/fuzz_two_dense_rules.ics")
    assert "td-2" in by_uid(items) and 0 < len(by_uid(items)["td-1"]) <= 2 * 2 * 822
    assert [(p.location, "series capped" in p.reason) for p in problems] == [("fuzz_two_dense_rules.ics:8", True)]


def _event(lines: bytes) -> bytes:
    return (b"BEGIN:VEVENT\r\n" + lines + b"DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\n"
            b"DTSTAMP:20261101T000000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\n")


def _calendar(*events: bytes, head: bytes = b"") -> bytes:
    return b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + head + b"".join(events) + b"END:VCALENDAR\r\n"


UID_CASES = {   # what the search of the whole file must not take for a plain `UID:value` line of its own part
    "folded": _calendar(_event(b"UID:abc\r\n def\r\n"), _event(b"UID:b\r\n")),
    "folded with a tab, in the second event": _calendar(_event(b"UID:a\r\n"), _event(b"UID:b\r\n\tc\r\n")),
    "parameters": _calendar(_event(b"UID;X-A=1:abc\r\n"), _event(b"UID:b\r\n")),
    "lower case": _calendar(_event(b"uid:abc\r\n"), _event(b"UID:b\r\n")),
    "a name starting with UID": _calendar(_event(b"UID-X:q\r\nUID:abc\r\n"), _event(b"UID:b\r\n")),
    "an alarm with a UID": _calendar(_event(b"UID:abc\r\nBEGIN:VALARM\r\nUID:alarm\r\nACTION:DISPLAY\r\n"
                                            b"TRIGGER:-PT5M\r\nEND:VALARM\r\n"), _event(b"UID:b\r\n")),
    "an alarm's UID first": _calendar(_event(b"BEGIN:VALARM\r\nUID:alarm\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
                                             b"END:VALARM\r\nUID:abc\r\n"), _event(b"UID:b\r\n")),
    "a UID with parameters, then a plain one": _calendar(_event(b"UID;X-A=1:a\r\nUID:b\r\n"), _event(b"UID:c\r\n")),
    "two UIDs in one, none in another": _calendar(_event(b"UID:a\r\nUID:z\r\n"), _event(b"")),
    "blank UIDs": _calendar(_event(b"UID:   \r\n"), _event(b"UID:\r\n"), _event(b"UID:c\r\n")),
    "a calendar UID (RFC 7986)": _calendar(_event(b"UID:a\r\n"), _event(b"UID:b\r\n"), head=b"UID:the-calendar\r\n"),
    "LF line ends": _calendar(_event(b"UID:a\r\n"), _event(b"UID:b\r\n")).replace(b"\r\n", b"\n"),
    "blanks and UTF-8": _calendar(_event(" UID: é-ü \r\n".strip().encode() + b"\r\n"), _event(b"UID: b \r\n")),
}


def _with_fixtures_and_mutations(cases: dict[str, bytes], seed: int) -> dict[str, bytes]:
    """The cases, every fixture calendar and 300 seeded mutations of them."""
    out = dict(cases)
    for path in sorted(ics_mutator.CALENDARS.rglob("*.ics")):
        out[path.name] = path.read_bytes()
    for k, case in enumerate(ics_mutator.cases(300, seed)):
        out[f"{case.label()} #{k}"] = case.data
    return out


def test_uids_found_with_one_search_are_those_of_each_part() -> None:
    # The quick reader finds every event's UID with one search of the file when all parts are plain (a re-read
    # of a 600-event feed spends its time there otherwise); it must agree with reading each part on its own.
    from courtsync.calendars.ics_scan import cut, uid_of, uids_of

    cases = _with_fixtures_and_mutations(UID_CASES, SEED + 2)
    checked = 0
    for name, data in cases.items():
        parts = cut(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        try:
            expected = [uid_of(part) for part in parts[1:]]
        except UnicodeDecodeError:   # not UTF-8: the quick scan never cuts such a file
            continue
        assert uids_of(parts[1:], b"\nBEGIN:VEVENT".join(parts), len(parts[0])) == expected, name
        checked += 1
    assert checked > 300


def test_the_component_lines_counted_from_header_and_trailer_are_those_of_the_whole_file() -> None:
    # The quick scan searches only a file's header and what follows its last event when every event is plain
    # (cut-line counts tell); whenever it takes that way it must find what a search of the whole file finds.
    from collections import Counter

    from courtsync.calendars.ics_scan import component_lines, cut, plain_components

    cases = dict(UID_CASES)
    cases.update({
        "a lower-case alarm": _calendar(_event(b"UID:a\r\nbegin:valarm\r\nend:valarm\r\n"), _event(b"UID:b\r\n")),
        "BEGIN: in a value": _calendar(_event(b"UID:a\r\nDESCRIPTION:see BEGIN:VEVENT\r\n"), _event(b"UID:b\r\n")),
        "an END: line with blanks": _calendar(_event(b"UID:a\r\n").replace(b"END:VEVENT", b"END:VEVENT "),
                                              _event(b"UID:b\r\n")),
        "a zone after the events": _calendar(_event(b"UID:a\r\n")).replace(
            b"END:VCALENDAR", b"BEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\nEND:VCALENDAR"),
        "a to-do between events": _calendar(_event(b"UID:a\r\n"), b"BEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\n",
                                           _event(b"UID:b\r\n")),
        "an event never ended": _calendar(_event(b"UID:a\r\n").replace(b"END:VEVENT\r\n", b""), _event(b"UID:b\r\n")),
    })
    cases = _with_fixtures_and_mutations(cases, SEED + 3)
    taken = 0
    for name, data in cases.items():
        counted = plain_components(data, cut(data))
        if counted is not None:
            found = component_lines(data)
            assert found is not None and counted == Counter(found), name
            taken += 1
    assert taken > 100   # most files are plain
