"""The weekly digest through the CLI with a real SMTP server: once per supervisor and week, nothing lost."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses
from exchangelib.protocol import CachingProtocol

from courtsync.core.digest import Entry, compare
from tests.browser import CHROMIUM, look_at
from tests.conftest import AS_OF, Run
from tests.mail_fixtures import FakeEws, created, sending_through_exchange, server_busy_fault
from tests.smtp_server import Behaviour, SmtpServer

Runner = Callable[..., Run]
WEEK = "2026-W50"   # the example's first sessions (as of 2026-11-23) fall in this week


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def configured(example_dir: Path, server: SmtpServer) -> list[str]:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + server.toml())
    return ["--config", str(toml), "--as-of", AS_OF.isoformat(), "--week", WEEK]


def supervisors(server: SmtpServer) -> list[str]:
    return sorted(rcpt for rcpt, _ in server.received)


def test_weekly_run_twice_sends_each_supervisor_exactly_one(example_dir: Path, run: Runner, smtp: SmtpServer) -> None:
    args = configured(example_dir, smtp)
    first = run("digest", *args, "--send")
    assert first.exit_code == 0, first.stdout + first.stderr
    assert "queued 5" in first.stdout and "sent 5" in first.stdout
    second = run("digest", *args, "--send")
    assert second.exit_code == 0 and "queued 0, already queued 5" in second.stdout and "sent 0" in second.stdout
    assert len(smtp.received) == 5 and len(set(supervisors(smtp))) == 5
    rcpt, msg = next((r, m) for r, m in smtp.received if r == "andre.whitfield@agency.example")
    assert msg["Subject"] == ("Illinois Department of Children and Family Services — weekly digest for Andre "
                              f"Whitfield, week {WEEK}: 4 new, 0 still open, 0 resolved")
    assert re.fullmatch(r"<[0-9a-f]{32}@courtsync>", msg["Message-ID"])
    parts = {p.get_content_type(): p.get_content() for p in msg.walk() if not p.is_multipart()}
    assert "case 2026-JA-001187" in parts["text/plain"] and "<table>" in parts["text/html"]
    assert "Permanency Hearing" not in parts["text/plain"] + parts["text/html"]  # hearing text stays out


def test_a_failure_mid_batch_is_finished_by_the_same_command(example_dir: Path, run: Runner) -> None:
    server = SmtpServer(Behaviour(fail_data_number={3})).start()
    try:
        args = configured(example_dir, server)
        first = run("digest", *args, "--send")
        assert first.exit_code == 3 and "will retry" in first.stderr and "451" in first.stderr
        assert len(server.received) == 4
        again = run("digest", *args, "--send")
        assert again.exit_code == 0 and "sent 1" in again.stdout
        assert len(server.received) == 5 and len(set(supervisors(server))) == 5   # none lost, none twice
    finally:
        server.stop()


def test_a_refused_recipient_is_recorded_and_the_rest_are_sent(example_dir: Path, run: Runner) -> None:
    server = SmtpServer(Behaviour(refuse={"grace.okafor@agency.example"})).start()
    try:
        args = configured(example_dir, server)
        result = run("digest", *args, "--send")
        assert result.exit_code == 3
        assert "FAILED: grace.okafor@agency.example: 550" in result.stderr
        assert len(server.received) == 4
        assert "grace.okafor@agency.example" not in supervisors(server)
        again = run("digest", *args, "--send")
        assert len(server.received) == 4 and "sent 0" in again.stdout   # a permanent refusal is not retried
    finally:
        server.stop()


def test_a_drop_after_data_is_never_resent_without_resend(example_dir: Path, run: Runner) -> None:
    server = SmtpServer(Behaviour(drop_after_data={2})).start()
    try:
        args = configured(example_dir, server)
        first = run("digest", *args, "--send")
        assert first.exit_code == 3 and "UNKNOWN" in first.stderr
        assert len(server.received) == 5   # the second one did arrive; the client could not know
        again = run("digest", *args, "--send")
        assert len(server.received) == 5 and "sent 0" in again.stdout
        forced = run("digest", *args, "--send", "--resend")
        assert forced.exit_code == 0 and len(server.received) == 10
    finally:
        server.stop()


def test_next_week_marks_new_open_and_resolved(example_dir: Path, run: Runner, smtp: SmtpServer) -> None:
    args = configured(example_dir, smtp)
    assert run("digest", *args, "--send", "--supervisor", "s01").exit_code == 0
    feed = example_dir / "feeds" / "cook-cpd.ics"
    # The court moves w02's 17:00 hearing to another day: that conflict is resolved.
    text = feed.read_bytes().decode()
    block = text[text.index("UID:cpd-1002"):]
    feed.write_bytes(text.replace(block[: block.index("END:VEVENT")],
                                  block[: block.index("END:VEVENT")].replace("T170000", "T190000")
                                  .replace("T173000", "T193000")).encode())
    next_week = [a if a != WEEK else "2026-W51" for a in args]
    run("sync", "--config", args[1], "--as-of", AS_OF)
    result = run("digest", *next_week, "--send", "--supervisor", "s01")
    assert result.exit_code == 0
    _, msg = smtp.received[-1]
    body = next(p.get_content() for p in msg.walk() if p.get_content_type() == "text/plain")
    assert "Resolved since the last digest (1)" in body and "Kevin O'Brien" in body.split("Resolved")[1]
    assert "still open" in body.split("Resolved")[0] and "1 resolved since the last digest" in body


def test_out_writes_files_and_sends_nothing(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    out = tmp_path / "digests"
    result = run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--week", WEEK,
                 "--out", out)
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir())[:2] == ["digest-a001-2026-W50.html", "digest-a001-2026-W50.txt"]
    assert "All clear" in (out / "digest-s02-2026-W50.txt").read_text()


def test_never_an_all_clear_while_a_source_is_unread(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    (example_dir / "feeds" / "will-juvenile.ics").write_text("<html>maintenance</html>")
    out = tmp_path / "d"
    result = run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--week", WEEK,
                 "--out", out)
    assert result.exit_code == 3
    text = (out / "digest-s02-2026-W50.txt").read_text()
    assert "could not be read" in text and "All clear" not in text


def test_bad_week_and_non_supervisor(example_dir: Path, run: Runner) -> None:
    toml = example_dir / "courtsync.toml"
    assert "ISO week" in run("digest", "--config", toml, "--week", "2026-50").stderr
    result = run("digest", "--config", toml, "--supervisor", "w01")
    assert result.exit_code == 2 and "supervises nobody" in result.stderr


def test_send_without_smtp_is_a_clear_error(example_dir: Path, run: Runner) -> None:
    result = run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--send")
    assert result.exit_code == 2 and "[smtp]" in result.stderr


def test_feed_text_is_escaped_in_html(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    feed = example_dir / "feeds" / "cook-cpd.ics"
    feed.write_bytes(feed.read_bytes().replace(b"LOCATION:2245 W. Ogden Ave.\\, Courtroom 3",
                                               b"LOCATION:<script>alert('x')</script>"))
    out = tmp_path / "d"
    run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--week", WEEK, "--out", out)
    html = (out / "digest-s01-2026-W50.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_compare() -> None:
    def e(worker: str, day: str) -> Entry:
        return Entry("new", worker, worker.upper(), day, "S", "H", "overlap")

    previous = {"a": e("w1", "Mon 2026-12-07").as_dict(), "b": e("w2", "Mon 2026-12-14").as_dict(),
                "old": e("w3", "Mon 2026-11-30").as_dict()}
    got = compare({"a": e("w1", "Mon 2026-12-07"), "c": e("w4", "Tue 2026-12-08")}, previous, "Mon 2026-12-07")
    assert [(x.status, x.worker_id) for x in got] == [("open", "w1"), ("new", "w4"), ("resolved", "w2")]


def test_bug_long_html_lines_were_refused_by_smtp(example_dir: Path, run: Runner, smtp: SmtpServer) -> None:
    """Found against the real server: an 8-bit HTML part had lines over 998 bytes ("500 Line too long")."""
    toml = example_dir / "courtsync.toml"
    workers = example_dir / "workers.csv"
    workers.write_text(workers.read_text().replace("Tamika Johnson", "Tamika " + "Johnson-" * 150))
    assert run("digest", *configured(example_dir, smtp), "--send", "--supervisor", "s01").exit_code == 0
    _, msg = smtp.received[-1]
    raw = msg.as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) <= 998
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in msg.walk() if not p.is_multipart())
    assert toml.exists()


def test_golden_digest(example_dir: Path, run: Runner, tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    out = tmp_path / "d"
    assert run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--week", WEEK,
               "--supervisor", "s01", "--out", out).exit_code == 0
    golden("digest-s01-2026-W50.txt", (out / "digest-s01-2026-W50.txt").read_text())
    golden("digest-s01-2026-W50.html", (out / "digest-s01-2026-W50.html").read_text())


def digest_page(example_dir: Path, run: Runner, out: Path) -> Path:
    assert run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--week", WEEK,
               "--supervisor", "s01", "--out", out).exit_code in (0, 3)
    return out / "digest-s01-2026-W50.html"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_html_digest_in_a_real_browser(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    """Renders the HTML digest in headless Chromium on a desktop and keeps a screenshot a person can look at."""
    look = look_at(digest_page(example_dir, run, tmp_path / "d"), tmp_path / "profile", width=1000, height=1100,
                   mobile=False)
    shot = tmp_path / "digest-s01.png"
    shot.write_bytes(look.screenshot)
    assert look.screenshot[:8] == b"\x89PNG\r\n\x1a\n" and len(look.screenshot) > 20_000
    assert look.scroll_width <= 1000 and not look.overflowing
    print(f"screenshot: {shot}")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_digest_fits_a_phone_screen(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    """At a phone's 390 px nothing is cut off: the page is laid out at the phone's width (viewport meta) and no
    element reaches past its edge, even with a very long name and the unread-calendar banner."""
    page = digest_page(example_dir, run, tmp_path / "d")
    workers = example_dir / "workers.csv"
    workers.write_text(workers.read_text().replace("Tamika Johnson", "Tamika " + "Johnson" * 40))
    (example_dir / "feeds" / "will-juvenile.ics").write_text("<html>maintenance</html>")
    run("sync", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF)   # read now: it fails
    hard = digest_page(example_dir, run, tmp_path / "hard")
    assert "could not be read" in hard.read_text()
    for name, html in (("plain", page), ("hard", hard)):
        look = look_at(html, tmp_path / f"profile-{name}", width=390)
        (tmp_path / f"digest-{name}-390.png").write_bytes(look.screenshot)
        assert look.width == 390, f"{name}: laid out {look.width} px wide, as a phone without a viewport meta does"
        assert look.scroll_width <= 390, f"{name}: {look.scroll_width} px wide on a 390 px screen"
        assert look.overflowing == [], f"{name}: cut off at the right edge: {look.overflowing}"
    print(f"screenshots: {tmp_path}/digest-*-390.png")


def test_digest_lists_this_week_first(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    """The example's s01 team has two conflicts on Tuesday of this week and two on Wednesday of the next:
    this week's come first, whatever the workers' names, then the later ones, each in date order."""
    page = digest_page(example_dir, run, tmp_path / "d")
    for text in (page.with_suffix(".txt").read_text(), page.read_text()):
        this_week, later = text.index("This week (2)"), text.index("Coming weeks, through 2027-01-31 (2)")
        days = re.findall(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2}", text)
        assert days == sorted(days, key=lambda d: d[-10:]) == ["Tue 2026-12-08"] * 2 + ["Wed 2026-12-16"] * 2
        assert this_week < text.index("Tue 2026-12-08") < later < text.index("Wed 2026-12-16")


def test_an_open_conflict_this_week_comes_before_a_new_one_later() -> None:
    def e(worker: str, day: str) -> Entry:
        return Entry("new", worker, worker, day, "S", "H", "overlap")

    previous = {"soon": e("Zoe", "Tue 2026-12-08").as_dict(), "gone": e("Amy", "Wed 2026-12-09").as_dict()}
    got = compare({"later": e("Amy", "Mon 2026-12-21"), "soon": e("Zoe", "Tue 2026-12-08"),
                   "next": e("Bob", "Thu 2026-12-10"), "mid": e("Cy", "Fri 2026-12-11")}, previous, "Mon 2026-12-07")
    assert [(x.status, x.worker_name, x.day[:3]) for x in got] == [
        ("open", "Zoe", "Tue"), ("new", "Bob", "Thu"), ("new", "Cy", "Fri"), ("new", "Amy", "Mon"),
        ("resolved", "Amy", "Wed")]


def test_sending_through_exchange_when_there_is_no_smtp(example_dir: Path, run: Runner,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    toml = sending_through_exchange(example_dir, monkeypatch)

    def create(recipient: str) -> tuple[int, dict[str, str], str]:
        if len(ews.sent) == 2:   # the second one: Exchange is busy, so it stays pending for the next run
            return 500, {"Content-Type": "text/xml"}, server_busy_fault(1000)
        return created()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ews = FakeEws(create).serve(mock)
        first = run("digest", "--config", toml, "--as-of", AS_OF, "--week", WEEK, "--send")
        assert first.exit_code == 3 and "will retry" in first.stderr and "sent 4" in first.stdout
        again = run("digest", "--config", toml, "--as-of", AS_OF, "--week", WEEK, "--send")
        assert again.exit_code == 0 and "sent 1" in again.stdout
    assert len(ews.sent) == 6 and len(set(ews.sent)) == 5    # five supervisors; the busy one tried twice, sent once
    CachingProtocol.clear_cache()


OPENSSL = __import__("shutil").which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl is needed to make a test certificate")
def test_starttls_and_login_with_the_password_from_the_environment(example_dir: Path, run: Runner,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))   # trust the test certificate, nothing else changes
    server = SmtpServer(tls=(str(cert), str(key)), login=("svc-courtsync", "right-password")).start()
    try:
        toml = example_dir / "courtsync.toml"
        toml.write_text(toml.read_text() + f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nstarttls = true\n'
                                           'username = "svc-courtsync"\npassword_env = "COURTSYNC_SMTP_PASSWORD"\n'
                                           'sender = "Liaison <lc@agency.example>"\n')
        args = ["digest", "--config", str(toml), "--as-of", AS_OF.isoformat(), "--week", WEEK, "--send"]
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "wrong-password")
        refused = run(*args)
        assert refused.exit_code == 3 and "refused the login of svc-courtsync" in refused.stderr
        assert "COURTSYNC_SMTP_PASSWORD" in refused.stderr and "wrong-password" not in refused.stderr
        assert server.received == []
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "right-password")
        sent = run(*args)
        assert sent.exit_code == 0 and "sent 5" in sent.stdout and len(server.received) == 5
    finally:
        server.stop()


def test_an_agency_can_override_the_templates(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    (example_dir / "templates").mkdir()
    (example_dir / "templates" / "digest.txt.j2").write_text("Agency digest for {{ supervisor.name }}: "
                                                             "{{ entries|length }} item(s)\n")
    out = tmp_path / "d"
    run("digest", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--week", WEEK, "--supervisor",
        "s01", "--out", out)
    assert (out / "digest-s01-2026-W50.txt").read_text() == "Agency digest for Andre Whitfield: 4 item(s)\n"
    assert "<table>" in (out / "digest-s01-2026-W50.html").read_text()   # the shipped HTML fills the gap


def test_an_out_folder_that_cannot_be_made_is_a_clear_error(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    """Bug: --out under a file (or a full or read-only disk) ended in a Python traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for command in ("digest", "notices"):
        result = run(command, "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--out", blocker / "sub")
        assert result.exit_code == 2, (command, result.stderr)
        assert "Cannot write" in result.stderr and "a-file" in result.stderr and "Traceback" not in result.stderr


def test_with_a_base_url_each_open_conflict_links_to_the_check_page(example_dir: Path, run: Runner,
                                                                     tmp_path: Path) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + '\n[server]\nbase_url = "https://courtsync.agency.example"\n')
    result = run("digest", "--config", toml, "--as-of", AS_OF, "--week", WEEK, "--supervisor", "s01",
                 "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    text = next((tmp_path / "out").glob("*.txt")).read_text()
    html = next((tmp_path / "out").glob("*.html")).read_text()
    link = "https://courtsync.agency.example/?worker=w05&date=2026-12-08"
    assert f"check dates: {link}" in text
    assert f'<a href="{link.replace("&", "&amp;")}">check dates</a>' in html
    assert "courtsync check --worker ID" not in text + html   # the service replaces the command's hint
