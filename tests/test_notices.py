"""Court notices: letters (PDF read back as text), amendments, the notice log, sending, printing, privacy."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from courtsync.core.letters import Lateness, LetterDate, changes, dates_to_keep, lateness
from tests.conftest import AS_OF, Run
from tests.smtp_server import SmtpServer

Runner = Callable[..., Run]
PDFTOTEXT = shutil.which("pdftotext")
CHILD = "Jane Doe-Smith"


def cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def pdf_text(path: Path) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; .ci/run installs it")
    return subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_each_court_gets_a_pdf_and_html_letter(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    out = tmp_path / "letters"
    result = run("notices", *cfg(example_dir), "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "cook-cpd     first letter" in result.stdout and "will-juv     first letter" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"letter-{c}-{AS_OF}.{x}" for c in ("cook-cpd", "will-juv") for x in ("html", "pdf", "txt")]
    text = pdf_text(out / f"letter-cook-cpd-{AS_OF}.pdf")
    assert "Circuit Court of Cook County, Child Protection Division" in text
    assert "Presiding Judge" in text and "Tamika Johnson" in text and "Cook North Training Center" in text
    assert "Dana Reyes" in text and "312-555-0100" in text
    assert "2026-JA-001187" not in text   # case numbers only when [notices] case_numbers = true


def test_late_letters_are_warned_about(example_dir: Path, run: Runner) -> None:
    result = run("notices", *cfg(example_dir))
    assert "late: the first date it lists" in result.stderr and "send-by is 30 days" in result.stderr
    later = run("notices", *cfg(example_dir), "--from", "2027-02-01")
    assert "late" not in later.stderr


def move_first_cook_north_session(example_dir: Path) -> None:
    """A week later: only Cook County CPD has Cook North staff, so only its next letter is amended."""
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    moved_from = text.split("moved = [{ from = ")[1][:10]
    north_first = text.split('id = "cook-north"')[1].split("first_session = ")[1][:10]
    new_day = f"{north_first[:8]}{int(north_first[8:]) + 7:02d}"
    toml.write_text(text.replace(f"moved = [{{ from = {moved_from}",
                                 f"moved = [{{ from = {north_first}, to = {new_day} }}, {{ from = {moved_from}"))


def test_moving_a_session_amends_only_the_affected_courts(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    assert run("notices", *cfg(example_dir), "--print", "--out", tmp_path / "batch1").exit_code == 0
    again = run("notices", *cfg(example_dir))
    assert "no change since the last letter" in again.stdout and "first letter" not in again.stdout
    move_first_cook_north_session(example_dir)
    out = tmp_path / "amended"
    result = run("notices", *cfg(example_dir), "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "cook-cpd     amended letter" in result.stdout and "will-juv     no change" in result.stdout
    letter = (out / f"amended-cook-cpd-{AS_OF}.txt").read_text()
    assert letter.count("Moved:") == 1 and "AMENDED" in letter
    assert "now" in letter.split("Moved:")[1].splitlines()[0]


def test_print_batch_merges_letters_and_writes_formula_safe_labels(example_dir: Path, run: Runner,
                                                                   tmp_path: Path) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('address = ["100 W. Jefferson St.", "Joliet, IL 60432"]',
                                             'address = ["=HYPERLINK(\\"http://x\\")", "Joliet, IL 60432"]'))
    batch = tmp_path / "batch"
    assert run("notices", *cfg(example_dir), "--print", "--out", batch).exit_code == 0
    pdf = batch / f"notices-print-{AS_OF}.pdf"
    rows = list(csv.DictReader(io.StringIO((batch / f"notices-labels-{AS_OF}.csv").read_text())))
    assert [r["name"] for r in rows] == ["Circuit Court of Cook County, Child Protection Division",
                                         "Circuit Court of Will County, Juvenile Division"]
    assert rows[1]["line1"].startswith("'=")
    text = pdf_text(pdf)
    assert "Cook County, Child Protection" in text and "Will County, Juvenile" in text
    assert text.count("Dear ") == 2


def test_send_emails_the_pdf_once_and_records_it(example_dir: Path, run: Runner, smtp: SmtpServer) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + smtp.toml())
    first = run("notices", *cfg(example_dir), "--send")
    assert first.exit_code == 0, first.stderr
    assert "sent 2" in first.stdout
    assert sorted(r for r, _ in smtp.received) == ["cpd-clerk@example.org", "juvenile-clerk@example.org"]
    _, msg = smtp.received[0]
    attachments = [p for p in msg.iter_attachments()]
    assert attachments and attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content()[:5] == b"%PDF-"
    second = run("notices", *cfg(example_dir), "--send")
    assert "no change since the last letter" in second.stdout and len(smtp.received) == 2


def test_no_hearing_text_or_childrens_names_reach_a_court(example_dir: Path, run: Runner, tmp_path: Path,
                                                          smtp: SmtpServer) -> None:
    feed = example_dir / "feeds" / "cook-cpd.ics"
    feed.write_bytes(feed.read_bytes().replace(b"SUMMARY:2026-JA-001187 Permanency Hearing",
                                               f"SUMMARY:2026-JA-001187 In re {CHILD}\\, a minor: Permanency Hearing"
                                               .encode()))
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + smtp.toml() + "\n[notices]\ncase_numbers = true\n")
    out = tmp_path / "out"
    batch = tmp_path / "batch"
    assert run("notices", *cfg(example_dir), "--out", out).exit_code == 0
    assert run("notices", *cfg(example_dir), "--send", "--print", "--out", batch).exit_code == 0
    everything = [p.read_bytes().decode("utf-8", "replace") for p in out.iterdir() if p.suffix != ".pdf"]
    everything += [pdf_text(p) for p in [*out.glob("*.pdf"), *batch.glob("*.pdf")]]
    everything += [(batch / f"notices-labels-{AS_OF}.csv").read_text()]
    everything += [m.as_string() for _, m in smtp.received]
    assert all(CHILD not in text and "Permanency Hearing" not in text for text in everything)
    assert any("2026-JA-001187" in text for text in everything)   # case numbers were asked for


def test_court_calendar_of_protected_dates(example_dir: Path, run: Runner) -> None:
    from icalendar import Calendar

    result = run("dates", *cfg(example_dir), "--court", "cook-cpd", "--all", "--format", "ics")
    events = Calendar.from_ical(result.stdout_bytes).walk("VEVENT")
    statuses = {str(e["STATUS"]) for e in events}
    assert statuses == {"CONFIRMED", "CANCELLED"}   # the example cancels one Cook North session
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_unknown_court_is_usage_error(example_dir: Path, run: Runner) -> None:
    result = run("notices", *cfg(example_dir), "--court", "cook-cdp")
    assert result.exit_code == 2 and "Did you mean cook-cpd" in result.stderr


def test_golden_letter(example_dir: Path, run: Runner, tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    out = tmp_path / "letters"
    assert run("notices", *cfg(example_dir), "--court", "will-juv", "--out", out).exit_code == 0
    golden("letter-will-juv.txt", (out / f"letter-will-juv-{AS_OF}.txt").read_text())
    golden("letter-will-juv.html", (out / f"letter-will-juv-{AS_OF}.html").read_text())


def test_court_ids_with_dots_get_a_letter_each(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    """Bug: ids may hold dots, and the file name's suffix was substituted for the text after the last dot, so
    courts il.cook-cpd and il.will-juv both wrote letter-il.pdf: one court's letter silently lost."""
    for name in ("courtsync.toml", "caseload.csv"):
        path = example_dir / name
        text = path.read_text()
        for court in ("cook-cpd", "will-juv"):
            text = text.replace(f'"{court}"', f'"il.{court}"').replace(f",{court}\n", f",il.{court}\n")
        path.write_text(text)
    out = tmp_path / "letters"
    assert run("notices", *cfg(example_dir), "--out", out).exit_code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"letter-il.{court}-{AS_OF}{suffix}" for court in ("cook-cpd", "will-juv")
                     for suffix in (".html", ".pdf", ".txt")]
    assert "Will County" in (out / f"letter-il.will-juv-{AS_OF}.txt").read_text()


