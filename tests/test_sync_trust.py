"""Sync and trust under faults, found in review: a month rolling over, waits past the deadline, small feeds served
empty, private calendar URLs in messages, and how unread sources are worded.

Real parts throughout: the `init` example, a real HTTP server on loopback, a real store, real reader processes.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import responses

from courtsync.calendars.base import Window, read_whole, redact
from courtsync.calendars.mailbox import Throttle
from courtsync.core.explain import unread_text
from courtsync.errors import CourtsyncError, DeadlineError, SourceError
from courtsync.models import Roster
from courtsync.presenters.shapes import report_line
from courtsync.store.sqlite import SourceHealth, SourceRow, Store
from courtsync.sync.engine import SyncReport, source_info, sync_sources, window_for
from courtsync.sync.policy import Limit, Policy
from tests.conftest import Run
from tests.cpu_sources import Dies, InProcessParse, Parse
from tests.feed_server import FeedServer, Route, serve_feed
from tests.test_faults import Runner, statuses
from tests.test_sync_events import cfg, server

__all__ = ["server"]   # the loopback feed server fixture
TZ = ZoneInfo("America/Chicago")
EMPTY = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//court//EN\r\nEND:VCALENDAR\r\n"


def hearings(n: int) -> str:
    """A court feed with n hearings in January 2027, 9:00-10:00."""
    events = "".join(f"BEGIN:VEVENT\r\nUID:h{i}@court\r\nDTSTAMP:20261101T000000Z\r\n"
                     f"DTSTART;TZID=America/Chicago:202701{11 + i:02d}T090000\r\n"
                     f"DTEND;TZID=America/Chicago:202701{11 + i:02d}T100000\r\nSUMMARY:Hearing {i}\r\n"
                     "END:VEVENT\r\n" for i in range(n))
    return EMPTY.replace("END:VCALENDAR", events + "END:VCALENDAR")


# --- 1. a month rolling over -----------------------------------------------------------------------------------

WEEKLY = ("BEGIN:VEVENT\r\nUID:weekly-1187@cook\r\nDTSTAMP:20261123T060000Z\r\n"
          "DTSTART;TZID=America/Chicago:20261201T090000\r\nDTEND;TZID=America/Chicago:20261201T100000\r\n"
          "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nSUMMARY:2026-JA-001187 Review\r\nEND:VEVENT\r\nEND:VCALENDAR")


def test_check_says_free_over_data_never_read_when_the_month_rolls_over(example_dir: Path, run: Runner) -> None:
    feed = example_dir / "feeds" / "cook-cpd.ics"   # a weekly hearing of w01's case, every Tuesday, no end
    feed.write_text(feed.read_text().replace("END:VCALENDAR", WEEKLY))
    toml = ["--config", str(example_dir / "courtsync.toml")]
    assert run("sync", *toml, "--as-of", "2026-12-31").exit_code == 0
    # 2028-12-19 is past the window of December 2026 and inside January's: nothing was expanded over it.
    ask = ("check", *toml, "--worker", "w01", "--date", "2028-12-19", "--format", "json", "--as-of", "2027-01-01")
    offline = run(*ask, "--offline")
    data = json.loads(offline.stdout)
    assert offline.exit_code != 0 and data["verdict"] != "free"
    assert {s["status"] for s in data["sources"]} == {"stale"}
    assert all("earlier window" in s["error"] for s in data["sources"])
    online = run(*ask)   # re-read for January: the weekly hearing that day is seen
    assert json.loads(online.stdout)["verdict"] == "conflict" and online.exit_code == 1


def test_a_source_skipped_at_the_deadline_after_the_month_rolls_over_is_not_ok(example_dir: Path, run: Runner,
                                                                              server: FeedServer) -> None:
    toml = example_dir / "courtsync.toml"
    server.routes["/cook.ics"] = Route(body=(example_dir / "feeds" / "cook-cpd.ics").read_bytes())
    # will-juv is served too: a local file would be read before any network source, never skipped
    server.routes["/will.ics"] = Route(body=(example_dir / "feeds" / "will-juvenile.ics").read_bytes())
    toml.write_text(toml.read_text().replace('feeds = ["feeds/cook-cpd.ics"]', f'feeds = ["{server.url("/cook.ics")}"]')
                    .replace('feeds = ["feeds/will-juvenile.ics"]', f'feeds = ["{server.url("/will.ics")}"]')
                    .replace('max_age = "1h"', 'max_age = "1h"\ndeadline = "2s"'))
    config = ["--config", str(toml)]
    assert run("sync", *config, "--as-of", "2026-12-31").exit_code == 0
    server.routes["/cook.ics"] = Route(hang=True, etag=False)   # cook-cpd's re-read is abandoned at the deadline
    result = run("check", *config, "--worker", "w01", "--date", "2028-12-19", "--format", "json",
                 "--as-of", "2027-01-01")
    data = json.loads(result.stdout)
    assert result.exit_code == 3 and data["verdict"] == "unknown"
    # The copy it keeps was read for the earlier window; will-juv, read beside it (network reads run side by
    # side under a command's deadline), is ok.
    assert statuses(data)["cook-cpd"]["status"] == "stale", statuses(data)["cook-cpd"]
    assert statuses(data)["will-juv"]["status"] == "ok"


# --- 2. the deadline bounds every wait ----------------------------------------------------------------------

@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set at teardown: a hung fake server's answer is let go (after the test has its answer)."""
    event = threading.Event()
    yield event
    event.set()


