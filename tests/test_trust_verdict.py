"""issue 11, "free only when it is true": the verdict `unknown`, per-worker trust, own-calendar notes, and a
collaborative's own buffer."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import responses

from courtsync.core.conflicts import collisions, collisions_at
from courtsync.core.explain import unread_text
from courtsync.models import BusyItem, Session, SourceInfo
from courtsync.queries.calendar_view import CalendarView
from courtsync.sync.engine import window_for
from tests.calendar_helpers import CALENDARS
from tests.conftest import AS_OF, Run
from tests.test_graph import graph, schedule_server  # noqa: F401  (graph is a fixture)

Runner = Callable[..., Run]
FREE_DAY = "2026-11-24"        # a Tuesday with no session and no hearing for w03 in the example
OWN = CALENDARS / "personal" / "own_calendar.ics"


def cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def check(run: Runner, d: Path, worker: str, *extra: str) -> tuple[Run, dict[str, Any]]:
    result = run("check", *cfg(d), "--worker", worker, *extra, "--format", "json")
    return result, json.loads(result.stdout)


def own_calendars(d: Path, calendars: dict[str, Path]) -> None:
    """Give these workers a `calendar` column entry in the example's workers.csv."""
    path = d / "workers.csv"
    rows = path.read_text().splitlines()
    out = [rows[0] + ",calendar"]
    for row in rows[1:]:
        wid = row.split(",", 1)[0]
        out.append(row + "," + (str(calendars[wid]) if wid in calendars else ""))
    path.write_text("\n".join(out) + "\n")


def break_will(run: Runner, d: Path) -> None:
    """A court feed that was read, then fails (a login page served in its place)."""
    assert run("sync", *cfg(d)).exit_code == 0
    (d / "feeds" / "will-juvenile.ics").write_text("<html>login</html>")
    assert run("sync", *cfg(d)).exit_code == 3


def first_session(run: Runner, d: Path, worker: str) -> str:
    data = json.loads(run("dates", *cfg(d), "--worker", worker, "--format", "json").stdout)
    return str(data["sessions"][0]["date"])


# --- the verdict -----------------------------------------------------------------------------------

def test_check_says_unknown_not_free_when_a_court_feed_failed(example_dir: Path, run: Runner) -> None:
    break_will(run, example_dir)
    result, data = check(run, example_dir, "w03", "--date", FREE_DAY)
    assert result.exit_code == 3
    assert data["verdict"] == "unknown"
    unread = [r for r in data["reasons"] if r["kind"] == "unread"]
    assert len(unread) == 1 and "will-juv" in unread[0]["message"] and "failed" in unread[0]["message"]
    assert {s["id"]: s["status"] for s in data["sources"]} == {"cook-cpd": "ok", "will-juv": "error"}
    assert set(data) >= {"verdict", "reasons", "suggestions", "makeups", "sources", "problems", "conflicts"}
    table = run("check", *cfg(example_dir), "--worker", "w03", "--date", FREE_DAY)
    assert table.exit_code == 3
    assert "UNKNOWN" in table.stdout and "FREE" not in table.stdout
    assert "will-juv" in table.stdout and "will-juv" in table.stderr


def test_check_says_unknown_when_the_workers_own_calendar_was_never_read(example_dir: Path, run: Runner) -> None:
    own_calendars(example_dir, {"w03": example_dir / "not-there.ics"})
    result, data = check(run, example_dir, "w03", "--date", FREE_DAY)
    assert result.exit_code == 3 and data["verdict"] == "unknown"
    (unread,) = [r for r in data["reasons"] if r["kind"] == "unread"]
    assert "calendar:w03" in unread["message"] and "never read" in unread["message"]
    offline, data = check(run, example_dir, "w01", "--date", FREE_DAY, "--offline")
    assert offline.exit_code == 0 and data["verdict"] == "free"   # w01's sources were read by the first check


def test_a_taken_date_is_conflict_whatever_else_is_unread(example_dir: Path, run: Runner) -> None:
    break_will(run, example_dir)
    day = first_session(run, example_dir, "w03")
    result, data = check(run, example_dir, "w03", "--date", day)
    assert result.exit_code == 1 and data["verdict"] == "conflict"
    assert any(r["kind"] == "unread" and "will-juv" in r["message"] for r in data["reasons"])


