"""scan and check with calendars, as a worker and a supervisor run them on the example."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import AS_OF, Run

Runner = Callable[..., Run]


def cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def sessions_of(run: Runner, d: Path, collab: str) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(run("dates", *cfg(d), "--collaborative", collab, "--format", "json").stdout)
    return [s for s in data["sessions"] if s["status"] == "scheduled"]


def test_scan_finds_the_example_conflicts_and_exits_1(example_dir: Path, run: Runner) -> None:
    result = run("scan", *cfg(example_dir), "--format", "json")
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    got = {(c["worker_id"], c["event_uid"], c["kind"]) for c in data["conflicts"]}
    assert ("w01", "cpd-1001", "overlap") in got            # case number in caseload
    assert ("w02", "cpd-1002", "buffer") in got             # 17:00 inside the court's 90-minute buffer
    assert ("w04", "cpd-1005", "overlap") in got            # attendee email
    assert ("w13", "cpd-1004", "overlap") in got            # the court marked it free: still a hearing
    assert not any(uid == "cpd-1003" for _, uid, _ in got)  # cancelled
    assert {c["court_id"] for c in data["conflicts"]} == {"cook-cpd", "will-juv"}
    flagged = next(c for c in data["conflicts"] if c["event_uid"] == "cpd-1004")
    assert flagged["flags"] == ["hearing-marked-free"] and "caseload" in flagged["matched_by"]
    keys = {"worker_id", "worker_name", "supervisor_id", "collaborative_id", "session_start", "session_end", "source",
            "event_uid", "event_start", "event_end", "all_day", "case_number", "court_id", "kind"}
    assert all(keys <= set(c) for c in data["conflicts"])
    assert set(data) >= {"range", "sources", "problems", "conflicts"}


def test_scan_for_one_worker_and_range(example_dir: Path, run: Runner) -> None:
    data = json.loads(run("scan", *cfg(example_dir), "--worker", "w04", "--format", "json").stdout)
    assert {c["worker_id"] for c in data["conflicts"]} == {"w04"} and len(data["conflicts"]) == 2
    first = data["conflicts"][0]["session_start"][:10]
    one = json.loads(run("scan", *cfg(example_dir), "--worker", "w04", "--from", first, "--to", first,
                         "--format", "json").stdout)
    assert len(one["conflicts"]) == 1


def test_no_conflicts_exits_0(example_dir: Path, run: Runner) -> None:
    result = run("scan", *cfg(example_dir), "--worker", "w03", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["conflicts"] == []


def test_a_failed_source_is_exit_3_with_a_warning_never_a_clean_answer(example_dir: Path, run: Runner) -> None:
    run("sync", *cfg(example_dir))
    (example_dir / "feeds" / "will-juvenile.ics").write_text("<html>login</html>")
    assert run("sync", *cfg(example_dir)).exit_code == 3
    result = run("scan", *cfg(example_dir))
    assert result.exit_code == 3
    assert "ERROR will-juv" in result.stderr and "incomplete" in result.stderr
    clean = run("scan", *cfg(example_dir), "--worker", "w03")
    assert clean.exit_code == 3  # no conflicts found, but a source was not read
    looks_free = run("check", *cfg(example_dir), "--worker", "w03", "--date", "2027-01-05")
    assert looks_free.exit_code == 3 and "incomplete" in looks_free.stderr
    assert "UNKNOWN" in looks_free.stdout and "FREE" not in looks_free.stdout   # never "free" over unread data


def test_scan_csv_is_formula_safe(example_dir: Path, run: Runner) -> None:
    feed = example_dir / "feeds" / "cook-cpd.ics"
    feed.write_bytes(feed.read_bytes().replace(b"UID:cpd-1001", b"UID:=HYPERLINK(\"http://x\")"))
    rows = list(csv.DictReader(io.StringIO(run("scan", *cfg(example_dir), "--format", "csv").stdout)))
    hit = next(r for r in rows if r["case_number"] == "2026-JA-001187")
    assert hit["event_uid"].startswith("'=")


def test_check_date_sees_the_workers_hearings(example_dir: Path, run: Runner) -> None:
    events = json.loads(run("events", *cfg(example_dir), "--worker", "w01", "--format", "json").stdout)["events"]
    hearing = next(e for e in events if e["uid"] == "cpd-1006")  # on a day without sessions
    day, start = hearing["start"][:10], hearing["start"][11:16]
    whole = json.loads(run("check", *cfg(example_dir), "--worker", "w01", "--date", day, "--format", "json").stdout)
    assert whole["verdict"] == "conflict" and [r["kind"] for r in whole["reasons"]] == ["busy", "note"]
    assert "2026-JA-001203" in whole["reasons"][0]["message"]
    assert day not in whole["suggestions"]
    later = json.loads(run("check", *cfg(example_dir), "--worker", "w01", "--date", day, "--time", "15:00-16:00",
                           "--format", "json").stdout)
    assert later["verdict"] == "free"
    same = run("check", *cfg(example_dir), "--worker", "w01", "--date", day, "--time", f"{start}-{start[:2]}:59")
    assert same.exit_code == 1 and "Already busy" in same.stdout


def test_upcoming_conflicts_with_makeups_nearest_region_first(example_dir: Path, run: Runner) -> None:
    result = run("check", *cfg(example_dir), "--worker", "w01", "--format", "json")
    assert result.exit_code == 1
    (conflict,) = json.loads(result.stdout)["conflicts"]
    assert conflict["event_uid"] == "cpd-1001" and conflict["collaborative_id"] == "cook-north"
    south = sessions_of(run, example_dir, "cook-south")[0]
    assert conflict["makeups"][0]["collaborative_id"] == "cook-south"   # same tier, same month, same region
    assert conflict["makeups"][0]["date"] == south["date"]


def test_makeups_skip_dates_the_worker_is_busy(example_dir: Path, run: Runner) -> None:
    south = sessions_of(run, example_dir, "cook-south")[0]
    feed = example_dir / "feeds" / "cook-cpd.ics"
    day = south["date"].replace("-", "")
    extra = ("BEGIN:VEVENT\r\nUID:extra-1\r\nDTSTAMP:20261101T120000Z\r\n"
             f"DTSTART;TZID=America/Chicago:{day}T100000\r\nDTEND;TZID=America/Chicago:{day}T110000\r\n"
             "SUMMARY:2026-JA-001203 Status Hearing\r\nEND:VEVENT\r\n")
    feed.write_bytes(feed.read_bytes().replace(b"END:VCALENDAR", extra.encode() + b"END:VCALENDAR"))
    (conflict,) = json.loads(run("check", *cfg(example_dir), "--worker", "w01", "--format", "json").stdout)[
        "conflicts"]
    assert all(m["date"] != south["date"] for m in conflict.get("makeups", []))


def test_dates_beyond_the_expansion_window_are_never_called_free(example_dir: Path, run: Runner) -> None:
    """Bug: a Tuesday in 2030 came back FREE, exit 0, though a weekly hearing series without end covers it;
    recurring items are only expanded 24 months ahead, so courtsync had not seen that date."""
    feed = example_dir / "feeds" / "cook-cpd.ics"
    weekly = ("BEGIN:VEVENT\r\nUID:weekly-w03\r\nDTSTAMP:20261123T060000Z\r\n"
              "DTSTART;TZID=America/Chicago:20270105T090000\r\nDTEND;TZID=America/Chicago:20270105T100000\r\n"
              "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nSUMMARY:Status hearing\r\n"
              "ATTENDEE:mailto:priya.raman@agency.example\r\nEND:VEVENT\r\nEND:VCALENDAR")
    feed.write_bytes(feed.read_bytes().rstrip().removesuffix(b"END:VCALENDAR") + weekly.encode() + b"\r\n")
    inside = run("check", *cfg(example_dir), "--worker", "w03", "--date", "2028-10-03", "--format", "json")
    assert inside.exit_code == 1 and json.loads(inside.stdout)["verdict"] == "conflict"
    beyond = run("check", *cfg(example_dir), "--worker", "w03", "--date", "2030-01-15", "--format", "json")
    assert beyond.exit_code == 3, beyond.stdout
    problems = json.loads(beyond.stdout)["problems"]
    assert any(p["source"] == "calendars" and "2030-01-15" in p["reason"] for p in problems)
    assert "2028-02-01" in beyond.stderr and "incomplete" in beyond.stderr  # when to ask again
    text = run("check", *cfg(example_dir), "--worker", "w03", "--date", "2030-01-15")
    assert text.exit_code == 3 and "no busy item" not in text.stdout
    near_the_edge = json.loads(run("check", *cfg(example_dir), "--worker", "w03", "--date", "2028-10-27",
                                   "--suggest", "5", "--format", "json").stdout)
    assert all(d <= "2028-10-31" for d in near_the_edge["suggestions"])  # nothing offered beyond what was read
    assert run("scan", *cfg(example_dir), "--worker", "w03", "--from", "2029-01-01", "--to", "2029-01-31"
               ).exit_code == 3
    assert run("events", *cfg(example_dir), "--to", "2029-01-31").exit_code == 3
    assert run("events", *cfg(example_dir), "--to", "2027-01-31").exit_code == 0
    assert run("scan", *cfg(example_dir), "--worker", "w03", "--from", "2026-12-01", "--to", "2027-01-31"
               ).exit_code in (0, 1)
