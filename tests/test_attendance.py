"""Attendance through the CLI: sign-in imports (bad rows, re-import, a corrected file), every status, the conflict
history an excuse is judged by, make-ups (window, capacity, protection), CEUs and the transcript certificate."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import AS_OF, Run

Runner = Callable[..., Run]
LATER = "2027-01-10"   # the example's December sessions are over by then
SHEET = """date,collaborative_id,worker_id,hours
2026-12-16,cook-north,w02,3.5
2026-12-16,cook-north,w04,
2026-12-17,cook-south,w03,6:30
2026-12-17,cook-south,w13,7
"""


def cfg(d: Path, as_of: str = LATER) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", as_of]


def with_ceus(d: Path, top: str = "") -> None:
    toml = d / "courtsync.toml"
    text = toml.read_text()
    for cid, rate in (("cook-north", "0.5"), ("cook-south", "0.25")):
        text = text.replace(f'id = "{cid}"\nceu_per_hour = 1.0', f'id = "{cid}"\nceu_per_hour = {rate}')
    toml.write_text(top + text)


def sheet(d: Path, text: str = SHEET, name: str = "signin.csv") -> Path:
    path = d / name
    path.write_text(text)
    return path


def transcript(run: Runner, d: Path, worker: str, as_of: str = LATER) -> dict[str, dict]:
    out = run("transcript", "--worker", worker, "--format", "json", "--from", "2026-12-01", "--to", "2026-12-31",
              *cfg(d, as_of))
    assert out.exit_code == 0, out.stderr
    return {f"{s['collaborative']} {s['date']}": s for s in json.loads(out.stdout)["sessions"]}


@pytest.fixture
def lc(example_dir: Path, run: Runner) -> Path:
    with_ceus(example_dir)
    return example_dir


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_is_imported(lc: Path, run: Runner) -> None:
    path = sheet(lc, SHEET + "2026-12-16,cook-north,w99,7\n2026-12-15,cook-north,w05,7\n"
                 "2026-12-16,cook-north,w05,9\n2026-12-16,cook-north,w04,7\n2026-12-16,cook-nort,w06,2\n"
                 "2026-12-16,cook-north,w06,many\n")
    out = run("attendance", "import", path, "--config", lc / "courtsync.toml")
    assert out.exit_code == 1
    for line, words in ((6, "w99"), (7, "not a session of cook-north"), (8, "longer than the session"),
                        (9, "already on line 3"), (10, "did you mean 'cook-north'"), (11, "not a number of hours")):
        assert f"{path}:{line}" in out.stderr and words in out.stderr, (line, out.stderr)
    assert "Traceback" not in out.stderr
    assert "imported 4 sign-ins" in out.stdout
    assert transcript(run, lc, "w02")["cook-north 2026-12-16"]["status"] == "present"


def test_importing_the_same_file_twice_changes_nothing(lc: Path, run: Runner) -> None:
    path = sheet(lc)
    first = json.loads(run("attendance", "import", path, "--format", "json", *cfg(lc)[:2]).stdout)
    again = json.loads(run("attendance", "import", path, "--format", "json", *cfg(lc)[:2]).stdout)
    assert first["files"][0]["added"] == 4 and not first["files"][0]["unchanged"]
    assert again["files"][0]["unchanged"] and again["files"][0]["added"] == 0


def test_re_import_of_a_corrected_file_replaces_what_it_said(lc: Path, run: Runner) -> None:
    path = sheet(lc)
    run("attendance", "import", path, *cfg(lc)[:2])
    assert transcript(run, lc, "w02")["cook-north 2026-12-16"]["hours"] == 3.5
    sheet(lc, SHEET.replace("w02,3.5", "w02,5").replace("2026-12-16,cook-north,w04,\n", ""))
    out = json.loads(run("attendance", "import", path, "--format", "json", *cfg(lc)[:2]).stdout)["files"][0]
    assert (out["added"], out["removed"], out["changed"], out["revision"]) == (0, 1, 1, 2)
    assert transcript(run, lc, "w02")["cook-north 2026-12-16"]["hours"] == 5
    assert transcript(run, lc, "w04")["cook-north 2026-12-16"]["status"] == "absent"


def test_ceus_for_partial_hours_and_for_a_make_up_at_the_session_attended(lc: Path, run: Runner) -> None:
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    w02 = transcript(run, lc, "w02")["cook-north 2026-12-16"]
    assert (w02["status"], w02["hours"], w02["ceus"]) == ("present", 3.5, 1.75)
    w04 = transcript(run, lc, "w04")["cook-north 2026-12-16"]   # empty hours: the whole session
    assert (w04["hours"], w04["ceus"]) == (7, 3.5)
    w03 = transcript(run, lc, "w03")["cook-north 2026-12-16"]   # made up at cook-south: its 0.25 CEU an hour
    assert (w03["status"], w03["hours"], w03["ceus"]) == ("made up", 6.5, 1.63)
    assert w03["attended"] == {"collaborative": "cook-south", "date": "2026-12-17"}


def test_a_conflict_known_before_the_session_excuses_the_absence(lc: Path, run: Runner) -> None:
    assert run("scan", *cfg(lc, AS_OF.isoformat())).exit_code == 1   # w01's hearing cpd-1001 on 2026-12-16
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    w01 = transcript(run, lc, "w01")["cook-north 2026-12-16"]
    assert w01["status"] == "excused (court)"
    assert w01["excused_by"] == {"case_number": "2026-JA-001187", "court": "cook-cpd"}
    assert w01["due_by"] == "2027-02-14"
    assert transcript(run, lc, "w06")["cook-north 2026-12-16"]["status"] == "absent"


def test_a_hearing_found_only_after_the_session_is_not_an_excuse(lc: Path, run: Runner) -> None:
    assert run("scan", "--from", "2026-12-01", *cfg(lc, "2026-12-20")).exit_code == 1
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    assert transcript(run, lc, "w01")["cook-north 2026-12-16"]["status"] == "absent"


def test_a_conflict_resolved_before_the_session_leaves_the_worker_absent(lc: Path, run: Runner) -> None:
    assert run("scan", *cfg(lc, AS_OF.isoformat())).exit_code == 1
    feed = lc / "feeds" / "cook-cpd.ics"
    text = feed.read_text()
    start = text.index("UID:cpd-1001")
    begin, end = text.rindex("BEGIN:VEVENT", 0, start), text.index("END:VEVENT", start) + len("END:VEVENT\r\n")
    feed.write_text(text[:begin] + text[end:])   # the court cancelled the hearing
    assert run("sync", *cfg(lc, "2026-12-01")).exit_code in (0, 1)
    history = json.loads(run("attendance", "--worker", "w01", "--format", "json", *cfg(lc)).stdout)
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    assert transcript(run, lc, "w01")["cook-north 2026-12-16"]["status"] == "absent"
    assert history["missed"] == [] or history["missed"][0]["status"] == "absent"


def test_upcoming_and_unrecorded_sessions(lc: Path, run: Runner) -> None:
    rows = transcript(run, lc, "w01", "2026-12-10")
    assert rows["cook-north 2026-12-16"]["status"] == "upcoming"
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    regional = transcript(run, lc, "w01")["cook-regional 2026-12-08"]   # no sheet imported for that day
    assert regional["status"] == "absent" and regional["no_signin_imported"]
    listed = run("attendance", "--supervisor", "s01", *cfg(lc))
    assert listed.exit_code == 1
    assert "Tamika Johnson (w01)" in listed.stdout and "make-up due by 2027-02-14" in listed.stdout
    assert "not judged: cook-regional 2026-12-08" in listed.stdout


def test_a_make_up_outside_the_window_is_not_counted_and_not_booked(example_dir: Path, run: Runner) -> None:
    with_ceus(example_dir, top='makeup_window = "5d"\n')
    run("attendance", "import", sheet(example_dir, SHEET + "2026-12-10,will-joliet,w06,7\n"), *cfg(example_dir)[:2])
    w06 = transcript(run, example_dir, "w06")
    assert w06["cook-north 2026-12-16"]["status"] == "absent"            # 6 days before: outside 5 days
    assert w06["will-joliet 2026-12-10"]["expected"] is False           # attended in addition
    refused = run("makeup", "--worker", "w05", "--session", "will-joliet:2027-02-11", *cfg(example_dir))
    assert refused.exit_code == 1 and "not within 5 days" in refused.stderr, refused.stderr


def test_a_make_up_attended_within_the_window_counts(lc: Path, run: Runner) -> None:
    run("attendance", "import", sheet(lc, SHEET + "2026-12-10,will-joliet,w06,7\n2027-02-18,cook-south,w05,7\n"),
        *cfg(lc)[:2])
    assert transcript(run, lc, "w06")["cook-north 2026-12-16"]["status"] == "made up"     # 6 days before
    w05 = json.loads(run("transcript", "--worker", "w05", "--format", "json", *cfg(lc, "2027-03-01")).stdout)
    north = {s["date"]: s for s in w05["sessions"] if s["collaborative"] == "cook-north"}
    assert north["2026-12-16"]["status"] == "absent"   # 64 days later: outside the 60-day window
    assert north["2027-02-17"]["status"] == "made up"  # ... the day after the one it makes up


def test_a_make_up_at_a_full_session_is_refused(lc: Path, run: Runner) -> None:
    toml = lc / "courtsync.toml"
    toml.write_text(toml.read_text().replace("capacity = 6", "capacity = 1"))
    first = run("makeup", "--worker", "w05", "--session", "will-joliet:2027-02-11", *cfg(lc))
    assert first.exit_code == 0 and "Booked" in first.stdout
    again = run("makeup", "--worker", "w05", "--session", "will-joliet:2027-02-11", *cfg(lc))
    assert again.exit_code == 0 and "already" in again.stdout
    full = run("makeup", "--worker", "w06", "--session", "will-joliet:2027-02-11", *cfg(lc))
    assert full.exit_code == 1 and "is full" in full.stderr
    run("makeup", "--worker", "w05", "--session", "will-joliet:2027-02-11", "--cancel", *cfg(lc))
    assert run("makeup", "--worker", "w06", "--session", "will-joliet:2027-02-11", *cfg(lc)).exit_code == 0


def test_a_booked_make_up_is_a_protected_date(lc: Path, run: Runner) -> None:
    before = run("check", "--worker", "w05", "--date", "2027-02-11", "--offline", *cfg(lc))
    assert run("makeup", "--worker", "w05", "--session", "will-joliet:2027-02-11", *cfg(lc)).exit_code == 0
    dates = run("dates", "--worker", "w05", "--format", "csv", *cfg(lc))
    assert "2027-02-11" in dates.stdout
    after = run("check", "--worker", "w05", "--date", "2027-02-11", "--offline", "--format", "json", *cfg(lc))
    assert json.loads(after.stdout)["verdict"] == "conflict", (before.stdout, after.stdout)
    listed = run("attendance", "--worker", "w05", *cfg(lc, "2026-12-20"))
    assert "will-joliet 2027-02-11" in listed.stdout


def test_bad_make_up_requests_are_usage_errors(lc: Path, run: Runner) -> None:
    for session, words in (("will-joliet:2027-02-12", "no session on 2027-02-12"), ("nowhere:2027-02-11", "nowhere"),
                           ("will-joliet", "COLLABORATIVE:DATE"), ("cook-north:2027-02-17", "own collaborative")):
        out = run("makeup", "--worker", "w05", "--session", session, *cfg(lc))
        assert out.exit_code == 2 and words in out.stderr, (session, out.stderr)
        assert "Traceback" not in out.stderr


def test_transcript_pdf_is_a_certificate_that_verifies(lc: Path, run: Runner, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; .ci/run installs it")
    path = sheet(lc)
    run("attendance", "import", path, *cfg(lc)[:2])
    pdf = tmp_path / "w03.pdf"
    out = run("transcript", "--worker", "w03", "--format", "pdf", "--out", pdf, *cfg(lc))
    assert out.exit_code == 0, out.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    code = out.stdout.split("verification code ")[1].rstrip(")\n")
    assert "Certificate of Learning Collaborative attendance" in text and "Priya Raman" in text
    assert "made up" in text and "1.63" in text and code in text
    assert (pdf.stat().st_mode & 0o077) == 0
    ok = run("transcript", "--verify", code, *cfg(lc))
    assert ok.exit_code == 0 and "is valid" in ok.stdout
    assert run("transcript", "--verify", "AAAA-BBBB-CCCC-DDDD", *cfg(lc)).exit_code == 1
    sheet(lc, SHEET.replace("w03,6:30", "w03,7"))
    run("attendance", "import", path, *cfg(lc)[:2])
    changed = run("transcript", "--verify", code, *cfg(lc))
    assert changed.exit_code == 1 and "changed since" in changed.stdout


def test_transcript_csv_and_table(lc: Path, run: Runner) -> None:
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    table = run("transcript", "--worker", "w02", *cfg(lc))
    assert "present" in table.stdout and "Total:" in table.stdout
    csv_out = run("transcript", "--worker", "w02", "--format", "csv", *cfg(lc)).stdout
    assert csv_out.splitlines()[0].startswith("date,collaborative,start,end,status,hours,ceus")


def test_the_digest_lists_absences_without_a_make_up_and_booked_make_ups(lc: Path, run: Runner,
                                                                         tmp_path: Path) -> None:
    run("attendance", "import", sheet(lc), *cfg(lc)[:2])
    assert run("makeup", "--worker", "w06", "--session", "will-joliet:2027-02-11", *cfg(lc)).exit_code == 0
    out = tmp_path / "digests"
    run("digest", "--supervisor", "s01", "--offline", "--out", out, *cfg(lc))
    text = next(out.glob("*.txt")).read_text()
    missed = text.split("Missed a session, no make-up yet")[1].split("Make-ups booked")[0]
    assert "Tamika Johnson (w01): Cook North Training Center Wed 2026-12-16, absent; make-up due by" in missed
    assert "w06" not in missed   # booked one
    assert "Daniel Kowalski (w06): Will County Training Center Thu 2027-02-11 (for Cook North Training Center " \
           "2026-12-16)" in text


def attendance_tour() -> list[tuple[list[str], int | None]]:
    """The `courtsync ...` lines of README's attendance tour, with the exit code each promises."""
    import re
    import shlex

    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text().split("## Attendance, make-ups and CEUs (a tour)", 1)[1]
    block = re.search(r"```sh\n(.*?)```", text.split("\n## ", 1)[0], re.S)
    assert block is not None
    out = []
    for line in block.group(1).splitlines():
        if line.startswith("courtsync "):
            code = re.search(r"#\s*exit (\d)", line)
            out.append((shlex.split(line, comments=True)[1:], int(code.group(1)) if code else None))
    return out


