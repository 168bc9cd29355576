"""Trust across configuration changes, found by an outside tester: a stored copy belongs to the location it was
read from, and a worker's command re-reads only the sources that can hold that worker's items.

Real parts throughout: the `init` example (made as of 2026-12-02: w01's case is 2026-JA-001187, w01 is free on
2026-12-09), a real store, real files, and a real loopback HTTP server that hangs.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from tests.conftest import Run
from tests.feed_server import FeedServer, Route
from tests.store_sql import store_sql
from tests.test_faults import Runner, statuses
from tests.test_sync_events import server

__all__ = ["server"]   # the loopback feed server fixture
AS_OF = "2026-12-02"
FREE_DAY = "2026-12-09"
CALENDAR = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{}END:VCALENDAR\r\n")
BUSY = ("BEGIN:VEVENT\r\nUID:m1@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;TZID=America/Chicago:20261209T100000\r\n"
        "DTEND;TZID=America/Chicago:20261209T110000\r\nSUMMARY:Busy\r\nEND:VEVENT\r\n")


def example(tmp_path: Path, run: Runner, calendars: dict[str, str] | None = None) -> tuple[Path, list[str]]:
    """The example as of AS_OF, with these workers' `calendar` column set; and its --config arguments."""
    d = tmp_path / "ex"
    assert run("init", d, "--as-of", AS_OF).exit_code == 0
    (d / "empty.ics").write_text(CALENDAR.format(""))
    (d / "mycal.ics").write_text(CALENDAR.format(BUSY))
    set_calendars(d, calendars or {})
    return d, ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF]


def set_calendars(d: Path, calendars: dict[str, str]) -> None:
    path = d / "workers.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    fields = [*rows[0].keys()] + ([] if "calendar" in rows[0] else ["calendar"])
    for row in rows:
        row["calendar"] = calendars.get(row["id"], row.get("calendar") or "")
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        writer.writerows(rows)


def check(run: Runner, config: list[str], *more: str) -> tuple[Run, dict]:  # type: ignore[type-arg]
    result = run("check", *config, "--worker", "w01", "--date", FREE_DAY, "--format", "json", *more)
    return result, json.loads(result.stdout)


# --- 1. a stored copy belongs to the location it was read from -------------------------------------------------

def test_check_is_not_free_after_a_personal_calendar_moves_to_a_busy_file(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run, {"w01": "empty.ics"})
    assert run("sync", *config).exit_code == 0
    set_calendars(d, {"w01": "mycal.ics"})   # 10:00-11:00 busy that day
    offline, data = check(run, config, "--offline")   # nothing re-read: the copy of empty.ics is not mycal.ics
    assert offline.exit_code == 3 and data["verdict"] == "unknown"
    assert statuses(data)["calendar:w01"]["status"] == "error"
    assert "location" in statuses(data)["calendar:w01"]["error"]
    online, data = check(run, config)   # the new location is read before answering
    assert online.exit_code == 1 and data["verdict"] == "conflict", online.stdout
    assert statuses(data)["calendar:w01"]["status"] == "ok"


def test_a_court_feed_moved_to_a_file_never_read_is_not_ok(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run)
    assert run("sync", *config).exit_code == 0
    feeds = d / "feeds"
    (feeds / "cook-cpd-v2.ics").write_text((feeds / "cook-cpd.ics").read_text())
    toml = d / "courtsync.toml"
    toml.write_text(toml.read_text().replace('"feeds/cook-cpd.ics"', '"feeds/cook-cpd-v2.ics"'))
    result, data = check(run, config, "--offline")
    cook = statuses(data)["cook-cpd"]
    assert cook["status"] != "ok" and result.exit_code == 3
    result, data = check(run, config)
    assert statuses(data)["cook-cpd"]["status"] == "ok" and result.exit_code == 0


def test_a_copy_stored_by_an_earlier_release_is_read_again_before_a_free(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run, {"w01": "empty.ics"})
    assert run("sync", *config).exit_code == 0
    store_sql(d, "UPDATE sources SET location = NULL")   # as a release that kept no location left it
    set_calendars(d, {"w01": "mycal.ics"})
    result, data = check(run, config)
    assert result.exit_code == 1 and data["verdict"] == "conflict", result.stdout


def test_a_fixed_calendar_location_does_not_show_the_old_locations_error(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run, {"w01": "/etc/passwd"})
    first, data = check(run, config)
    assert first.exit_code == 3 and statuses(data)["calendar:w01"]["status"] == "error"   # now backing off
    set_calendars(d, {"w01": "mycal.ics"})
    fixed, data = check(run, config)
    w01 = statuses(data)["calendar:w01"]
    assert w01["status"] == "ok" and not w01["error"], w01
    assert fixed.exit_code == 1 and data["verdict"] == "conflict"


# --- 2 and 4. a worker's command re-reads only that worker's sources ------------------------------------------

def test_another_workers_hung_calendar_does_not_keep_a_worker_waiting(tmp_path: Path, run: Runner,
                                                                      server: FeedServer) -> None:
    server.routes["/hang.ics"] = Route(hang=True, etag=False)
    d, config = example(tmp_path, run, {"w02": server.url("/hang.ics")})
    began = time.monotonic()
    result, data = check(run, config)
    took = time.monotonic() - began
    assert result.exit_code == 0 and data["verdict"] == "free"
    assert took < 5.0, f"w01 waited {took:.1f} s for w02's calendar"   # generous: the deadline is 10 s


