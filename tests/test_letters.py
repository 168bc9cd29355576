"""Letters as a court reads them: letterhead, dates as people write them, holidays, pages, signature, subjects."""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from datetime import date, time
from pathlib import Path

import pytest

from courtsync.notices.letters import clock, long_date
from courtsync.notices.subjects import digest_subject, letter_subject, squash_spaces
from tests.conftest import AS_OF, Run
from tests.smtp_server import SmtpServer

Runner = Callable[..., Run]
AGENCY = "Illinois Department of Children and Family Services"
PDFTOTEXT = shutil.which("pdftotext")
PDFIMAGES = shutil.which("pdfimages")


def cfg(d: Path) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", AS_OF.isoformat()]


def pdf_pages(path: Path) -> list[str]:
    """The PDF's text, page by page (pdftotext ends each page with a form feed)."""
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; .ci/run installs it")
    text = subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def words(text: str) -> str:
    return " ".join(text.split())


def letters(example_dir: Path, run: Runner, out: Path, *extra: str) -> Path:
    result = run("notices", *cfg(example_dir), "--out", out, *extra)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def tiny_png(width: int = 40, height: int = 24) -> bytes:
    """A small blue rectangle, written here so the tests need no binary fixture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\x1b\x4f\x72" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_letters_write_dates_as_people_do(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    assert long_date(date(2027, 6, 16)) == "Wednesday, June 16, 2027"
    assert long_date(date(2026, 12, 1), weekday=False) == "December 1, 2026"
    assert (clock(time(9)), clock(time(13, 30)), clock(time(0, 5)), clock(time(12))) == \
        ("9:00 a.m.", "1:30 p.m.", "12:05 a.m.", "12:00 noon")
    out = letters(example_dir, run, tmp_path / "l", "--court", "will-juv")
    text = (out / f"letter-will-juv-{AS_OF}.txt").read_text()
    html = (out / f"letter-will-juv-{AS_OF}.html").read_text()
    pdf = words("".join(pdf_pages(out / f"letter-will-juv-{AS_OF}.pdf")))
    for shown in (text, html, pdf):
        assert "November 23, 2026" in shown                     # the letter's own date
        assert "Tuesday, December 8, 2026" in shown             # a session, weekday and all, no zero padding
        assert "9:00 a.m. to 4:00 p.m." in shown
        assert "November 23, 2026 to May 25, 2027" in shown     # the period, not 2026-11-23 to 2027-05-25
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", words(re.sub(r"<[^>]+>", " ", shown)))
        assert not re.search(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d|[A-Za-z] 0\d\b", shown)


def test_amended_letters_write_dates_as_people_do_too(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    assert run("notices", *cfg(example_dir), "--court", "will-juv", "--print", "--out", tmp_path / "b").exit_code == 0
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('id = "cook-regional"', 'id = "cook-regional"\nadded = [2027-02-02]'))
    out = letters(example_dir, run, tmp_path / "a", "--court", "will-juv")
    text = (out / f"amended-will-juv-{AS_OF}.txt").read_text()
    assert "Added: Tuesday, February 2, 2027 (Cook County Regional Learning Collaborative), 9:00 a.m. to " \
           "4:00 p.m. The complete" in words(text)     # one full stop after "p.m.", not two


def test_letters_carry_the_agency_letterhead(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    out = letters(example_dir, run, tmp_path / "l", "--court", "will-juv")
    for shown in ((out / f"letter-will-juv-{AS_OF}.txt").read_text(),
                  words("".join(pdf_pages(out / f"letter-will-juv-{AS_OF}.pdf")))):
        head, _, tail = shown.partition("Dear Chief Judge")
        assert AGENCY in head and "Office of Training and Professional Development" in head
        assert "406 E. Monroe St." in head and "Springfield, IL 62701" in head and "217-785-5689" in head
        assert "Respectfully," in tail
        signature = words(tail.split("Respectfully,")[1])
        assert signature.startswith("Dana Reyes Court Liaison")
        assert "312-555-0100" in signature and "dana.reyes@agency.example" in signature
    assert "<img" not in (out / f"letter-will-juv-{AS_OF}.html").read_text()   # no logo configured


def test_a_logo_is_on_the_letterhead_when_set(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    (example_dir / "art").mkdir()
    (example_dir / "art" / "seal.png").write_bytes(tiny_png())
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('phone = "217-785-5689"', 'phone = "217-785-5689"\nlogo = "art/seal.png"'))
    out = letters(example_dir, run, tmp_path / "l", "--court", "will-juv")
    html = (out / f"letter-will-juv-{AS_OF}.html").read_text()
    assert re.search(r'<img class="logo" src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="[^"]+">', html)
    if PDFIMAGES is None:
        pytest.skip("pdfimages (poppler-utils) is not installed")
    listed = subprocess.run([PDFIMAGES, "-list", str(out / f"letter-will-juv-{AS_OF}.pdf")], capture_output=True,
                            text=True, check=True).stdout.splitlines()[2:]
    assert len(listed) == 1 and listed[0].split()[3:5] == ["40", "24"]   # the logo, at its own size in pixels


def test_a_logo_that_is_missing_or_not_an_image_is_a_config_error(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    toml.write_text(text.replace('phone = "217-785-5689"', 'phone = "217-785-5689"\nlogo = "nowhere.png"'))
    result = run("notices", *cfg(example_dir))
    assert result.exit_code == 2 and "agency.logo" in result.stderr and "nowhere.png" in result.stderr
    assert "Traceback" not in result.stderr
    (example_dir / "notes.png").write_text("not a picture")
    toml.write_text(text.replace('phone = "217-785-5689"', 'phone = "217-785-5689"\nlogo = "notes.png"'))
    result = run("notices", *cfg(example_dir))
    assert result.exit_code == 2 and "agency.logo" in result.stderr and "PNG" in result.stderr


def test_an_unknown_agency_key_is_rejected(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('phone = "217-785-5689"', 'phone = "217-785-5689"\nfax = "217-0"'))
    result = run("notices", *cfg(example_dir))
    assert result.exit_code == 2 and "agency.fax" in result.stderr and "unknown key" in result.stderr


def test_a_long_letter_has_page_numbers_and_keeps_the_signature_with_the_text(example_dir: Path, run: Runner,
                                                                              tmp_path: Path) -> None:
    """More lines at the head of the letter push its end down a line at a time, so that among these lengths
    the page would break inside the closing: the closing, the signature and the last lines of the body
    always share a page, and every page of a longer letter says which it is."""
    toml = example_dir / "courtsync.toml"
    original = toml.read_text()
    pages_seen = set()
    for extra in range(0, 15, 2):
        rooms = "".join(f', "Room {n}"' for n in range(extra))
        toml.write_text(original.replace('"Joliet, IL 60432"]', f'"Joliet, IL 60432"{rooms}]'))
        pages = pdf_pages(letters(example_dir, run, tmp_path / f"l{extra}", "--court", "will-juv")
                          / f"letter-will-juv-{AS_OF}.pdf")
        pages_seen.add(len(pages))
        if len(pages) == 1:
            assert "Page 1" not in pages[0]                  # one page: no page number
        for number, page in enumerate(pages if len(pages) > 1 else [], 1):
            assert f"Page {number} of {len(pages)}" in page, (extra, number)
        signed = [p for p in pages if "Respectfully," in p]
        assert len(signed) == 1, extra
        page = words(signed[0])
        assert "Dana Reyes Court Liaison 312-555-0100 dana.reyes@agency.example" in page, extra
        assert "Thank you for your help." in page, extra     # the body's last lines come along
        assert page.index("Thank you") < page.index("Respectfully,") < page.index("Dana Reyes Court Liaison")
    assert pages_seen == {1, 2}


def test_a_session_on_a_court_holiday_is_flagged_in_the_letter(example_dir: Path, run: Runner,
                                                               tmp_path: Path) -> None:
    """The example's Kinship Care group meets on Lincoln's Birthday and Casimir Pulaski Day (Illinois)."""
    out = letters(example_dir, run, tmp_path / "l", "--court", "will-juv")
    text = (out / f"letter-will-juv-{AS_OF}.txt").read_text()
    shown = [text, words(html.unescape(re.sub(r"<[^>]+>", "", (out / f"letter-will-juv-{AS_OF}.html").read_text()))),
             words("".join(pdf_pages(out / f"letter-will-juv-{AS_OF}.pdf")))]
    for flag in ("Friday, February 12, 2027 — a court holiday (Lincoln's Birthday); the session is kept",
                 "Monday, March 1, 2027 — a court holiday (Casimir Pulaski Day); the session is kept"):
        assert all(flag in s for s in shown), flag
    assert text.count("court holiday") == 2     # and no other session is said to be on one


def test_email_subjects_name_the_agency(example_dir: Path, run: Runner, smtp: SmtpServer) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + smtp.toml())
    assert run("notices", *cfg(example_dir), "--send").exit_code == 0
    subjects = sorted(str(m["Subject"]) for _, m in smtp.received)
    assert subjects == [f"{AGENCY} — Learning Collaborative dates for Circuit Court of Cook County, Child "
                        "Protection Division",
                        f"{AGENCY} — Learning Collaborative dates for Circuit Court of Will County, Juvenile Division"]
    assert run("digest", *cfg(example_dir), "--week", "2026-W50", "--supervisor", "s01", "--send").exit_code == 0
    _, digest = smtp.received[-1]
    assert digest["Subject"] == (f"{AGENCY} — weekly digest for Andre Whitfield, week 2026-W50: 4 new, 0 still "
                                 "open, 0 resolved")


def test_subjects_are_one_line_whatever_flows_into_them() -> None:
    assert squash_spaces("Circuit Court\r\nBcc: everyone@example.org") == "Circuit Court Bcc: everyone@example.org"
    assert "\n" not in letter_subject("Agency\n", "Court\rX", amended=True)
    assert letter_subject(None, "Will County", amended=True) == "Amended Learning Collaborative dates for Will County"
    subject = digest_subject("Agency\r\nX", "Ann\nLee", "2027-W24", new=1, still_open=2, resolved=0,
                             unread=False)
    assert subject == "Agency X — weekly digest for Ann Lee, week 2027-W24: 1 new, 2 still open, 0 resolved"
    assert digest_subject(None, "Ann", "2027-W24", 0, 0, 0, unread=True) == \
        "Weekly digest for Ann, week 2027-W24: calendars not read, may be missing conflicts"


def test_with_the_web_service_a_letter_gives_the_court_its_calendar_link(example_dir: Path, run: Runner,
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + '\n[server]\nbase_url = "https://courtsync.agency.example"\n'
                                       'secret_env = "COURTSYNC_SECRET"\n')
    monkeypatch.setenv("COURTSYNC_SECRET", "a-secret-for-the-letters-test-0123456789")
    link = run("links", "--config", toml, "--court", "cook-cpd").stdout.strip()
    assert link.startswith("https://courtsync.agency.example/calendars/court/cook-cpd.ics?key=")
    out = letters(example_dir, run, tmp_path / "out", "--court", "cook-cpd")
    text = next(out.glob("*.txt")).read_text()
    assert "a calendar your office can subscribe to" in text and link in text
    pdf = words("".join(pdf_pages(next(out.glob("*.pdf")))))
    assert "subscribe to" in pdf and "calendars/court/cook-cpd.ics" in pdf.replace(" ", "")
    monkeypatch.delenv("COURTSYNC_SECRET")   # no secret: no link, and the letter goes as before
    plain = next(letters(example_dir, run, tmp_path / "plain", "--court", "cook-cpd").glob("*.txt")).read_text()
    assert "subscribe" not in plain
