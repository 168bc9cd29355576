"""The published .ics read by the real parsers clients use: icalendar, vobject (validating), Mozilla's ical.js
(Thunderbird, Nextcloud) through Node, libical (Evolution; its RFC 5546 restriction checks), and a CalDAV
server (Radicale) taking an import and a re-import. Node and libical checks skip where those are missing,
except under CI (the variable CI set), where .ci/run installs them and a skip would hide a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
import vobject
from icalendar import Calendar

from tests.conftest import ROOT, Run

Runner = Callable[..., Run]
JS = ROOT / "tests" / "js"
SUMMER = """
[[collaborative]]
id = "summer"
name = "Summer Institute"
kind = "regional"
location = "1 Main St, Springfield, IL 62701"
dates = [2027-07-14, 2027-09-08, 2027-12-08, 2028-07-12]
start = 09:00:00
end = 16:00:00
"""
JULY, SEPTEMBER, DECEMBER = ("summer-20270714@courtsync", "summer-20270908@courtsync",
                             "summer-20271208@courtsync")
NEXT_JULY = "summer-20280712@courtsync"   # a second year: the calendar's first year is then the one ical.js misread


def require(ok: bool, why: str) -> None:
    """Skip a check whose tool is missing here, but fail it under CI, which must prove it."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must run this check (.ci/run installs it)")
    pytest.skip(why)


@pytest.fixture
def summer(config_dir: Path) -> Path:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + SUMMER)
    return config_dir


def publish(run: Runner, config_dir: Path, out: Path, as_of: str = "2027-01-01") -> bytes:
    result = run("dates", "--config", config_dir / "courtsync.toml", "--collaborative", "summer", "--all",
                 "--format", "ics", "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    out.write_bytes(result.stdout_bytes)
    return result.stdout_bytes


def change_summer(config_dir: Path) -> None:
    """July moved a week, September cancelled, December taken out of the dates (removed)."""
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace("dates = [2027-07-14, 2027-09-08, 2027-12-08, 2028-07-12]\n",
                                             "dates = [2027-07-14, 2027-09-08, 2028-07-12]\n"
                                             "cancelled = [2027-09-08]\n"
                                             "moved = [{ from = 2027-07-14, to = 2027-07-21 }]\n"))


def utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


# --- icalendar and vobject ----------------------------------------------------------------------

def test_icalendar_reads_every_event_at_its_instant(summer: Path, run: Runner, tmp_path: Path) -> None:
    cal = Calendar.from_ical(publish(run, summer, tmp_path / "a.ics"))
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert all(not e.errors for e in events.values())
    assert utc(events[JULY].start) == "2027-07-14T14:00Z" and utc(events[DECEMBER].start) == "2027-12-08T15:00Z"


def test_vobject_validates_the_calendar_and_its_updates(summer: Path, run: Runner, tmp_path: Path) -> None:
    for step in range(2):
        text = publish(run, summer, tmp_path / f"{step}.ics", as_of=f"2027-01-0{step + 1}").decode()
        cal = vobject.readOne(text, validate=True)
        assert cal.validate(raiseException=True)
        starts = {e.uid.value: (utc(e.dtstart.value), e.status.value, int(e.sequence.value)) for e in cal.vevent_list}
        if step == 0:
            assert starts[JULY] == ("2027-07-14T14:00Z", "CONFIRMED", 0)
            assert starts[DECEMBER] == ("2027-12-08T15:00Z", "CONFIRMED", 0)
            change_summer(summer)
        else:
            assert starts[JULY] == ("2027-07-21T14:00Z", "CONFIRMED", 1)
            assert starts[SEPTEMBER][1:] == ("CANCELLED", 1)
            assert starts[DECEMBER] == ("2027-12-08T15:00Z", "CANCELLED", 1)


# --- ical.js (Thunderbird, Nextcloud) -----------------------------------------------------------