def test_suggestions_are_never_offered_over_unread_calendars(example_dir: Path, run: Runner) -> None:
    break_will(run, example_dir)
    day = first_session(run, example_dir, "w03")
    _, data = check(run, example_dir, "w03", "--date", day, "--suggest", "3")
    assert data["suggestions"] == []
    assert any(r["kind"] == "suggestions" and "will-juv" in r["message"] for r in data["reasons"])
    table = run("check", *cfg(example_dir), "--worker", "w03", "--date", day)
    assert "No free business date found" not in table.stdout and "not offered" in table.stdout


# --- per-worker trust ------------------------------------------------------------------------------

def test_one_failed_personal_calendar_does_not_change_another_workers_answer(example_dir: Path,
                                                                            run: Runner) -> None:
    own_calendars(example_dir, {"w01": CALENDARS / "broken" / "html_login.ics", "w02": OWN})
    assert run("sync", *cfg(example_dir)).exit_code == 3
    result, data = check(run, example_dir, "w03", "--date", FREE_DAY)
    assert result.exit_code == 0 and data["verdict"] == "free", result.stdout
    assert "calendar:w01" not in result.stdout and "calendar:w02" not in result.stdout
    assert run("check", *cfg(example_dir), "--worker", "w03", "--date", FREE_DAY).stderr.count("ERROR") == 0
    assert run("scan", *cfg(example_dir), "--worker", "w03").exit_code == 0
    assert run("check", *cfg(example_dir), "--worker", "w03").exit_code == 0      # upcoming conflicts
    theirs, data = check(run, example_dir, "w01", "--date", FREE_DAY)
    assert theirs.exit_code == 3 and data["verdict"] == "unknown"
    assert any("calendar:w01" in r["message"] for r in data["reasons"] if r["kind"] == "unread")
    # A whole scan is everyone's answer: one unread calendar makes it incomplete, and names whose it is.
    everyone = run("scan", *cfg(example_dir))
    assert everyone.exit_code == 3 and "calendar:w01" in everyone.stderr


def graph_example(d: Path) -> None:
    toml = d / "courtsync.toml"
    toml.write_text(toml.read_text() + '\n[graph]\ntenant_id = "11111111-2222-3333-4444-555555555555"\n'
                    'client_id = "66666666-7777-8888-9999-000000000000"\n'
                    'client_secret_env = "COURTSYNC_GRAPH_SECRET"\nmode = "free-busy"\n')


def test_a_failed_mailbox_of_one_worker_does_not_change_another_workers_answer(
        example_dir: Path, run: Runner, graph: responses.RequestsMock) -> None:  # noqa: F811
    graph_example(example_dir)
    schedule_server(graph, unknown={"tamika.johnson@agency.example"})   # w01's mailbox is not found
    assert run("sync", *cfg(example_dir)).exit_code == 0
    result, data = check(run, example_dir, "w03", "--date", FREE_DAY, "--offline")
    assert result.exit_code == 0 and data["verdict"] == "free", result.stdout
    assert {s["id"]: s["status"] for s in data["sources"]}["graph"] == "ok"
    assert not any("tamika" in p["location"] for p in data["problems"])
    theirs, data = check(run, example_dir, "w01", "--date", FREE_DAY, "--offline")
    assert theirs.exit_code == 3 and data["verdict"] == "unknown"
    assert {s["id"]: s["status"] for s in data["sources"]}["graph"] == "error"
    assert any("graph" in r["message"] and "mailbox" in r["message"] for r in data["reasons"]
               if r["kind"] == "unread")
    assert run("scan", *cfg(example_dir), "--worker", "w03", "--offline").exit_code in (0, 1)
    assert run("scan", *cfg(example_dir), "--worker", "w01", "--offline").exit_code == 3


def test_a_mailbox_added_after_the_last_read_is_never_read_not_free(
        example_dir: Path, run: Runner, graph: responses.RequestsMock) -> None:  # noqa: F811
    graph_example(example_dir)
    schedule_server(graph)
    assert run("sync", *cfg(example_dir)).exit_code == 0
    workers = example_dir / "workers.csv"
    workers.write_text(workers.read_text() + "w99,New Hire,new.hire@agency.example,caseworker,Chicago North,s01,"
                                             "cook-north\n")
    result, data = check(run, example_dir, "w99", "--date", FREE_DAY, "--offline")
    assert result.exit_code == 3 and data["verdict"] == "unknown"
    assert any("never read" in r["message"] for r in data["reasons"] if r["kind"] == "unread")


# --- notes and counts ------------------------------------------------------------------------------

