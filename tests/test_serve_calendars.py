"""Subscribable calendars over real HTTP: keyed links from `courtsync links`, ETag and Last-Modified with 304s,
a wrong key told apart from nothing, and a session that leaves a calendar published as CANCELLED."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import icalendar
import pytest

from tests.conftest import Run
from tests.test_serve import _start

SECRET = "a-long-random-secret-for-the-tests-0123456789"


@pytest.fixture
def service(example_dir: Path, run: Callable[..., Run],
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    config = example_dir / "courtsync.toml"
    config.write_text(config.read_text() + '\n[server]\nauth = "none"\nsecret_env = "COURTSYNC_SECRET"\n')
    monkeypatch.setenv("COURTSYNC_SECRET", SECRET)
    proc, base = _start(config)
    yield config, base
    proc.terminate()
    log = proc.communicate(timeout=10)[0].decode()
    assert "Traceback" not in log and SECRET not in log, log
    assert "key=" not in log, "no log line carries a calendar's key"


def link(run: Callable[..., Run], config: Path, base: str, *which: str) -> str:
    result = run("links", "--config", config, *which)
    assert result.exit_code == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("http://127.0.0.1:8080/calendars/")   # no base_url: the demo address, with a note
    assert "base_url is not set" in result.stderr
    return url.replace("http://127.0.0.1:8080", base)


def events(data: bytes) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def test_a_worker_subscribes_with_the_link_and_polls_with_304s(service: tuple[Path, str],
                                                              run: Callable[..., Run]) -> None:
    config, base = service
    url = link(run, config, base, "--worker", "w01")
    first = httpx.get(url)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/calendar")
    assert first.headers["cache-control"] == "private, max-age=300"
    assert events(first.content), "the worker's protected sessions"
    same = run("dates", "--config", config, "--worker", "w01", "--format", "ics")
    assert events(same.stdout_bytes).keys() == events(first.content).keys()   # what `dates --format ics` says
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert httpx.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


@pytest.mark.parametrize("which", [("--court", "cook-cpd"), ("--collaborative", "cook-regional")])
def test_a_court_clerk_and_a_collaborative_open_their_own_links(service: tuple[Path, str], run: Callable[..., Run],
                                                               which: tuple[str, str]) -> None:
    config, base = service
    answer = httpx.get(link(run, config, base, *which))
    assert answer.status_code == 200 and events(answer.content)


def test_a_forged_or_borrowed_key_is_the_same_404_as_an_id_that_names_nothing(service: tuple[Path, str],
                                                                             run: Callable[..., Run]) -> None:
    config, base = service
    w01 = link(run, config, base, "--worker", "w01")
    key = w01.split("key=", 1)[1]
    answers = [httpx.get(w01.replace(key, "0" * len(key))),                      # forged
               httpx.get(w01.replace("/w01.ics", "/w02.ics")),                   # w01's key on w02's calendar
               httpx.get(w01.split("?")[0]),                                      # no key
               httpx.get(f"{base}/calendars/worker/nobody.ics?key={key}"),        # no such worker
               httpx.get(w01.replace("/worker/", "/court/"))]                     # another kind
    assert {(a.status_code, a.content) for a in answers} == {(404, b"No such calendar.\n")}
    assert "w01" not in "".join(a.text for a in answers)


def test_without_a_secret_no_link_is_made_and_none_opens(example_dir: Path, run: Callable[..., Run]) -> None:
    config = example_dir / "courtsync.toml"
    config.write_text(config.read_text() + '\n[server]\nauth = "none"\nsecret_env = "COURTSYNC_SECRET"\n')
    result = run("links", "--config", config, "--worker", "w01")
    assert result.exit_code == 2 and "$COURTSYNC_SECRET is not set" in result.stderr
    unknown = run("links", "--config", config, "--worker", "nobody")
    assert unknown.exit_code == 2 and "No worker with id 'nobody'" in unknown.stderr
    proc, base = _start(config)
    try:
        assert httpx.get(f"{base}/calendars/worker/w01.ics?key=anything").status_code == 404
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_session_that_leaves_the_calendar_is_served_cancelled_with_a_higher_sequence(
        service: tuple[Path, str], run: Callable[..., Run]) -> None:
    config, base = service
    url = link(run, config, base, "--collaborative", "cook-regional")
    first = httpx.get(url)
    before = events(first.content)
    text = config.read_text()
    assert "cancelled = [" not in text.split('id = "cook-regional"')[1].split("[[")[0]
    uid, dropped = sorted(before.items(), key=lambda pair: pair[1].decoded("DTSTART"))[-1]   # the last session
    day = dropped.decoded("DTSTART").date().isoformat()
    config.write_text(text.replace('id = "cook-regional"', f'id = "cook-regional"\ncancelled = [{day}]', 1))
    second = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    gone = events(second.content)[uid]
    assert str(gone["STATUS"]) == "CANCELLED"
    assert int(gone["SEQUENCE"]) > int(before[uid].get("SEQUENCE", 0))
    assert httpx.get(url, headers={"If-None-Match": second.headers["etag"]}).status_code == 304


def test_links_needs_one_calendar(example_dir: Path) -> None:
    both = subprocess.run([sys.executable, "-m", "courtsync", "links", "--config", str(example_dir / "courtsync.toml"),
                           "--worker", "w01", "--court", "cook-cpd"], capture_output=True, text=True)
    assert both.returncode == 2 and "Name one calendar" in both.stderr


def test_a_subscribed_calendar_changes_when_an_enrollment_is_committed(service: tuple[Path, str],
                                                                       run: Callable[..., Run]) -> None:
    """The poll that would be a 304 is answered anew: membership lives in the store, not in the files kept."""
    import time

    config, base = service
    url = link(run, config, base, "--worker", "w25")
    first = httpx.get(url)
    assert httpx.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert run("enroll", "--config", config, "--commit").exit_code == 0   # w25: cook-south -> will-joliet
    time.sleep(1.1)   # (the server reads the enrollments' state at most once a second)
    second = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    will = [e for e in events(second.content).values() if "Will County" in str(e["SUMMARY"])]
    assert will and all(str(e.get("STATUS", "CONFIRMED")) != "CANCELLED" for e in will)
    gone = [e for e in events(second.content).values() if "Cook South" in str(e["SUMMARY"])]
    assert gone and all(str(e["STATUS"]) == "CANCELLED" for e in gone)