def icaljs(path: Path) -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    install = "`cd tests/js && npm ci` (from the project folder) installs it"
    require(node is not None, f"node is not installed (Debian: nodejs npm); then ical.js: {install}")
    require((JS / "node_modules" / "ical.js").is_dir(), f"ical.js is not installed: {install}")
    assert node is not None
    done = subprocess.run([node, str(JS / "read_ics.mjs"), str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {e["uid"]: e for e in json.loads(done.stdout)}


def test_icaljs_reads_a_first_year_daylight_session_at_its_utc_instant(summer: Path, run: Runner,
                                                                       tmp_path: Path) -> None:
    publish(run, summer, tmp_path / "a.ics")
    events = icaljs(tmp_path / "a.ics")
    assert events[JULY]["start"] == "2027-07-14T14:00:00.000Z"       # 09:00 CDT, not an hour late
    assert events[JULY]["end"] == "2027-07-14T21:00:00.000Z"
    assert events[DECEMBER]["start"] == "2027-12-08T15:00:00.000Z"   # 09:00 CST
    assert events[NEXT_JULY]["start"] == "2028-07-12T14:00:00.000Z"
    assert {e["tzid"] for e in events.values()} == {"America/Chicago"}


def test_icaljs_reads_a_move_a_cancellation_and_a_removal_as_updates(summer: Path, run: Runner,
                                                                     tmp_path: Path) -> None:
    publish(run, summer, tmp_path / "a.ics")
    before = icaljs(tmp_path / "a.ics")
    change_summer(summer)
    publish(run, summer, tmp_path / "b.ics", as_of="2027-01-05")
    after = icaljs(tmp_path / "b.ics")
    assert sorted(after) == sorted(before)                              # same UIDs: updates, not copies
    assert after[JULY]["start"] == "2027-07-21T14:00:00.000Z"
    for uid in (JULY, SEPTEMBER, DECEMBER):
        assert after[uid]["sequence"] > before[uid]["sequence"]
        assert after[uid]["dtstamp"] > before[uid]["dtstamp"]
    assert after[NEXT_JULY] == before[NEXT_JULY]                      # unchanged: same SEQUENCE and DTSTAMP
    assert (after[SEPTEMBER]["status"], after[DECEMBER]["status"]) == ("CANCELLED", "CANCELLED")


# --- libical ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def libical_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/libical_check.c compiled against the machine's libical (Debian: libical-dev)."""
    gcc, pkg = shutil.which("gcc"), shutil.which("pkg-config")
    require(gcc is not None and pkg is not None, "gcc or pkg-config is not installed")
    assert gcc is not None and pkg is not None
    flags = subprocess.run([pkg, "--cflags", "--libs", "libical"], capture_output=True, text=True)
    require(flags.returncode == 0, "libical is not installed (Debian: libical-dev)")
    exe = tmp_path_factory.mktemp("libical") / "libical_check"
    built = subprocess.run([gcc, "-Wall", "-o", str(exe), str(ROOT / "tests" / "libical_check.c"),
                            *flags.stdout.split()], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return exe


def libical_problems(exe: Path, path: Path) -> list[str]:
    done = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    return sorted(set(done.stdout.splitlines()))


def test_libical_finds_no_errors_nor_restriction_failures(summer: Path, run: Runner, tmp_path: Path,
                                                           libical_check: Path) -> None:
    publish(run, summer, tmp_path / "a.ics")
    assert libical_problems(libical_check, tmp_path / "a.ics") == []
    change_summer(summer)      # moved, cancelled and removed sessions too
    publish(run, summer, tmp_path / "b.ics", as_of="2027-01-05")
    assert libical_problems(libical_check, tmp_path / "b.ics") == []


def test_libical_check_catches_publish_without_organizer(summer: Path, run: Runner, tmp_path: Path,
                                                         libical_check: Path) -> None:
    # What courtsync wrote before: METHOD:PUBLISH and no ORGANIZER. The check above is not vacuous.
    data = publish(run, summer, tmp_path / "a.ics").replace(b"VERSION:2.0\r\n", b"VERSION:2.0\r\nMETHOD:PUBLISH\r\n")
    (tmp_path / "old.ics").write_bytes(data)
    assert any("ORGANIZER" in p for p in libical_problems(libical_check, tmp_path / "old.ics"))


# --- a CalDAV server: import, then re-import --------------------------------------------------------

class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def caldav(tmp_path: Path) -> Iterator[str]:
    """A real Radicale server on 127.0.0.1 with one calendar; yields the calendar's URL."""
    import radicale
    import radicale.config

    conf = radicale.config.load([])
    conf.update({"auth": {"type": "none"}, "rights": {"type": "owner_only"},
                 "storage": {"filesystem_folder": str(tmp_path / "radicale")}, "logging": {"level": "error"}},
                "test", privileged=True)
    server = make_server("127.0.0.1", 0, radicale.Application(conf), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/lc/protected/"
        assert requests.request("MKCALENDAR", url, auth=("lc", ""), timeout=10).status_code == 201
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def objects(data: bytes) -> dict[str, bytes]:
    """One calendar object per VEVENT (with the VTIMEZONE), as a CalDAV client uploads an import."""
    cal = Calendar.from_ical(data)
    out = {}
    for event in cal.walk("VEVENT"):
        one = Calendar.new(prodid=str(cal["PRODID"]))
        for vtz in cal.walk("VTIMEZONE"):
            one.add_component(vtz)
        one.add_component(event)
        out[str(event["UID"])] = one.to_ical()
    return out


def stored(url: str) -> dict[str, Any]:
    """What the server holds now: each object's UID, start, status and sequence (read back with icalendar)."""
    body = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter>'
            '</C:calendar-query>')
    answer = requests.request("REPORT", url, data=body, auth=("lc", ""), timeout=10,
                              headers={"Depth": "1", "Content-Type": "application/xml"})
    assert answer.status_code == 207, answer.text
    out: dict[str, Any] = {}
    for chunk in answer.text.split("BEGIN:VCALENDAR")[1:]:
        text = "BEGIN:VCALENDAR" + chunk.split("END:VCALENDAR")[0] + "END:VCALENDAR\r\n"
        for e in Calendar.from_ical(text.replace("&#13;", "").encode()).walk("VEVENT"):
            assert str(e["UID"]) not in out, "a re-import added a copy"
            out[str(e["UID"])] = (utc(e.start), str(e["STATUS"]), int(e["SEQUENCE"]))
    return out


def test_caldav_server_takes_an_import_and_a_reimport(summer: Path, run: Runner, tmp_path: Path,
                                                      caldav: str) -> None:
    auth = ("lc", "")
    first = objects(publish(run, summer, tmp_path / "a.ics"))
    for uid, obj in first.items():
        put = requests.put(f"{caldav}{uid}.ics", data=obj, auth=auth, timeout=10,
                           headers={"Content-Type": "text/calendar", "If-None-Match": "*"})
        assert put.status_code == 201, put.text
    assert stored(caldav)[JULY] == ("2027-07-14T14:00Z", "CONFIRMED", 0)
    change_summer(summer)
    second = objects(publish(run, summer, tmp_path / "b.ics", as_of="2027-01-05"))
    assert sorted(second) == sorted(first)
    for uid, obj in second.items():   # the re-import: each object replaces the one with its UID
        put = requests.put(f"{caldav}{uid}.ics", data=obj, auth=auth, timeout=10,
                           headers={"Content-Type": "text/calendar"})
        assert put.status_code in (201, 204), put.text
    now = stored(caldav)
    assert now == {JULY: ("2027-07-21T14:00Z", "CONFIRMED", 1), SEPTEMBER: ("2027-09-08T14:00Z", "CANCELLED", 1),
                   DECEMBER: ("2027-12-08T15:00Z", "CANCELLED", 1), NEXT_JULY: ("2028-07-12T14:00Z", "CONFIRMED", 0)}
    # The whole file, as a client imports a calendar in one request, is taken too and splits by UID.
    whole = requests.put(caldav, data=(tmp_path / "b.ics").read_bytes(), auth=auth, timeout=10,
                         headers={"Content-Type": "text/calendar"})
    assert whole.status_code in (201, 204), whole.text
    assert stored(caldav) == now


def test_a_missing_parser_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this check"):
        require(False, "node is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require(False, "node is not installed")


def test_a_missing_icaljs_is_skipped_with_the_command_that_installs_it(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys.modules[__name__], "JS", tmp_path)   # as in a fresh clone: no node_modules
    with pytest.raises(pytest.skip.Exception) as skipped:
        icaljs(tmp_path / "a.ics")
    assert "`cd tests/js && npm ci`" in str(skipped.value), skipped.value


def test_the_readme_test_command_says_how_to_install_icaljs() -> None:
    readme = (ROOT / "README.md").read_text()
    run_the_tests = readme.split("**Run the tests**", 1)[1].split("\n#", 1)[0]
    development = readme.split("\n## Development", 1)[1].split("\n## ", 1)[0]
    for section in (run_the_tests, development):
        assert "cd tests/js && npm ci" in section and "skip" in section