def test_a_worker_with_no_calendar_of_their_own_gets_a_note_that_outlook_was_not_consulted(
        example_dir: Path, run: Runner) -> None:
    result, data = check(run, example_dir, "w03", "--date", FREE_DAY)
    assert result.exit_code == 0 and data["verdict"] == "free"    # a note, not a reason to doubt
    (note,) = [r for r in data["reasons"] if r["kind"] == "note"]
    assert "Outlook" in note["message"] and "not consulted" in note["message"]
    table = run("check", *cfg(example_dir), "--worker", "w03", "--date", FREE_DAY)
    assert "Outlook" in table.stdout and "not consulted" in table.stdout
    upcoming = run("check", *cfg(example_dir), "--worker", "w03")
    assert "not consulted" in upcoming.stdout
    own_calendars(example_dir, {"w03": OWN})
    _, data = check(run, example_dir, "w03", "--date", FREE_DAY)
    assert not [r for r in data["reasons"] if r["kind"] == "note"]


def test_the_calendar_source_count_is_only_the_workers_own_sources_and_names_them(example_dir: Path,
                                                                                  run: Runner) -> None:
    own_calendars(example_dir, {"w01": OWN, "w02": OWN})
    _, data = check(run, example_dir, "w03", "--date", FREE_DAY)
    (free,) = [r for r in data["reasons"] if r["kind"] == "free"]
    assert "no busy item in 2 calendar source(s) (cook-cpd, will-juv)" in free["message"]
    _, data = check(run, example_dir, "w01", "--date", FREE_DAY)
    (free,) = [r for r in data["reasons"] if r["kind"] == "free"]
    assert "no busy item in 3 calendar source(s) (cook-cpd, will-juv, calendar:w01)" in free["message"]
    assert [s["id"] for s in data["sources"]] == ["cook-cpd", "will-juv", "calendar:w01"]


# --- a collaborative's own buffer ------------------------------------------------------------------

@pytest.fixture
def virtual_kinship(config_dir: Path) -> Path:
    toml = config_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('dates = [2027-02-12, 2027-05-07]\n',
                                             'dates = [2027-02-12, 2027-05-07]\nbuffer = "0m"\n'))
    return config_dir


def test_a_virtual_collaborative_with_buffer_0m_does_not_refuse_a_hearing_before_it(virtual_kinship: Path,
                                                                                   run: Runner) -> None:
    # Kinship meets 13:00-15:00 on Fri 2027-05-07 (a Teams meeting); the global buffer is 60m, the court's 90m.
    base = ["check", "--config", str(virtual_kinship / "courtsync.toml"), "--worker", "w1", "--date", "2027-05-07"]
    result = run(*base, "--time", "11:30-12:15")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert run(*base, "--time", "11:30-12:15", "--court", "cook-cpd").exit_code == 0
    assert run(*base, "--time", "12:30-13:30").exit_code == 1          # the session itself is still protected
    # cook-north sets no buffer of its own: the court's and the global one still apply to it.
    north = ["check", "--config", str(virtual_kinship / "courtsync.toml"), "--worker", "w1", "--date", "2027-04-21"]
    assert run(*north, "--time", "16:30-17:00").exit_code == 1
    assert run(*north, "--time", "17:00-17:30", "--court", "cook-cpd").exit_code == 1


def test_a_collaboratives_own_buffer_comes_before_the_courts_in_scan(example_dir: Path, run: Runner) -> None:
    scan = json.loads(run("scan", *cfg(example_dir), "--worker", "w02", "--format", "json").stdout)
    assert [c["kind"] for c in scan["conflicts"]] == ["buffer"]      # 17:00 inside cook-cpd's 90 minutes
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    head, tail = text.split('id = "cook-north"\n', 1)
    toml.write_text(head + 'id = "cook-north"\nbuffer = "0m"\n' + tail)
    after = run("scan", *cfg(example_dir), "--worker", "w02", "--format", "json")
    assert after.exit_code == 0, after.stdout + after.stderr
    assert json.loads(after.stdout)["conflicts"] == []


def test_one_failed_personal_calendar_is_unread_only_in_its_owners_teams_digest(example_dir: Path, run: Runner,
                                                                               tmp_path: Path) -> None:
    own_calendars(example_dir, {"w01": CALENDARS / "broken" / "html_login.ics", "w13": OWN})
    out = tmp_path / "digests"
    result = run("digest", *cfg(example_dir), "--week", "2026-W50", "--out", out)
    assert result.exit_code == 3                                           # one team's digest is incomplete
    theirs = (out / "digest-s01-2026-W50.txt").read_text()                # w01's supervisor
    assert "could not be read" in theirs and "calendar:w01" in theirs
    for other in ("s02", "s03", "s04", "a001"):
        text = (out / f"digest-{other}-2026-W50.txt").read_text()
        assert "could not be read" not in text and "calendar:w01" not in text, other