def test_upcoming_conflicts_and_scan_of_a_worker_do_not_wait_on_another_workers_hung_calendar(
        tmp_path: Path, run: Runner, server: FeedServer) -> None:
    server.routes["/hang.ics"] = Route(hang=True, etag=False)
    d, config = example(tmp_path, run, {"w02": server.url("/hang.ics")})
    for command in (("check", "--worker", "w01"), ("scan", "--worker", "w01"), ("events", "--worker", "w01")):
        began = time.monotonic()
        result = run(*command, *config, "--format", "json")
        took = time.monotonic() - began
        assert result.exit_code in (0, 1), (command, result.stdout)
        assert took < 5.0, f"{' '.join(command)} waited {took:.1f} s for w02's calendar"


def test_events_for_a_worker_ignores_other_peoples_failed_calendars(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run, {"w02": "missing.ics"})
    result = run("events", *config, "--worker", "w01", "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0, result.stdout
    assert "calendar:w02" not in statuses(data)


# --- 6. a deadline too short to read anything ----------------------------------------------------------------

def test_a_zero_deadline_is_a_configuration_error(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run)
    toml = d / "courtsync.toml"
    toml.write_text(toml.read_text().replace('max_age = "1h"', 'max_age = "1h"\ndeadline = "0s"'))
    result = run("check", *config, "--worker", "w01", "--date", FREE_DAY)
    assert result.exit_code == 2 and "deadline" in result.stderr


# --- 3. a hung court feed never starves a local file -----------------------------------------------------------

def test_a_hung_court_feed_does_not_stop_a_local_feed_from_being_read(tmp_path: Path, run: Runner,
                                                                      server: FeedServer) -> None:
    server.routes["/hang.ics"] = Route(hang=True, etag=False)
    d, config = example(tmp_path, run)
    toml = d / "courtsync.toml"   # cook-cpd (first) hangs; will-juv is a file; nothing was ever synced
    toml.write_text(toml.read_text().replace('"feeds/cook-cpd.ics"', f'"{server.url("/hang.ics")}"')
                    .replace('max_age = "1h"', 'max_age = "1h"\ndeadline = "2s"'))
    result, data = check(run, config)
    assert result.exit_code == 3 and data["verdict"] == "unknown"
    assert statuses(data)["will-juv"]["status"] == "ok", statuses(data)["will-juv"]
    assert statuses(data)["cook-cpd"]["status"] == "error"



def test_a_hung_court_feed_does_not_stop_another_network_feed_from_being_read(tmp_path: Path, run: Runner,
                                                                              server: FeedServer) -> None:
    """Both feeds over HTTP: the one listed first hangs; the other must still be read within the deadline."""
    server.routes["/hang.ics"] = Route(hang=True, etag=False)
    d, config = example(tmp_path, run)
    server.routes["/will.ics"] = Route(body=(d / "feeds" / "will-juvenile.ics").read_bytes())
    toml = d / "courtsync.toml"
    toml.write_text(toml.read_text().replace('"feeds/cook-cpd.ics"', f'"{server.url("/hang.ics")}"')
                    .replace('"feeds/will-juvenile.ics"', f'"{server.url("/will.ics")}"')
                    .replace('max_age = "1h"', 'max_age = "1h"\ndeadline = "2s"'))
    result, data = check(run, config)
    assert result.exit_code == 3 and data["verdict"] == "unknown"
    assert statuses(data)["will-juv"]["status"] == "ok", statuses(data)["will-juv"]
    assert statuses(data)["cook-cpd"]["status"] == "error"

# --- 5. an unreadable event is named wherever an answer is given -----------------------------------------------

SECRET = "Jane Roe custody review"   # hearing text on a broken line: never in a digest


def broken_feed(d: Path) -> int:
    """A line of w01's court feed that is not a property line (hearing text, no colon); its line number."""
    feed = d / "feeds" / "cook-cpd.ics"
    lines = feed.read_text().splitlines()
    at = lines.index("BEGIN:VEVENT") + 1
    lines.insert(at, f"{SECRET};;;")
    feed.write_text("\r\n".join(lines) + "\r\n")
    return at + 1


def test_check_table_names_the_unreadable_events_of_a_court_feed(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run)
    line = broken_feed(d)
    result = run("check", *config, "--worker", "w01", "--date", FREE_DAY)
    assert f"cook-cpd.ics:{line}: " in result.stdout, result.stdout
    assert "courtsync events" in result.stdout


def test_the_digest_names_the_unreadable_events_of_its_teams_feeds(tmp_path: Path, run: Runner) -> None:
    d, config = example(tmp_path, run)
    line = broken_feed(d)
    out = tmp_path / "digests"
    run("digest", *config, "--supervisor", "s01", "--out", out)
    files = list(out.iterdir())
    assert files
    for path in files:
        text = path.read_text()
        assert f"cook-cpd.ics:{line}" in text and "not a property line" in text, path.name
        assert SECRET not in text and "courtsync events" in text
