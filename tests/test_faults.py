"""Fault suite for reading sources: hung and trickling feeds, failing sources, feeds that suddenly empty.

Real parts throughout: the `init` example, a real HTTP server on loopback (tests/feed_server.py), a real store.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from courtsync.sync import policy as sync_policy
from tests import test_sync_events
from tests.conftest import Run
from tests.feed_server import FeedServer, Route, serve_feed
from tests.store_sql import store_sql
from tests.test_sync_events import cfg, events

Runner = Callable[..., Run]
server = test_sync_events.server   # the loopback feed server fixture
DEADLINE = 2.0   # seconds: the `deadline` of the configs below
FREE_DAY = ("--worker", "w20", "--date", "2027-03-03")   # no session and no hearing of w20's that day


def statuses(data: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {s["id"]: s for s in data["sources"]}


def set_key(d: Path, line: str) -> None:
    """Add a top-level key to the example's courtsync.toml."""
    toml = d / "courtsync.toml"
    toml.write_text(toml.read_text().replace('max_age = "1h"', f'max_age = "1h"\n{line}'))


def last_read_ago(d: Path, source: str, seconds: float) -> None:
    """Time passes: the source's last good copy is `seconds` old (so the next command re-reads it)."""
    store_sql(d, "UPDATE sources SET synced_at = synced_at - ? WHERE id = ?", (seconds, source))


@pytest.fixture
def http_example(example_dir: Path, run: Runner, server: FeedServer) -> Path:
    """The example with will-juv served over HTTP, `deadline = "2s"`, and one good sync done."""
    shutil.copy(example_dir / "feeds" / "will-juvenile.ics", example_dir / "will.ics")
    serve_feed(example_dir, server)
    set_key(example_dir, f'deadline = "{DEADLINE:.0f}s"')
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 0, result.stdout + result.stderr
    return example_dir


def timed_check(run: Runner, d: Path) -> tuple[float, Run]:
    started = time.monotonic()
    result = run("check", *cfg(d), *FREE_DAY, "--format", "json")
    return time.monotonic() - started, result


@pytest.mark.parametrize("route", [Route(hang=True, etag=False), Route(trickle=0.5, etag=False),
                                   Route(trickle=0.5, trickle_head=True, etag=False)],
                         ids=["hung", "trickling", "trickling-its-headers"])
def test_a_hung_or_trickling_feed_keeps_check_waiting_no_longer_than_the_deadline(
        http_example: Path, run: Runner, server: FeedServer, route: Route) -> None:
    route.body = (http_example / "will.ics").read_bytes()
    server.routes["/will.ics"] = route
    last_read_ago(http_example, "will-juv", 7200)
    seconds, result = timed_check(run, http_example)
    assert seconds < DEADLINE + 1, f"check waited {seconds:.1f} s"
    assert result.exit_code == 3, result.stdout + result.stderr   # never a plain "free" over a feed not read now
    will = statuses(json.loads(result.stdout))["will-juv"]
    assert will["status"] == "stale" and "deadline" in will["error"] and will["events"] == 5
    # The next command does not wait for it again (backoff), and says so.
    asked = server.count("/will.ics")
    seconds, again = timed_check(run, http_example)
    assert seconds < 1 and server.count("/will.ics") == asked and again.exit_code == 3
    assert "try it again in" in statuses(json.loads(again.stdout))["will-juv"]["error"]


def test_a_hung_feed_read_beside_many_others_keeps_check_no_longer_than_the_deadline(
        http_example: Path, run: Runner, server: FeedServer) -> None:
    toml = http_example / "courtsync.toml"   # cook-cpd eight times over: from 8 sources on, reader processes read
    toml.write_text(toml.read_text().replace('feeds = ["feeds/cook-cpd.ics"]',
                                             "feeds = [" + ", ".join(['"feeds/cook-cpd.ics"'] * 8) + "]"))
    assert run("sync", *cfg(http_example)).exit_code == 0
    server.routes["/will.ics"] = Route(body=(http_example / "will.ics").read_bytes(), trickle=0.5, etag=False)
    store_sql(http_example, "UPDATE sources SET synced_at = synced_at - 7200")
    seconds, result = timed_check(run, http_example)
    assert seconds < DEADLINE + 1, f"check waited {seconds:.1f} s"
    status = statuses(json.loads(result.stdout))
    assert status["will-juv"]["status"] == "stale" and "deadline" in status["will-juv"]["error"]
    assert status["cook-cpd#8"]["status"] == "ok"


