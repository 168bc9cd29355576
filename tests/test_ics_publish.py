"""Published calendars (product.md): UIDs for life, SEQUENCE and DTSTAMP that rise on every change, removed
sessions published as CANCELLED for 90 days, byte-stable republishing, a rule-based VTIMEZONE."""

from __future__ import annotations

import gc
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from courtsync.core.publishing import plan
from courtsync.models import PublishedEvent
from tests.conftest import Run

Runner = Callable[..., Run]
APRIL = "cook-north-20270421@courtsync"
JUNE = "cook-north-20270616@courtsync"


def publish(run: Runner, config_dir: Path, *selector: str, as_of: str = "2027-01-01") -> bytes:
    sel = selector or ("--worker", "w1")
    result = run("dates", "--config", config_dir / "courtsync.toml", *sel, "--all", "--format", "ics",
                 "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def events(data: bytes) -> dict[str, Event]:
    return {str(e["UID"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def set_overrides(config_dir: Path, lines: str) -> None:
    """Give cook-north these override lines (moved/cancelled/added), replacing any set before."""
    toml, orig = config_dir / "courtsync.toml", config_dir / "courtsync.toml.orig"
    if not orig.exists():
        orig.write_text(toml.read_text())
    anchor = "until = 2028-06-30\n"
    toml.write_text(orig.read_text().replace(anchor, anchor + lines, 1))


def test_a_session_moved_twice_has_sequence_2(config_dir: Path, run: Runner) -> None:
    assert events(publish(run, config_dir))[APRIL]["SEQUENCE"] == 0
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n")
    once = events(publish(run, config_dir, as_of="2027-01-05"))[APRIL]
    assert once.start.date() == date(2027, 4, 28) and once["SEQUENCE"] == 1
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-29 }]\n")
    twice = events(publish(run, config_dir, as_of="2027-01-09"))[APRIL]
    assert twice.start.date() == date(2027, 4, 29) and twice["SEQUENCE"] == 2


def test_uncancelling_a_session_raises_its_sequence(config_dir: Path, run: Runner) -> None:
    publish(run, config_dir)
    set_overrides(config_dir, "cancelled = [2027-06-16]\n")
    cancelled = events(publish(run, config_dir, as_of="2027-01-05"))[JUNE]
    assert cancelled["STATUS"] == "CANCELLED"
    set_overrides(config_dir, "")
    back = events(publish(run, config_dir, as_of="2027-01-09"))[JUNE]
    assert back["STATUS"] == "CONFIRMED"
    assert back["SEQUENCE"] > cancelled["SEQUENCE"]


def test_a_change_raises_dtstamp(config_dir: Path, run: Runner) -> None:
    first = events(publish(run, config_dir))
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n")
    second = events(publish(run, config_dir, as_of="2027-02-01"))
    assert second[APRIL].DTSTAMP > first[APRIL].DTSTAMP
    assert datetime.fromisoformat("2027-02-01T06:00:00+00:00") == second[APRIL].DTSTAMP
    # What did not change keeps its stamp and sequence.
    assert second[JUNE].DTSTAMP == first[JUNE].DTSTAMP and second[JUNE]["SEQUENCE"] == first[JUNE]["SEQUENCE"]


def test_republishing_the_same_thing_is_byte_stable(config_dir: Path, run: Runner) -> None:
    first = publish(run, config_dir)
    assert publish(run, config_dir, as_of="2027-03-01") == first    # a later day, nothing changed
    set_overrides(config_dir, "cancelled = [2027-06-16]\n")
    changed = publish(run, config_dir, as_of="2027-03-02")
    assert changed != first
    assert publish(run, config_dir, as_of="2027-03-09") == changed


def test_a_removed_added_date_is_published_cancelled(config_dir: Path, run: Runner) -> None:
    set_overrides(config_dir, "added = [2027-05-05]\n")
    added_uid = "cook-north-20270505@courtsync"
    before = events(publish(run, config_dir))[added_uid]
    assert before["STATUS"] == "CONFIRMED"
    set_overrides(config_dir, "")
    after = events(publish(run, config_dir, as_of="2027-01-05"))
    assert added_uid in after, "the removed session vanished instead of arriving as CANCELLED"
    gone = after[added_uid]
    assert gone["STATUS"] == "CANCELLED" and gone["SEQUENCE"] > before["SEQUENCE"]
    assert gone.start == before.start and gone.DTSTAMP > before.DTSTAMP


def test_a_worker_leaving_a_collaborative_gets_its_sessions_cancelled(config_dir: Path, run: Runner) -> None:
    kinship = "kinship-20270507@courtsync"
    assert events(publish(run, config_dir))[kinship]["STATUS"] == "CONFIRMED"
    edit(config_dir / "workers.csv", "s1,cook-north;kinship", "s1,cook-north")
    after = events(publish(run, config_dir, as_of="2027-01-05"))
    assert after[kinship]["STATUS"] == "CANCELLED" and after[kinship]["SEQUENCE"] == 1
    assert after[APRIL]["STATUS"] == "CONFIRMED" and after[APRIL]["SEQUENCE"] == 0


def test_a_dropped_collaborative_is_published_cancelled(config_dir: Path, run: Runner) -> None:
    publish(run, config_dir)
    publish(run, config_dir, "--collaborative", "kinship")
    toml = config_dir / "courtsync.toml"
    toml.write_text(re.sub(r'\[\[collaborative\]\]\nid = "kinship"\n(?:.+\n)+', "", toml.read_text()))
    edit(config_dir / "workers.csv", "s1,cook-north;kinship", "s1,cook-north")
    worker = events(publish(run, config_dir, as_of="2027-01-05"))
    assert {worker[u]["STATUS"] for u in worker if u.startswith("kinship-")} == {"CANCELLED"}
    # The collaborative's own calendar, which subscribers still poll, cancels every session it had.
    own = events(publish(run, config_dir, "--collaborative", "kinship", as_of="2027-01-05"))
    assert sorted(own) == ["kinship-20270212@courtsync", "kinship-20270507@courtsync"]
    assert {e["STATUS"] for e in own.values()} == {"CANCELLED"}
    # A collaborative that was never published stays an unknown id.
    assert run("dates", "--config", toml, "--collaborative", "kinshp", "--format", "ics").exit_code == 2


def test_a_court_calendar_cancels_the_sessions_of_staff_who_left_it(config_dir: Path, run: Runner) -> None:
    before = events(publish(run, config_dir, "--court", "cook-cpd"))
    assert before[APRIL]["STATUS"] == "CONFIRMED"                       # w1's case is before this court
    edit(config_dir / "caseload.csv", "2027-JA-001234,w1,cook-cpd", "2027-JA-001234,w2,cook-cpd")
    after = events(publish(run, config_dir, "--court", "cook-cpd", as_of="2027-01-05"))
    assert {after[u]["STATUS"] for u in before} == {"CANCELLED"}        # w1's sessions: no one here attends
    assert after["cook-south-20270422@courtsync"]["STATUS"] == "CONFIRMED"   # w2's, new to this calendar


def test_a_removed_session_is_kept_cancelled_for_90_days_then_dropped(config_dir: Path, run: Runner) -> None:
    set_overrides(config_dir, "added = [2027-05-05]\n")
    uid = "cook-north-20270505@courtsync"
    publish(run, config_dir)
    set_overrides(config_dir, "")
    assert events(publish(run, config_dir, as_of="2027-01-05"))[uid]["STATUS"] == "CANCELLED"
    assert uid in events(publish(run, config_dir, as_of="2027-04-04"))       # day 89
    assert uid not in events(publish(run, config_dir, as_of="2027-04-06"))   # day 91: dropped
    # Put back later, it comes back with a sequence above the cancellation's.
    set_overrides(config_dir, "added = [2027-05-05]\n")
    back = events(publish(run, config_dir, as_of="2027-04-07"))[uid]
    assert back["STATUS"] == "CONFIRMED" and back["SEQUENCE"] == 2


def test_a_session_outside_the_range_is_not_cancelled(config_dir: Path, run: Runner) -> None:
    publish(run, config_dir)
    result = run("dates", "--config", config_dir / "courtsync.toml", "--worker", "w1", "--format", "ics",
                 "--as-of", "2027-07-01")
    out = events(result.stdout_bytes)
    assert APRIL not in out and JUNE not in out       # past sessions leave the range, they are not removed
    assert all(e["STATUS"] == "CONFIRMED" for e in out.values())


def test_the_vtimezone_is_rule_based(config_dir: Path, run: Runner) -> None:
    cal = Calendar.from_ical(publish(run, config_dir))
    (vtz,) = cal.walk("VTIMEZONE")
    assert str(vtz["TZID"]) == "America/Chicago"
    parts = {p.name: p for p in vtz.subcomponents}
    assert set(parts) == {"STANDARD", "DAYLIGHT"}
    assert parts["DAYLIGHT"]["RRULE"] == {"FREQ": ["YEARLY"], "BYMONTH": [3], "BYDAY": ["2SU"]}
    assert parts["STANDARD"]["RRULE"] == {"FREQ": ["YEARLY"], "BYMONTH": [11], "BYDAY": ["1SU"]}
    assert "RDATE" not in parts["STANDARD"] and "RDATE" not in parts["DAYLIGHT"]
    assert parts["DAYLIGHT"].DTSTART.year < 2027     # in force before the first session


def test_no_method_so_no_organizer_is_needed(config_dir: Path, run: Runner) -> None:
    cal = Calendar.from_ical(publish(run, config_dir))
    assert "METHOD" not in cal
    assert all("ORGANIZER" not in e for e in cal.walk("VEVENT"))


@pytest.mark.sqlite_only
def test_a_read_only_store_still_publishes_with_a_warning(config_dir: Path, run: Runner) -> None:
    # /proc takes no new files, even for root: the store cannot be created there.
    toml = config_dir / "courtsync.toml"
    toml.write_text('store = "/proc/courtsync-test/courtsync.db"\n' + toml.read_text())
    result = run("dates", "--config", toml, "--worker", "w1", "--all", "--format", "ics", "--as-of", "2027-01-01")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "could not record" in result.stderr and "/proc/courtsync-test/courtsync.db" in result.stderr
    assert APRIL in events(result.stdout_bytes)


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make a folder and its files unwritable, for root too (chattr +i), or skip where that cannot be done."""
    paths = [*sorted(folder.glob("courtsync.db*")), folder]
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", *map(str, paths)], capture_output=True).returncode:
        subprocess.run([chattr or "true", "-i", *map(str, paths)], capture_output=True)
        pytest.skip("cannot make files immutable here (chattr +i)")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", *map(str, paths)], check=True)


@pytest.mark.sqlite_only
def test_a_read_only_store_file_publishes_what_it_recorded(config_dir: Path, run: Runner) -> None:
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n")
    publish(run, config_dir)
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-29 }]\n")
    recorded = publish(run, config_dir, as_of="2027-01-02")          # moved twice: SEQUENCE 2, recorded
    gc.collect()   # the in-process runs' store connections close, folding the WAL into the file
    with read_only(config_dir):
        again = run("dates", "--config", config_dir / "courtsync.toml", "--worker", "w1", "--all", "--format",
                    "ics", "--as-of", "2027-01-03")
        new_calendar = run("dates", "--config", config_dir / "courtsync.toml", "--collaborative",
                                    "cook-north", "--all", "--format", "ics", "--as-of", "2027-01-03")
    assert again.exit_code == 0 and "Traceback" not in again.stderr
    assert again.stdout_bytes == recorded and again.stderr == ""     # nothing new: what was recorded holds
    assert new_calendar.exit_code == 0 and "could not record" in new_calendar.stderr


def test_dtstamp_rises_even_when_the_clock_goes_back() -> None:
    tz = ZoneInfo("America/Chicago")
    start = datetime(2027, 4, 21, 9, tzinfo=tz)
    draft = PublishedEvent(uid="u@x", start=start, end=start + timedelta(hours=7), cancelled=False,
                           summary="Protected", location="", description="")
    first = plan({}, [draft], {"u@x"}, datetime(2027, 2, 1, tzinfo=UTC)).events[0]
    moved = replace(draft, start=start + timedelta(days=7), end=start + timedelta(days=7, hours=7))
    second = plan({"u@x": first}, [moved], {"u@x"}, datetime(2027, 1, 1, tzinfo=UTC)).events[0]
    assert second.sequence == 1 and second.stamp is not None and first.stamp is not None
    assert second.stamp > first.stamp
    # Only the description changed: the same SEQUENCE and DTSTAMP (no churn for subscribers).
    again = plan({"u@x": second}, [replace(moved, description="new words")], {"u@x"},
                 datetime(2027, 3, 1, tzinfo=UTC))
    assert (again.events[0].sequence, again.events[0].stamp) == (1, second.stamp)


@pytest.mark.sqlite_only
def test_an_unreadable_store_is_exit_2_not_a_calendar_with_lower_sequences(config_dir: Path, run: Runner) -> None:
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n")
    publish(run, config_dir)
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-29 }]\n")
    assert events(publish(run, config_dir, as_of="2027-01-02"))[APRIL]["SEQUENCE"] == 2
    gc.collect()
    for path in config_dir.glob("courtsync.db*"):   # the store is damaged: its history cannot be read
        path.write_bytes(b"this is not an SQLite database\n" * 64) if path.name == "courtsync.db" else path.unlink()
    result = run("dates", "--config", config_dir / "courtsync.toml", "--worker", "w1", "--all", "--format", "ics",
                 "--as-of", "2027-01-03")
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stdout_bytes == b""          # no calendar whose SEQUENCE 0 would lose to the imported 2
    assert "Traceback" not in result.stderr and "courtsync.db" in result.stderr
    assert "backup" in result.stderr            # says how to fix it


def test_the_calendar_uid_stays_when_its_title_becomes_no_longer_scheduled(config_dir: Path, run: Runner) -> None:
    def calendar_uid(data: bytes) -> str:
        return str(Calendar.from_ical(data)["UID"])

    before = publish(run, config_dir, "--collaborative", "kinship")
    toml = config_dir / "courtsync.toml"
    toml.write_text(re.sub(r'\[\[collaborative\]\]\nid = "kinship"\n(?:.+\n)+', "", toml.read_text()))
    edit(config_dir / "workers.csv", "s1,cook-north;kinship", "s1,cook-north")
    after = publish(run, config_dir, "--collaborative", "kinship", as_of="2027-01-05")
    assert "no longer scheduled" in str(Calendar.from_ical(after)["NAME"])
    assert calendar_uid(after) == calendar_uid(before)
    # Each calendar has its own identity: another collaborative, a worker, a court, all.
    others = [publish(run, config_dir, *sel) for sel in (("--collaborative", "cook-north"), ("--worker", "w1"),
                                                         ("--court", "cook-cpd"))]
    others.append(run("dates", "--config", toml, "--all", "--format", "ics", "--as-of", "2027-01-05").stdout_bytes)
    assert len({calendar_uid(before), *map(calendar_uid, others)}) == 5


def test_moved_from_is_written_as_people_write_dates(config_dir: Path, run: Runner) -> None:
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n")
    description = str(events(publish(run, config_dir))[APRIL]["DESCRIPTION"])
    assert "Moved from Wednesday, April 21, 2027." in description, description


@pytest.mark.sqlite_only
def test_a_read_only_store_whose_log_holds_changes_is_exit_2_not_a_stale_calendar(config_dir: Path, run: Runner,
                                                                                    tmp_path: Path) -> None:
    set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n")
    publish(run, config_dir)
    gc.collect()
    with sqlite3.connect(config_dir / "courtsync.db") as reader:   # holds a snapshot: the next change stays in
        reader.execute("BEGIN")                                    # the write-ahead log, not yet folded in
        reader.execute("SELECT count(*) FROM sqlite_master").fetchall()
        set_overrides(config_dir, "moved = [{ from = 2027-04-21, to = 2027-04-29 }]\n")
        assert events(publish(run, config_dir, as_of="2027-01-02"))[APRIL]["SEQUENCE"] == 2
        gc.collect()
        copy = tmp_path / "restored"   # e.g. a backup of the store and its log, on a read-only disk
        shutil.copytree(config_dir, copy, ignore=shutil.ignore_patterns("*-shm"))
        reader.rollback()
    assert (copy / "courtsync.db-wal").stat().st_size > 0
    set_overrides(copy, "moved = [{ from = 2027-04-21, to = 2027-04-30 }]\n")
    with read_only(copy):
        result = run("dates", "--config", copy / "courtsync.toml", "--worker", "w1", "--all", "--format", "ics",
                     "--as-of", "2027-01-03")
    # Read without its log, the store says SEQUENCE 1: the third move would be published as 2, below nothing
    # but equal to what subscribers hold, and they would keep the old date.
    assert result.exit_code == 2 or events(result.stdout_bytes)[APRIL]["SEQUENCE"] == 3, result.stderr
    assert "Traceback" not in result.stderr