def test_check_against_a_hung_ews_endpoint_waits_no_longer_than_the_deadline(
        monkeypatch: pytest.MonkeyPatch, released: threading.Event) -> None:
    from exchangelib.protocol import CachingProtocol

    from courtsync.calendars.ews import EwsSource
    from tests.test_ews import ENDPOINT, WINDOW
    from tests.test_ews import settings as ews_settings

    monkeypatch.setenv("COURTSYNC_EWS_PASSWORD", "hunter2-secret")
    CachingProtocol.clear_cache()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, ENDPOINT, callback=hang_on(released))   # exchangelib would wait 120 s
        given_up_in_time(EwsSource("exchange", ews_settings(), {"worker001@agency.example": "w1"}), WINDOW)
        released.set()
    CachingProtocol.clear_cache()


def hang_on(released: threading.Event) -> Callable[[object], tuple[int, dict[str, str], str]]:
    """A fake server's answer that comes only after `released` (or 6 s)."""
    def hang(request: object) -> tuple[int, dict[str, str], str]:
        released.wait(6)
        return 500, {}, "{}"
    return hang


def given_up_in_time(source: Any, window: Window) -> None:
    """The source's read, with a deadline 1 s away, gives up (a courtsync error) within 3 s."""
    started = time.monotonic()
    source.deadline = started + 1.0
    with pytest.raises(CourtsyncError):
        read_whole(source, window)
    assert time.monotonic() - started < 3.0


def test_a_hung_graph_sign_in_waits_no_longer_than_the_deadline(monkeypatch: pytest.MonkeyPatch,
                                                                released: threading.Event) -> None:
    from courtsync.calendars.graph import GraphSource
    from tests.mail_fixtures import OPENID, TENANT
    from tests.test_graph import WINDOW
    from tests.test_graph import settings as graph_settings

    monkeypatch.setenv("COURTSYNC_GRAPH_SECRET", "s3cr3t-value")

    hang = hang_on(released)   # msal gives our session no timeout of its own
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/"
                                         "openid-configuration", callback=hang)
        mock.add_callback(responses.POST, OPENID["token_endpoint"], callback=hang)
        given_up_in_time(GraphSource("graph", graph_settings(), {"worker001@agency.example": "w1"}), WINDOW)
        released.set()