def test_a_hung_feed_never_read_is_an_error_within_the_deadline(example_dir: Path, run: Runner,
                                                                server: FeedServer) -> None:
    serve_feed(example_dir, server, Route(hang=True))
    set_key(example_dir, f'deadline = "{DEADLINE:.0f}s"')
    seconds, result = timed_check(run, example_dir)
    assert seconds < DEADLINE + 1 and result.exit_code == 3
    will = statuses(json.loads(result.stdout))["will-juv"]
    assert will["status"] == "error" and "never read" in will["error"] and "deadline" in will["error"]


def test_an_explicit_sync_gives_a_trickling_feed_a_bounded_time(http_example: Path, run: Runner, server: FeedServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_policy, "SYNC_READ_SECONDS", 3.0)   # 60 s in real use
    server.routes["/will.ics"] = Route(body=(http_example / "will.ics").read_bytes(), trickle=0.5, etag=False)
    started = time.monotonic()
    result = run("sync", *cfg(http_example), "--source", "will-juv")
    assert time.monotonic() - started < 3 + 1
    assert result.exit_code == 3 and "did not finish within 3 s" in result.stdout
    code, data = events(run, http_example, "--offline")
    assert statuses(data)["will-juv"]["status"] == "error" and any(e["source"] == "will-juv" for e in data["events"])


def test_a_failed_source_is_not_retried_by_every_command(http_example: Path, run: Runner,
                                                         server: FeedServer) -> None:
    server.routes["/will.ics"] = Route(body=b"oops", status=500, content_type="text/plain")
    last_read_ago(http_example, "will-juv", 7200)
    asked = server.count("/will.ics")
    code, data = events(run, http_example)   # due: re-read, and it fails
    assert code == 3 and server.count("/will.ics") == asked + 1
    for command in ("events", "check", "scan"):
        run(command, *cfg(http_example), *(FREE_DAY if command == "check" else ()))
    assert server.count("/will.ics") == asked + 1   # backing off: not asked again
    code, data = events(run, http_example)
    will = statuses(data)["will-juv"]
    assert will["status"] == "error" and "HTTP 500" in will["error"] and "try it again in" in will["error"]
    # An explicit sync retries at once, every time.
    assert run("sync", *cfg(http_example), "--source", "will-juv").exit_code == 3
    assert run("sync", *cfg(http_example)).exit_code == 3
    assert server.count("/will.ics") == asked + 3
    # Fixed: the next explicit sync reads it, and commands trust it again.
    server.routes["/will.ics"] = Route(body=(http_example / "will.ics").read_bytes())
    assert run("sync", *cfg(http_example), "--source", "will-juv").exit_code == 0
    code, data = events(run, http_example)
    assert code == 0 and statuses(data)["will-juv"]["status"] == "ok"