def change_kinship_dates(example_dir: Path, *more: str) -> None:
    toml = example_dir / "courtsync.toml"
    old = "dates = [2026-12-11, 2027-02-12, 2027-03-01, 2027-04-09]"
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, old[:-1] + "".join(f", {d}" for d in more) + "]"))


def test_an_amended_letter_is_late_only_for_a_date_that_changed(example_dir: Path, run: Runner,
                                                                tmp_path: Path) -> None:
    """Bug: lateness looked for ISO dates in the change sentences (which write dates as people do), found none and
    silently counted every date listed: an amendment about a date months away was flagged late for an unchanged
    date two weeks away."""
    assert run("notices", *cfg(example_dir), "--print", "--out", tmp_path / "told").exit_code == 0
    change_kinship_dates(example_dir, "2027-05-14")   # far off; 2026-12-08 (listed, unchanged) is 15 days away
    far = run("notices", *cfg(example_dir))
    assert far.exit_code == 0 and "amended letter" in far.stdout, far.stderr
    assert "late:" not in far.stderr


def test_an_amended_letter_changing_a_near_date_is_late_for_that_date(example_dir: Path, run: Runner,
                                                                      tmp_path: Path) -> None:
    assert run("notices", *cfg(example_dir), "--print", "--out", tmp_path / "told").exit_code == 0
    change_kinship_dates(example_dir, "2026-12-18", "2027-05-14")   # one 25 days away, one far off
    near = run("notices", *cfg(example_dir))
    assert near.exit_code == 0 and "amended letter" in near.stdout, near.stderr
    late = [line for line in near.stderr.splitlines() if "late:" in line]
    assert late and all("the first date it changes, 2026-12-18, is 25 day(s) away" in line for line in late), late


def test_a_date_given_back_needs_no_lead_time_and_a_moved_session_counts_from_its_new_date() -> None:
    tz = ZoneInfo("America/Chicago")

    def listed(uid: str, day: date) -> LetterDate:
        return LetterDate(uid, day, datetime.combine(day, time(9), tz), datetime.combine(day, time(16), tz),
                          "Cook North Training Center", (("w01", "Tamika Johnson", ()),))

    told = [listed("a", date(2026, 12, 1)).record(), listed("b", date(2027, 3, 3)).record()]
    first, last, today = date(2026, 11, 23), date(2027, 5, 25), date(2026, 11, 23)
    cancelled = changes(told, [listed("b", date(2027, 3, 3))], first, last)   # a (8 days away) given back
    assert [(c.kind, c.day, c.protects) for c in cancelled] == [("cancelled", date(2026, 12, 1), False)]
    assert lateness(dates_to_keep(cancelled), today, 30) is None
    moved = changes(told, [listed("a", date(2027, 4, 7)), listed("b", date(2027, 3, 3))], first, last)
    assert [(c.kind, c.before and c.before.day, c.day) for c in moved] == [("moved", date(2026, 12, 1),
                                                                            date(2027, 4, 7))]
    assert lateness(dates_to_keep(moved), today, 30) is None
    nearer = changes(told, [listed("a", date(2026, 12, 1)), listed("b", date(2026, 12, 9))], first, last)
    assert lateness(dates_to_keep(nearer), today, 30) == Lateness(date(2026, 12, 9), 16, 30)
