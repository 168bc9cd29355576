"""`sync` and `events` end to end: real files, a real HTTP server, a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.calendar_helpers import CALENDARS
from tests.conftest import AS_OF, Run
from tests.feed_server import FeedServer, Route, serve_feed

Runner = Callable[..., Run]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def events(run: Runner, d: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = run("events", *cfg(d), "--format", "json", *extra)
    return result.exit_code, json.loads(result.stdout)


def test_sync_then_events_on_the_example(example_dir: Path, run: Runner) -> None:
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "cook-cpd" in result.stdout and "will-juv" in result.stdout and "2 of 2 source(s) read" in result.stdout
    code, data = events(run, example_dir, "--offline")
    assert code == 0
    assert [s["status"] for s in data["sources"]] == ["ok", "ok"]
    by_uid = {}
    for e in data["events"]:
        by_uid.setdefault(e["uid"], []).append(e)
    assert by_uid["cpd-1001"][0]["worker_ids"] == ["w01"]
    assert by_uid["cpd-1001"][0]["matched_by"] == {"w01": "case 2026-JA-001187 in caseload.csv"}
    assert by_uid["cpd-1005"][0]["worker_ids"] == ["w04"]  # by attendee email
    assert by_uid["cpd-1003"][0]["busy"] is False and by_uid["cpd-1003"][0]["status"] == "cancelled"
    assert by_uid["cpd-1004"][0]["busy"] is True and "hearing-marked-free" in by_uid["cpd-1004"][0]["flags"]
    assert len(by_uid["cpd-1010"]) == 8  # the weekly status call, expanded
    assert by_uid["will-2001"][0]["start"].endswith("-06:00") or by_uid["will-2001"][0]["start"].endswith("-05:00")
    assert by_uid["cpd-1012"][0]["all_day"] is True
    assert set(by_uid["cpd-1001"][0]) >= {"source", "uid", "start", "end", "all_day", "status", "busy", "summary",
                                         "location", "case_number", "worker_ids"}


def test_resync_of_unchanged_files_reads_nothing(example_dir: Path, run: Runner) -> None:
    run("sync", *cfg(example_dir))
    again = run("sync", *cfg(example_dir))
    assert again.exit_code == 0
    assert [line.split()[1] for line in again.stdout.splitlines()[:2]] == ["unchanged", "unchanged"]


def test_a_failing_feed_keeps_its_last_good_copy_and_exits_3(example_dir: Path, run: Runner) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    (example_dir / "feeds" / "cook-cpd.ics").write_text("<html><body>Maintenance</body></html>")
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 3
    assert "FAILED" in result.stdout and "HTML" in result.stdout and "keeping the last good copy" in result.stdout
    code, data = events(run, example_dir, "--offline")
    assert code == 3
    status = {s["id"]: s for s in data["sources"]}
    assert status["cook-cpd"]["status"] == "error" and "HTML" in status["cook-cpd"]["error"]
    assert status["cook-cpd"]["events"] > 0
    assert any(e["uid"] == "cpd-1001" for e in data["events"])  # still there
    table = run("events", *cfg(example_dir), "--offline")
    assert table.exit_code == 3 and "ERROR cook-cpd" in table.stderr and "incomplete" in table.stderr


def test_never_synced_is_an_error_not_an_empty_calendar(example_dir: Path, run: Runner) -> None:
    code, data = events(run, example_dir, "--offline")
    assert code == 3
    assert all(s["status"] == "error" and "never read" in s["error"] for s in data["sources"])


def test_stale_sources_are_reported(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('max_age = "1h"', 'max_age = "0"'))
    run("sync", *cfg(example_dir))
    code, data = events(run, example_dir, "--offline")
    assert code == 3 and {s["status"] for s in data["sources"]} == {"stale"}
    code, data = events(run, example_dir)  # online: re-read first, so fresh now
    assert {s["status"] for s in data["sources"]} == {"stale"}  # max_age 0: stale again at once
    toml.write_text(toml.read_text().replace('max_age = "0"', 'max_age = "1h"'))
    code, data = events(run, example_dir)
    assert code == 0 and {s["status"] for s in data["sources"]} == {"ok"}


def test_commands_sync_stale_sources_themselves(example_dir: Path, run: Runner) -> None:
    code, data = events(run, example_dir)  # no explicit sync
    assert code == 0 and len(data["events"]) > 10


def test_bad_events_are_problems_with_file_and_line(example_dir: Path, run: Runner) -> None:
    feed = example_dir / "feeds" / "cook-cpd.ics"
    text = feed.read_bytes().decode()
    bad = ("BEGIN:VEVENT\r\nUID:broken-1\r\nDTSTAMP:20261101T120000Z\r\nDTSTART;TZID=Central Time:20270105T090000"
           "\r\nSUMMARY:2027-JA-000999 bad zone\r\nEND:VEVENT\r\n")
    feed.write_bytes(text.replace("END:VCALENDAR", bad + "END:VCALENDAR").encode())
    line = text[: text.index("END:VCALENDAR")].count("\r\n") + 4
    run("sync", *cfg(example_dir))
    code, data = events(run, example_dir, "--offline")
    assert code == 0
    assert {"source": "cook-cpd", "location": f"{feed}:{line}",
            "reason": "unknown time zone 'Central Time' and no VTIMEZONE for it; event skipped (courtsync never "
                      "guesses a zone)"} in data["problems"]
    table = run("events", *cfg(example_dir), "--offline")
    assert f"{feed}:{line}: unknown time zone" in table.stdout


def test_events_for_one_worker_and_range(example_dir: Path, run: Runner) -> None:
    run("sync", *cfg(example_dir))
    code, data = events(run, example_dir, "--offline", "--worker", "w05")
    assert code == 0 and data["events"] and all(e["worker_ids"] == ["w05"] for e in data["events"])
    first = data["events"][0]["start"][:10]
    code, one_day = events(run, example_dir, "--offline", "--worker", "w05", "--from", first, "--to", first)
    assert [e["start"][:10] for e in one_day["events"]] == [first]


def test_roster_changes_reassign_items_without_rereading(example_dir: Path, run: Runner) -> None:
    run("sync", *cfg(example_dir))
    caseload = example_dir / "caseload.csv"
    caseload.write_text(caseload.read_text().replace("2026-JA-001187,w01", "2026-JA-001187,w02"))
    code, data = events(run, example_dir, "--offline", "--worker", "w02")
    assert "cpd-1001" in {e["uid"] for e in data["events"]}
    code, data = events(run, example_dir, "--offline", "--worker", "w01")
    assert "cpd-1001" not in {e["uid"] for e in data["events"]}


def test_unknown_source_is_usage_error(example_dir: Path, run: Runner) -> None:
    result = run("sync", *cfg(example_dir), "--source", "cook-cdp")
    assert result.exit_code == 2 and "Did you mean cook-cpd" in result.stderr


def test_personal_calendar_column(example_dir: Path, run: Runner) -> None:
    workers = example_dir / "workers.csv"
    rows = workers.read_text().splitlines()
    rows[0] += ",calendar"
    rows = [rows[0]] + [r + ("," + str(CALENDARS / "personal" / "own_calendar.ics") if r.startswith("w01,") else ",")
                        for r in rows[1:]]
    workers.write_text("\n".join(rows) + "\n")
    result = run("sync", *cfg(example_dir), "--source", "calendar:w01")
    assert result.exit_code == 0, result.stdout + result.stderr
    code, data = events(run, example_dir, "--offline", "--source", "calendar:w01", "--all")
    got = {e["uid"]: (e["busy"], e["worker_ids"]) for e in data["events"]}
    assert got["p-busy"] == (True, ["w01"]) and got["p-free"] == (False, ["w01"])
    assert next(e for e in data["events"] if e["uid"] == "p-private")["summary"] == "(private)"


def test_http_feed_in_config(example_dir: Path, run: Runner, server: FeedServer) -> None:
    serve_feed(example_dir, server, query="?key=private")
    first = run("sync", *cfg(example_dir), "--source", "will-juv")
    assert first.exit_code == 0 and "1 request(s)" in first.stdout and "key=private" not in first.stdout
    second = run("sync", *cfg(example_dir), "--source", "will-juv")
    assert "unchanged" in second.stdout and server.count("/will.ics") == 2
    code, data = events(run, example_dir)  # fresh within max_age: no further request
    assert server.count("/will.ics") == 2 and code == 0
    server.routes["/will.ics"] = Route(body=b"oops", status=500, content_type="text/plain")
    failed = run("sync", *cfg(example_dir), "--source", "will-juv")
    assert failed.exit_code == 3 and "HTTP 500" in failed.stdout