@pytest.mark.parametrize("day", sorted({AS_OF, date.today(), date(2027, 12, 31), date(2028, 2, 27)}), ids=str)
def test_the_readme_attendance_tour_runs_whatever_day_init_ran(day: date, tmp_path: Path, run: Runner,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    target = tmp_path / "example"
    assert run("init", target, "--as-of", day).exit_code == 0
    variables = dict(re.findall(r"^(\w+)=(\S+)", (target / "tour.env").read_text(), re.M))
    monkeypatch.chdir(target)
    commands = attendance_tour()
    assert len(commands) >= 8
    for args, code in commands:
        typed = [re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], a) for a in args]
        result = run(*typed)
        assert result.exit_code == (code if code is not None else result.exit_code) and result.exit_code in (0, 1), \
            (typed, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    listed = run("attendance", "--supervisor", "s01", "--as-of", variables["AFTER"]).stdout
    missed, booked = listed.split("Make-ups booked")
    assert "excused (court: case" in missed and "Sofia Castillo (w05)" not in missed   # she booked a make-up
    assert "Sofia Castillo (w05)  for cook-north" in booked
    w03 = run("transcript", "--worker", "w03", "--as-of", variables["AFTER"], "--format", "json").stdout
    assert any(s["status"] == "made up" for s in json.loads(w03)["sessions"])
    assert (target / "w02.pdf").stat().st_size > 1000


def test_a_broken_copy_of_an_imported_file_does_not_erase_what_it_said(lc: Path, run: Runner) -> None:
    """Bug: an empty (or wrongly headed) export under an imported file's name replaced its rows with none."""
    path = sheet(lc)
    run("attendance", "import", path, *cfg(lc)[:2])
    for broken in ("", "day,who\n2026-12-16,w02\n"):
        sheet(lc, broken)
        out = run("attendance", "import", path, *cfg(lc)[:2])
        assert out.exit_code == 1 and "not imported" in out.stdout and f"{path}:1" in out.stderr
        assert transcript(run, lc, "w02")["cook-north 2026-12-16"]["status"] == "present"
