"""The commands as a user runs them: exit codes, stdout and stderr apart, every format."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from icalendar import Calendar

from tests.conftest import AS_OF, Run

Runner = Callable[..., Run]


def cfg(config_dir: Path) -> list[str]:
    return ["--config", str(config_dir / "courtsync.toml")]


def test_init_writes_example_that_dates_runs_on(example_dir: Path, run: Runner) -> None:
    names = sorted(str(p.relative_to(example_dir)) for p in example_dir.rglob("*") if p.is_file())
    assert names == ["caseload.csv", "courtsync.toml", "feeds/cook-cpd.ics", "feeds/will-juvenile.ics",
                     "registrations.csv", "signins/cook-north.csv", "signins/cook-south.csv", "tour.env",
                     "workers.csv"]
    result = run("dates", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert "Cook North Training Center" in result.stdout
    assert "COURT HOLIDAY: Casimir Pulaski Day" in result.stdout
    assert "CANCELLED" in result.stdout and "moved from" in result.stdout
    workers = list(csv.DictReader(io.StringIO((example_dir / "workers.csv").read_text())))
    assert len(workers) >= 30
    kinds = {line.split('"')[1] for line in (example_dir / "courtsync.toml").read_text().splitlines()
             if line.startswith("kind =")}
    assert kinds == {"regional", "training-center", "affinity-group"}


def test_init_refuses_to_overwrite(example_dir: Path, run: Runner) -> None:
    result = run("init", example_dir)
    assert result.exit_code == 2 and "already exists" in result.stderr and "--force" in result.stderr
    assert run("init", example_dir, "--force", "--as-of", AS_OF).exit_code == 0


def test_example_feeds_are_valid_icalendar(example_dir: Path) -> None:
    for feed in (example_dir / "feeds").iterdir():
        raw = feed.read_bytes()
        assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
        events = Calendar.from_ical(raw).walk("VEVENT")
        assert len(events) >= 5
        assert all(not e.errors for e in events)


def test_dates_for_worker_and_range(config_dir: Path, run: Runner) -> None:
    result = run("dates", *cfg(config_dir), "--worker", "w1", "--from", "2027-01-01", "--to", "2027-06-30",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    got = [(s["collaborative_id"], s["date"], s["start"], s["holiday"]) for s in data["sessions"]]
    assert got == [
        ("kinship", "2027-02-12", "2027-02-12T13:00:00-06:00", "Lincoln's Birthday"),
        ("cook-north", "2027-04-21", "2027-04-21T09:00:00-05:00", None),
        ("kinship", "2027-05-07", "2027-05-07T13:00:00-05:00", None),
        ("cook-north", "2027-06-16", "2027-06-16T09:00:00-05:00", None),
    ]
    assert data["range"] == {"from": "2027-01-01", "to": "2027-06-30"}


def test_dates_default_from_is_today(config_dir: Path, run: Runner) -> None:
    data = json.loads(run("dates", *cfg(config_dir), "--collaborative", "cook-north", "--as-of", "2027-06-17",
                          "--format", "json").stdout)
    assert data["sessions"][0]["date"] == "2027-08-18"
    everything = json.loads(run("dates", *cfg(config_dir), "--collaborative", "cook-north", "--all",
                                "--as-of", "2027-06-17", "--format", "json").stdout)
    assert everything["sessions"][0]["date"] == "2027-04-21"


def test_dates_for_court_lists_its_staff(config_dir: Path, run: Runner) -> None:
    data = json.loads(run("dates", *cfg(config_dir), "--court", "cook-cpd", "--as-of", "2027-01-01",
                          "--to", "2027-04-30", "--format", "json").stdout)
    assert [(s["collaborative_id"], s["date"], s["worker_ids"]) for s in data["sessions"]] == [
        ("kinship", "2027-02-12", ["w1"]), ("cook-north", "2027-04-21", ["w1"])]


def test_dates_csv_is_formula_safe(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('name = "Kinship Affinity Group"',
                                             'name = "=HYPERLINK(\\"http://evil\\")"'))
    result = run("dates", *cfg(config_dir), "--collaborative", "kinship", "--all", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["collaborative_name"].startswith("'=")
    assert rows[0]["date"] == "2027-02-12"


def test_dates_unknown_ids_exit_2(config_dir: Path, run: Runner) -> None:
    for option, value in (("--worker", "w9"), ("--collaborative", "cook-nort"), ("--court", "kane")):
        result = run("dates", *cfg(config_dir), option, value)
        assert result.exit_code == 2, option
        assert "No " in result.stderr and "Traceback" not in result.stderr
    result = run("dates", *cfg(config_dir), "--collaborative", "cook-nort")
    assert "Did you mean cook-north" in result.stderr


def test_dates_rejects_two_selectors_and_reversed_range(config_dir: Path, run: Runner) -> None:
    assert run("dates", *cfg(config_dir), "--worker", "w1", "--court", "cook-cpd").exit_code == 2
    result = run("dates", *cfg(config_dir), "--from", "2027-06-01", "--to", "2027-05-01")
    assert result.exit_code == 2 and "before --from" in result.stderr


def test_dates_ics_imports_and_is_stable(config_dir: Path, run: Runner) -> None:
    toml = config_dir / "courtsync.toml"
    args = ["dates", *cfg(config_dir), "--worker", "w1", "--all", "--format", "ics", "--as-of", "2027-01-01"]
    first = run(*args)
    assert first.exit_code == 0, first.stderr
    cal = Calendar.from_ical(first.stdout.encode())
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/Chicago"]
    events = cal.walk("VEVENT")
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids)) == 10
    assert "cook-north-20270421@courtsync" in uids
    april = next(e for e in events if str(e["UID"]) == "cook-north-20270421@courtsync")
    assert april.start.isoformat() == "2027-04-21T09:00:00-05:00"
    assert str(april.start.tzinfo) == "America/Chicago"
    assert b"\r\n" in first.stdout_bytes and b"\n\n" not in first.stdout_bytes
    assert run(*args).stdout_bytes == first.stdout_bytes  # byte-stable: a re-import updates, never duplicates
    # Moving a session keeps its UID, raises SEQUENCE; cancelling keeps it as STATUS:CANCELLED.
    toml.write_text(toml.read_text().replace("until = 2028-06-30\n", "until = 2028-06-30\n"
                                             "moved = [{ from = 2027-04-21, to = 2027-04-28 }]\n"
                                             "cancelled = [2027-06-16]\n"))
    second = Calendar.from_ical(run(*args).stdout.encode()).walk("VEVENT")
    moved = next(e for e in second if str(e["UID"]) == "cook-north-20270421@courtsync")
    assert moved.start.date() == date(2027, 4, 28) and moved["SEQUENCE"] == 1
    cancelled = next(e for e in second if str(e["UID"]) == "cook-north-20270616@courtsync")
    assert cancelled["STATUS"] == "CANCELLED"
    assert len(second) == 10


def test_check_protected_date_exits_1(config_dir: Path, run: Runner) -> None:
    result = run("check", *cfg(config_dir), "--worker", "w1", "--date", "2027-04-21")
    assert result.exit_code == 1, result.stderr
    assert "NOT FREE" in result.stdout
    assert "Cook North Learning Collaborative meets 09:00–16:00" in result.stdout
    assert "Next free dates: Thu 2027-04-22, Fri 2027-04-23, Mon 2027-04-26" in result.stdout
    assert result.stderr == "note: no calendar sources configured; only protected dates were checked.\n"


def test_check_free_business_day_exits_0(config_dir: Path, run: Runner) -> None:
    result = run("check", *cfg(config_dir), "--worker", "w1", "--date", "2027-04-20", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "free" and data["conflicts"] == [] and data["suggestions"] == []
    assert set(data) >= {"range", "sources", "problems", "conflicts", "verdict", "reasons", "suggestions",
                         "makeups"}


def test_check_other_collaboratives_do_not_count(config_dir: Path, run: Runner) -> None:
    # 2027-04-22 is a cook-south session; w1 is not in cook-south.
    assert run("check", *cfg(config_dir), "--worker", "w1", "--date", "2027-04-22").exit_code == 0
    assert run("check", *cfg(config_dir), "--worker", "w2", "--date", "2027-04-22").exit_code == 1


def test_check_time_against_buffer(config_dir: Path, run: Runner) -> None:
    base = ["check", *cfg(config_dir), "--worker", "w1", "--date", "2027-04-21", "--format", "json"]
    # The session is 09:00-16:00; the global buffer 60m; the court's 90m.
    assert json.loads(run(*base, "--time", "16:30-17:00").stdout)["conflicts"][0]["kind"] == "buffer"
    assert run(*base, "--time", "17:00-17:30").exit_code == 0  # half-open: ends of buffer is free
    assert run(*base, "--time", "17:00-17:30", "--court", "cook-cpd").exit_code == 1
    assert run(*base, "--time", "07:00-08:00").exit_code == 0  # ends exactly where the buffer starts
    over = json.loads(run(*base, "--time", "15:59-16:30").stdout)
    assert over["conflicts"][0]["kind"] == "overlap"
    assert over["conflicts"][0]["event_start"] == "2027-04-21T15:59:00-05:00"


def test_check_weekend_and_holiday(config_dir: Path, run: Runner) -> None:
    sat = json.loads(run("check", *cfg(config_dir), "--worker", "w2", "--date", "2027-04-24",
                         "--format", "json").stdout)
    assert sat["verdict"] == "conflict" and [r["kind"] for r in sat["reasons"]] == ["weekend", "note"]
    assert sat["suggestions"] == ["2027-04-26", "2027-04-27", "2027-04-28"]
    # 2027-03-01 is Casimir Pulaski Day (US-IL).
    pulaski = run("check", *cfg(config_dir), "--worker", "w2", "--date", "2027-03-01")
    assert pulaski.exit_code == 1 and "Casimir Pulaski Day" in pulaski.stdout


def test_suggestions_skip_sessions_weekends_and_holidays(config_dir: Path, run: Runner) -> None:
    # Fri 2027-02-12 is Lincoln's Birthday and a kinship session; then the weekend; Mon 02-15 is
    # Washington's Birthday (a federal court holiday).
    data = json.loads(run("check", *cfg(config_dir), "--worker", "w1", "--date", "2027-02-12",
                          "--suggest", "2", "--format", "json").stdout)
    assert data["suggestions"] == ["2027-02-16", "2027-02-17"]
    assert {r["kind"] for r in data["reasons"]} == {"overlap", "holiday", "note"}   # note: Outlook not consulted


def test_check_unknown_worker_and_bad_values_exit_2(config_dir: Path, run: Runner) -> None:
    result = run("check", *cfg(config_dir), "--worker", "w9", "--date", "2027-04-21")
    assert result.exit_code == 2
    assert "No worker with id 'w9'" in result.stderr and result.stdout == ""
    for args in (("--date", "2027-02-30"), ("--date", "2027-04-21", "--time", "9-5"),
                 ("--date", "2027-04-21", "--time", "10:00-09:00")):
        bad = run("check", *cfg(config_dir), "--worker", "w1", *args)
        assert bad.exit_code == 2 and "Traceback" not in bad.stderr and "Invalid value" in bad.stderr


def test_python_dash_m_and_real_process(config_dir: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "courtsync", "check", *cfg(config_dir), "--worker", "nobody",
                           "--date", "2027-04-21"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("courtsync: error: No worker with id 'nobody'.")
    assert "Traceback" not in proc.stderr


def test_example_check_conflict_and_free(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    session = json.loads(run("dates", "--config", toml, "--worker", "w01", "--as-of", AS_OF,
                             "--format", "json").stdout)["sessions"][0]
    taken = run("check", "--config", toml, "--worker", "w01", "--date", session["date"], "--as-of", AS_OF)
    assert taken.exit_code == 1


def test_dates_ics_golden(config_dir: Path, run: Runner, golden: Callable[[str, str], None]) -> None:
    result = run("dates", *cfg(config_dir), "--worker", "w1", "--from", "2027-02-01", "--to", "2027-08-31",
                 "--format", "ics", "--as-of", "2027-01-01")
    golden("dates-w1.ics", result.stdout_bytes.decode())