def test_a_failed_mailbox_is_unread_only_in_its_owners_teams_digest(
        example_dir: Path, run: Runner, graph: responses.RequestsMock, tmp_path: Path) -> None:  # noqa: F811
    graph_example(example_dir)
    schedule_server(graph, unknown={"tamika.johnson@agency.example"})   # w01, in s01's team
    assert run("sync", *cfg(example_dir)).exit_code == 0
    out = tmp_path / "digests"
    assert run("digest", *cfg(example_dir), "--week", "2026-W50", "--out", out, "--offline").exit_code == 3
    assert "mailbox of w01" in (out / "digest-s01-2026-W50.txt").read_text()
    for other in ("s02", "s03", "s04", "a001"):
        assert "could not be read" not in (out / f"digest-{other}-2026-W50.txt").read_text(), other


def test_make_up_sessions_are_never_offered_over_unread_calendars(example_dir: Path, run: Runner) -> None:
    north = json.loads(run("dates", *cfg(example_dir), "--collaborative", "cook-north", "--format", "json").stdout)
    day = north["sessions"][0]["date"]                         # cook-south, same tier and month, is a make-up
    _, before = check(run, example_dir, "w01", "--date", day)
    assert before["makeups"]                                   # all read: make-ups are offered
    break_will(run, example_dir)
    result, data = check(run, example_dir, "w01", "--date", day)
    assert result.exit_code == 1 and data["makeups"] == []
    assert any(r["kind"] == "makeups" and "will-juv" in r["message"] for r in data["reasons"])
    upcoming = run("check", *cfg(example_dir), "--worker", "w01", "--format", "json")
    data = json.loads(upcoming.stdout)
    assert upcoming.exit_code == 3 and data["conflicts"] and not any(c.get("makeups") for c in data["conflicts"])
    assert any("Make-up sessions are not offered" in n for n in data["notes"])


def test_any_status_but_ok_is_unread_so_a_new_suspect_status_is_never_free() -> None:
    held = SourceInfo("cook-cpd", "court", "suspect", datetime(2026, 11, 23, tzinfo=UTC), 19,  # type: ignore[arg-type]
                      "lost 19 of 19 upcoming items; the last good copy is kept")
    fine = SourceInfo("will-juv", "court", "ok", datetime(2026, 11, 23, tzinfo=UTC), 5)
    view = CalendarView(sources=[held, fine], problems=[], synced=[],
                        window=window_for(date(2026, 11, 23), ZoneInfo("America/Chicago")))
    assert view.unread == [held] and view.incomplete
    assert unread_text(held) == "cook-cpd is suspect: lost 19 of 19 upcoming items; the last good copy is kept"


def test_a_sessions_own_buffer_comes_before_the_items_in_both_collision_searches() -> None:
    chi = ZoneInfo("America/Chicago")
    teams = Session("kinship", "u", date(2027, 5, 7), datetime(2027, 5, 7, 13, tzinfo=chi),
                    datetime(2027, 5, 7, 15, tzinfo=chi))
    hearing = BusyItem("cook-cpd", "h", "", datetime(2027, 5, 7, 11, 30, tzinfo=chi),
                       datetime(2027, 5, 7, 12, 15, tzinfo=chi), False, "confirmed", True, "", "")
    ninety = timedelta(minutes=90)
    assert [k for _, _, k in collisions([teams], [hearing], lambda i: ninety)] == ["buffer"]
    assert collisions([teams], [hearing], lambda i: ninety, lambda s: timedelta(0)) == []
    span = (hearing.start.timestamp(), hearing.end.timestamp(), ninety.total_seconds(), 1)
    timed = [(teams.start.timestamp(), teams.end.timestamp(), teams)]
    assert [k for _, _, k in collisions_at(timed, [span])] == ["buffer"]
    assert collisions_at(timed, [span], lambda s: 0.0) == []
    # A wider own buffer reaches further than any item's.
    early = (datetime(2027, 5, 7, 10, tzinfo=chi).timestamp(), datetime(2027, 5, 7, 10, 30, tzinfo=chi).timestamp(),
             0.0, 2)
    assert [i for _, i, _ in collisions_at(timed, [early], lambda s: 3 * 3600.0)] == [2]