def test_backoff_doubles_from_a_minute_up_to_max_age() -> None:
    policy = sync_policy.Policy(max_age=timedelta(minutes=10))
    assert [policy.backoff(n) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    assert sync_policy.Policy(max_age=timedelta(0)).backoff(5) == 60   # never less than a minute
    assert sync_policy.Policy(max_age=timedelta(hours=1)).backoff(10_000) == 3600


EMPTY = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cook County//Juvenile//EN\r\nEND:VCALENDAR\r\n"


def test_a_feed_served_empty_is_held_suspect_and_sync_accept_takes_it(example_dir: Path, run: Runner) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    code, before = events(run, example_dir, "--offline")
    feed = example_dir / "feeds" / "cook-cpd.ics"
    feed.write_text(EMPTY)
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 3
    assert "HELD" in result.stdout and "served 0 of 18 upcoming items" in result.stdout
    code, data = events(run, example_dir)
    cpd = statuses(data)["cook-cpd"]
    assert code == 3 and cpd["status"] == "suspect"
    assert cpd["error"].startswith("served 0 of 18 upcoming items; held the last good copy; run "
                                   "`courtsync sync --accept cook-cpd` to take it")
    assert data["events"] == before["events"]   # the last good copy answers, as it was
    check = run("check", *cfg(example_dir), "--worker", "w01", "--date", "2026-12-16", "--format", "json")
    assert check.exit_code == 1   # the held copy's hearing still counts
    assert run("check", *cfg(example_dir), *FREE_DAY).exit_code == 3
    table = run("events", *cfg(example_dir))
    assert "SUSPECT cook-cpd: served 0 of 18" in table.stderr
    # Held again while it stays empty; taken when the person says so.
    assert run("sync", *cfg(example_dir)).exit_code == 3
    accepted = run("sync", *cfg(example_dir), "--accept", "cook-cpd")
    assert accepted.exit_code == 0, accepted.stdout
    assert "cook-cpd  read" in accepted.stdout and "will-juv" not in accepted.stdout
    code, data = events(run, example_dir)
    assert code == 0 and statuses(data)["cook-cpd"]["status"] == "ok"
    assert not any(e["source"] == "cook-cpd" for e in data["events"])


def test_a_feed_served_with_most_of_its_items_gone_is_held_over_http(http_example: Path, run: Runner,
                                                                      server: FeedServer) -> None:
    # will-juv keeps 1 of its 5 upcoming hearings: more than half gone.
    will = (http_example / "will.ics").read_text()
    head, *vevents = will.split("BEGIN:VEVENT")
    kept = head + "BEGIN:VEVENT" + vevents[0].split("END:VEVENT")[0] + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    server.routes["/will.ics"] = Route(body=kept.encode())
    result = run("sync", *cfg(http_example), "--source", "will-juv")
    assert result.exit_code == 3 and "served 1 of 5 upcoming items" in result.stdout, result.stdout
    code, data = events(run, http_example, "--offline", "--source", "will-juv")
    assert statuses(data)["will-juv"]["status"] == "suspect" and len(data["events"]) == 5
    # The court restores its feed: read as usual, nothing held any more.
    server.routes["/will.ics"] = Route(body=will.encode())
    assert run("sync", *cfg(http_example), "--source", "will-juv").exit_code == 0
    code, data = events(run, http_example, "--offline")
    assert code == 0 and statuses(data)["will-juv"]["status"] == "ok"


def test_a_feed_losing_a_few_items_is_read_as_usual(example_dir: Path, run: Runner) -> None:
    assert run("sync", *cfg(example_dir)).exit_code == 0
    feed = example_dir / "feeds" / "cook-cpd.ics"
    text = feed.read_text()
    start = text.index("BEGIN:VEVENT")
    end = text.index("END:VEVENT", start) + len("END:VEVENT\r\n")
    feed.write_text(text[:start] + text[end:])   # one hearing cancelled by removal
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 0 and "HELD" not in result.stdout


def test_a_feed_whose_hearings_are_all_cancelled_in_place_is_held(example_dir: Path, run: Runner) -> None:
    # The same events (same UIDs, so every group is read anew) all marked cancelled: the stored copy's upcoming
    # items are counted for the groups the read replaces as well as for those it drops.
    assert run("sync", *cfg(example_dir)).exit_code == 0
    feed = example_dir / "feeds" / "cook-cpd.ics"
    text = feed.read_text()
    feed.write_text(re.sub(r"\r?\nSTATUS:[^\r\n]*", "", text).replace("END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT"))
    result = run("sync", *cfg(example_dir))
    assert result.exit_code == 3 and "served 0 of 18 upcoming items" in result.stdout, result.stdout


def test_max_drop_one_never_holds(example_dir: Path, run: Runner) -> None:
    set_key(example_dir, "max_drop = 1.0")
    assert run("sync", *cfg(example_dir)).exit_code == 0
    (example_dir / "feeds" / "cook-cpd.ics").write_text(EMPTY)
    assert run("sync", *cfg(example_dir)).exit_code == 0


def test_max_drop_out_of_range_is_a_config_error(example_dir: Path, run: Runner) -> None:
    set_key(example_dir, "max_drop = 1.5")
    result = run("events", *cfg(example_dir))
    assert result.exit_code == 2 and "max_drop" in result.stderr


def test_accept_names_one_source(example_dir: Path, run: Runner) -> None:
    result = run("sync", *cfg(example_dir), "--source", "will-juv", "--accept", "cook-cpd")
    assert result.exit_code == 2 and "--accept cook-cpd reads only that source" in result.stderr