def test_a_cold_check_against_a_hung_and_a_trickling_feed_ends_within_the_deadline(
        example_dir: Path, server: FeedServer) -> None:
    import subprocess
    import sys

    body = serve_feed(example_dir, server, Route(hang=True, etag=False), path="/hung.ics")
    server.routes["/trickle.ics"] = Route(body=body, trickle=0.5, etag=False)
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('/hung.ics"]', f'/hung.ics", "{server.url("/trickle.ics")}"]')
                    .replace('max_age = "1h"', 'max_age = "1h"\ndeadline = "3s"'))
    started = time.monotonic()   # a whole process: starting up counts against the deadline too
    result = subprocess.run([sys.executable, "-m", "courtsync", "check", *cfg(example_dir), "--worker", "w20",
                             "--date", "2027-03-03"], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 3 and "will-juv#2" in result.stdout, result.stdout + result.stderr
    assert took < 3.0 + 0.75, f"{took:.2f} s"   # the deadline, and a margin for the exit


def test_a_throttling_back_off_longer_than_the_time_left_is_not_slept() -> None:
    slept: list[float] = []
    throttle = Throttle(timedelta(minutes=10), slept.append)
    with pytest.raises(DeadlineError):
        throttle.wait(300.0, "Exchange at https://mail.agency.example/EWS/Exchange.asmx", left=5.0)
    assert slept == []
    throttle.wait(2.0, "Exchange", left=5.0)   # shorter than the time left: waited out as before
    assert slept == [2.0]


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reader processes even on a one-core machine."""
    import courtsync.sync.readers as readers

    monkeypatch.setattr(readers.os, "cpu_count", lambda: 2)


def test_a_cpu_bound_parse_in_a_reader_process_is_abandoned_at_the_deadline(tmp_path: Path, two_cores: None) -> None:
    sources = [Parse("slow", 8.0)] + [Parse(f"quick{n}") for n in range(9)]
    store = Store(tmp_path / "store.db")
    window = window_for(date(2026, 11, 23), TZ)
    policy = Policy(limit=Limit.command(timedelta(seconds=3)))
    started = time.monotonic()
    reports = sync_sources(store, sources, window, Roster(workers={}), "key", policy=policy)
    assert time.monotonic() - started < 6.0
    outcome = {r.source: r.outcome for r in reports}
    assert outcome["slow"] == "abandoned"
    assert sum(1 for o in outcome.values() if o == "read") >= 4, reports   # the other reader's sources were read


def test_a_reader_process_that_dies_fails_its_sources_and_the_sync_goes_on(tmp_path: Path, two_cores: None) -> None:
    # Bug (found by review): when a reader process died, the next source handed to the broken pool raised out
    # of the sync, and no source after it was reported or stored.
    sources = [Dies("dies", os.getpid())] + [Parse(f"feed{n}") for n in range(14)]
    store = Store(tmp_path / "store.db")
    reports = sync_sources(store, sources, window_for(date(2026, 11, 23), TZ), Roster(workers={}), "key")
    assert [r.source for r in reports] == [s.id for s in sources]
    outcome = {r.source: r.outcome for r in reports}
    assert outcome["dies"] == "failed"
    assert all(o in ("read", "failed") for o in outcome.values())
    assert all(r.error is not None and "stopped" in r.error.message for r in reports if r.outcome == "failed")


def test_a_mail_system_source_does_not_make_the_other_reads_serial(tmp_path: Path, two_cores: None) -> None:
    # Bug: one source that must be read in the sync's own process (a mail system) sent every source there.
    sources = [InProcessParse("mail")] + [Parse(f"feed{n}") for n in range(9)]
    store = Store(tmp_path / "store.db")
    reports = sync_sources(store, sources, window_for(date(2026, 11, 23), TZ), Roster(workers={}), "key")
    assert all(r.outcome == "read" for r in reports), reports
    readers = {i.source: i.summary for i in store.items(TZ, [s.id for s in sources])}
    assert readers["mail"] == f"read by {os.getpid()}"
    assert all(readers[f"feed{n}"] != f"read by {os.getpid()}" for n in range(9))   # read by reader processes


# --- 3. small sources are held ------------------------------------------------------------------------------------

def test_a_court_feed_with_4_hearings_served_empty_is_held(example_dir: Path, run: Runner) -> None:
    feed = example_dir / "feeds" / "will-juvenile.ics"
    feed.write_text(hearings(4))
    assert run("sync", *cfg(example_dir)).exit_code == 0
    feed.write_text(EMPTY)
    result = run("sync", *cfg(example_dir), "--source", "will-juv")
    assert result.exit_code == 3 and "HELD" in result.stdout and "served 0 of 4" in result.stdout
    events = run("events", *cfg(example_dir), "--offline", "--source", "will-juv", "--format", "json")
    data = json.loads(events.stdout)
    assert statuses(data)["will-juv"]["status"] == "suspect" and len(data["events"]) == 4


def test_one_mailbox_served_empty_among_many_is_held_for_that_worker(tmp_path: Path) -> None:
    from courtsync.calendars.mailbox import MailboxItem, MailboxResult, MailboxSource

    class Mail(MailboxSource):
        """A mail system answering from `served` (email -> items); everything else is the real MailboxSource."""

        served: dict[str, list[MailboxItem]] = {}

        def calendar_view(self, email: str, start: datetime, end: datetime) -> MailboxResult:
            return MailboxResult(email, list(self.served[email]))

    mailboxes = {f"w{n}@agency.example": f"w{n}" for n in range(1, 4)}
    at = datetime(2027, 1, 11, 15, tzinfo=UTC)
    item = MailboxItem(uid="u", start=at, end=at + timedelta(hours=1), status="busy")
    source = Mail("exchange", "exchange", "Exchange", mailboxes, timedelta(days=180), timedelta(0))
    source.served = {email: [item] for email in mailboxes}
    store = Store(tmp_path / "store.db")
    window = window_for(date(2026, 11, 23), TZ)
    policy = Policy(max_drop=0.5, upcoming_from=datetime(2026, 11, 23, tzinfo=TZ).timestamp())
    sync_sources(store, [source], window, Roster(workers={}), "key", policy=policy)
    moved = MailboxItem(uid="u", start=at + timedelta(days=1), end=at + timedelta(days=1, hours=1), status="busy")
    source.served = {"w1@agency.example": [moved], "w2@agency.example": [], "w3@agency.example": [item]}
    [report] = sync_sources(store, [source], window, Roster(workers={}), "key", policy=policy)
    assert report.outcome == "read" and report.held == ("w2",)
    assert "held the mailbox(es) of w2" in report_line(report, 8)
    held = [p for p in store.problems(["exchange"]) if "held" in p.reason]
    assert [p.location for p in held] == ["mailbox w2@agency.example (w2)"] and "served 0 of 1" in held[0].reason
    kept = {(i.worker_ids, i.start) for i in store.items(TZ, ["exchange"], None, None, None)}
    assert kept == {(("w1",), moved.start.astimezone(TZ)), (("w2",), at.astimezone(TZ)),
                    (("w3",), at.astimezone(TZ))}


# --- 4. private calendar URLs -------------------------------------------------------------------------------

GOOGLE = "/calendar/ical/caseworker%40gmail.com/private-0f3a9c2e7b1d4e5fa6b7c8d9e0f1a2b3/basic.ics"


@pytest.mark.parametrize("url", [
    "https://calendar.google.com" + GOOGLE,
    "https://outlook.office365.com/owa/calendar/4f8a9c2e1b3d4e5f@agency.org/a1B2c3D4e5F6a7B8c9D0e1/calendar.ics",
    "webcal://p01-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEyMzQ1Njc4OTA",
])
def test_private_calendar_urls_leak_their_secret_path(url: str) -> None:
    shown = redact(url)
    assert re.match(r"^(https|webcal)://[a-z0-9.-]+/", shown) and "…" in shown
    for secret in ("private-0f3a", "caseworker", "4f8a9c2e", "a1B2c3D4", "MTIzNDU2"):
        assert secret not in shown


def test_private_calendar_urls_leak_into_sync_check_and_emailed_digests(example_dir: Path, run: Runner,
                                                                         server: FeedServer) -> None:
    serve_feed(example_dir, server, path=GOOGLE)
    synced = run("sync", *cfg(example_dir))
    assert synced.exit_code == 0 and "private-0f3a" not in synced.stdout and "caseworker" not in synced.stdout
    server.routes[GOOGLE] = Route(body=b"oops", status=500, content_type="text/plain", etag=False)
    failed = run("sync", *cfg(example_dir), "--source", "will-juv")
    checked = run("check", *cfg(example_dir), "--worker", "w20", "--date", "2027-03-03", "--format", "json")
    digest = run("digest", *cfg(example_dir), "--offline", "--out", str(example_dir / "out"))
    texts = [failed.stdout, checked.stdout, checked.stderr, digest.stdout]
    texts += [p.read_text() for p in (example_dir / "out").iterdir()]
    assert "HTTP 500" in failed.stdout and any("will-juv" in t for t in texts[4:])
    for text in texts:
        assert "private-0f3a" not in text and "caseworker" not in text
    for mail in texts[4:]:   # digests name the source by its id, never by its address
        assert "127.0.0.1" not in mail and "calendar/ical" not in mail


# --- 5. wording -------------------------------------------------------------------------------------------

class Named:
    id, kind, owner, label = "cook-cpd#2", "court", None, "https://court.example/feed.ics"


def row(**kw: object) -> SourceRow:
    base: dict[str, object] = {"id": "cook-cpd#2", "kind": "court", "label": Named.label, "synced_at": None,
                               "attempted_at": None, "error": None, "events": 0, "window": "", "validators": {},
                               "round_trips": 0, "owners_key": ""}
    base.update(kw)
    return SourceRow(**base)  # type: ignore[arg-type]


def test_a_source_never_read_is_not_said_never_read_twice() -> None:
    health = SourceHealth(failures=1, retry_after=None, timed_out=True, held=None, held_at=None)
    text = unread_text(source_info(Named(), None, 1e9, timedelta(hours=1), health))  # type: ignore[arg-type]
    assert text.startswith("cook-cpd#2 was never read: the last re-read") and text.count("never read") == 1


def test_a_failed_source_is_not_worded_with_doubled_punctuation() -> None:
    health = SourceHealth(failures=1, retry_after=1e9 + 55, timed_out=False, held=None, held_at=None)
    error = "Cannot connect to https://court.example/feed.ics (connection refused)."
    info = source_info(Named(), row(error=error), 1e9, timedelta(hours=1), health)  # type: ignore[arg-type]
    assert info.error == ("Cannot connect to https://court.example/feed.ics (connection refused); commands try "
                          "it again in 55 s (`courtsync sync` tries now)")
    line = report_line(SyncReport("cook-cpd#2", Named.label, "failed", 0, 0, 0, 0, 0.1, 1, SourceError(error)), 10)
    assert ".;" not in line and line.endswith("(connection refused); nothing stored yet")


def test_an_abandoned_or_skipped_read_is_not_reported_unchanged() -> None:
    for outcome in ("abandoned", "skipped"):
        line = report_line(SyncReport("cook-cpd", Named.label, outcome, 12, 0, 0, 0, 10.0, 0,
                                      DeadlineError("deadline")), 8)
        assert "unchanged" not in line and outcome.upper() in line and "12 items" in line


def test_the_emailed_digest_says_nothing_of_when_commands_retry(example_dir: Path, run: Runner,
                                                                  server: FeedServer) -> None:
    serve_feed(example_dir, server)
    assert run("sync", *cfg(example_dir)).exit_code == 0
    server.routes["/will.ics"] = Route(body=b"oops", status=500, content_type="text/plain", etag=False)
    assert run("sync", *cfg(example_dir), "--source", "will-juv").exit_code == 3
    out = example_dir / "out"
    result: Run = run("digest", *cfg(example_dir), "--offline", "--out", str(out))
    mails = [p.read_text() for p in out.iterdir()]
    assert mails and all("will-juv" in m for m in mails), result.stdout + result.stderr
    assert not any("try it again" in m or "tries now" in m for m in mails)
