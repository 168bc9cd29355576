"""What each court was told: `notices --log`, `notices --reprint`, and stores written by the previous release."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AS_OF, Run
from tests.smtp_server import Behaviour, SmtpServer
from tests.test_notices import move_first_cook_north_session
from tests.test_outbox_faults import digest_args, smtp_table, with_smtp

Runner = Callable[..., Run]
NEXT_DAY = "2026-11-24"


def cfg(d: Path, as_of: str = AS_OF.isoformat()) -> list[str]:
    return ["--config", str(d / "courtsync.toml"), "--as-of", as_of]


def test_a_letter_recorded_before_can_be_reprinted_exactly(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    """Bug: `notices` after a letter was recorded wrote nothing, so a lost letter could not be reprinted."""
    first = tmp_path / "first"
    assert run("notices", *cfg(example_dir), "--out", first, "--print").exit_code == 0
    assert "no change since the last letter" in run("notices", *cfg(example_dir), "--out", tmp_path / "x").stdout
    again = tmp_path / "again"
    result = run("notices", *cfg(example_dir), "--reprint", "will-juv", "--out", again)
    assert result.exit_code == 0, result.stderr
    assert "nothing new recorded" in result.stdout
    name = f"letter-will-juv-{AS_OF}"
    assert sorted(p.name for p in again.iterdir()) == [f"{name}.html", f"{name}.pdf", f"{name}.txt"]
    for suffix in (".txt", ".html"):
        assert (again / (name + suffix)).read_bytes() == (first / (name + suffix)).read_bytes()
    assert (again / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    log = json.loads(run("notices", *cfg(example_dir), "--log", "--format", "json").stdout)["notices"]
    assert len(log) == 2   # the reprint recorded nothing


def test_reprint_picks_the_last_letter_or_the_one_of_a_date(example_dir: Path, run: Runner, tmp_path: Path) -> None:
    assert run("notices", *cfg(example_dir), "--print", "--out", tmp_path / "b1").exit_code == 0
    move_first_cook_north_session(example_dir)
    amended = run("notices", *cfg(example_dir, NEXT_DAY), "--print", "--out", tmp_path / "b2")
    assert amended.exit_code == 0 and "cook-cpd     amended letter" in amended.stdout, amended.stdout
    last = tmp_path / "last"
    assert run("notices", *cfg(example_dir), "--reprint", "cook-cpd", "--out", last).exit_code == 0
    assert [p.name for p in last.glob("*.txt")] == [f"amended-cook-cpd-{NEXT_DAY}.txt"]
    assert "AMENDED" in (last / f"amended-cook-cpd-{NEXT_DAY}.txt").read_text()
    earlier = tmp_path / "earlier"
    assert run("notices", *cfg(example_dir), "--reprint", "cook-cpd", "--date", AS_OF, "--out", earlier).exit_code == 0
    assert [p.name for p in earlier.glob("*.txt")] == [f"letter-cook-cpd-{AS_OF}.txt"]
    missing = run("notices", *cfg(example_dir), "--reprint", "cook-cpd", "--date", "2020-01-01")
    assert missing.exit_code == 2 and "No letter to cook-cpd is recorded on 2020-01-01" in missing.stderr
    assert f"{AS_OF}, {NEXT_DAY}" in missing.stderr
    unknown = run("notices", *cfg(example_dir), "--reprint", "cook-cdp")
    assert unknown.exit_code == 2 and "Did you mean cook-cpd" in unknown.stderr


def test_reprint_before_any_letter_and_with_send_are_usage_errors(example_dir: Path, run: Runner) -> None:
    nothing = run("notices", *cfg(example_dir), "--reprint", "will-juv")
    assert nothing.exit_code == 2 and "No letter to will-juv is recorded yet" in nothing.stderr
    both = run("notices", *cfg(example_dir), "--reprint", "will-juv", "--send")
    assert both.exit_code == 2 and "only read the record" in both.stderr
    assert run("notices", *cfg(example_dir), "--date", AS_OF).exit_code == 2


def test_the_log_shows_what_each_court_was_told_and_how_it_went(example_dir: Path, run: Runner,
                                                               tmp_path: Path) -> None:
    """Bug: nothing showed what each court was told."""
    server = SmtpServer(Behaviour(refuse={"cpd-clerk@example.org"})).start()
    try:
        with_smtp(example_dir, smtp_table(server))
        assert run("notices", *cfg(example_dir), "--send").exit_code == 3
    finally:
        server.stop()
    move_first_cook_north_session(example_dir)
    assert run("notices", *cfg(example_dir, NEXT_DAY), "--court", "cook-cpd", "--print",
               "--out", tmp_path / "b").exit_code == 0
    entries = json.loads(run("notices", *cfg(example_dir), "--log", "--format", "json").stdout)["notices"]
    seen = sorted((e["court"], e["how"], e["kind"], e["status"]) for e in entries)
    assert seen == [("cook-cpd", "email", "initial", "failed"), ("cook-cpd", "print", "initial", "printed"),
                    ("will-juv", "email", "initial", "sent")]
    sent = next(e for e in entries if e["court"] == "will-juv")
    assert sent["dates"] and all(d[:4] in ("2026", "2027") for d in sent["dates"]) and sent["reprint"] is True
    failed = next(e for e in entries if e["status"] == "failed")
    assert "550 5.1.1" in failed["detail"]
    table = run("notices", *cfg(example_dir), "--log", "--court", "will-juv")
    assert table.exit_code == 0 and "will-juv" in table.stdout and "cook-cpd" not in table.stdout
    assert "initial" in table.stdout and "sent" in table.stdout
    csv_out = run("notices", *cfg(example_dir), "--log", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "court,when,how,kind,status,first,last,dates,reprint"


PREVIOUS_RELEASE = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, recipient TEXT NOT NULL, message_id TEXT NOT NULL,
    subject TEXT NOT NULL, message BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT, created REAL NOT NULL, sent_at REAL, meta TEXT NOT NULL DEFAULT '{}', UNIQUE (key, recipient)
);
CREATE TABLE notices (
    id INTEGER PRIMARY KEY, court TEXT NOT NULL, told_at REAL NOT NULL, how TEXT NOT NULL,
    first TEXT NOT NULL, last TEXT NOT NULL, dates TEXT NOT NULL, amended INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox (key, recipient, message_id, subject, message, status, created)
    VALUES ('digest:s01:2026-W49', 'andre.whitfield@agency.example', '<x@courtsync>', 's', x'00', 'sending', 1.0);
INSERT INTO notices (court, told_at, how, first, last, dates, amended)
    VALUES ('will-juv', 1795000000.0, 'print', '2026-11-01', '2027-05-01',
            '[{"day": "2026-12-08", "uid": "u"}]', 0);
"""


@pytest.mark.sqlite_only
def test_a_store_from_the_previous_release_opens_and_sends(example_dir: Path, run: Runner) -> None:
    store = example_dir / "courtsync.db"
    db = sqlite3.connect(store)
    db.executescript(PREVIOUS_RELEASE)
    db.close()
    server = SmtpServer().start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))
        sent = run(*digest_args(toml))
        assert sent.exit_code == 0 and "sent 5" in sent.stdout, sent.stderr
        # Last week's row left 'sending' by the old release, without a lease: given up as unknown by the first run
        # that sends that digest again, never re-sent.
        last_week = run(*[a if a != "2026-W50" else "2026-W49" for a in digest_args(toml)], "--supervisor", "s01")
        assert last_week.exit_code == 3 and "UNKNOWN" in last_week.stderr and "2026-W49" in last_week.stderr
        assert len(server.received) == 5
    finally:
        server.stop()
    columns = {r[1] for r in sqlite3.connect(store).execute("PRAGMA table_info(outbox)")}
    assert {"claimed_by", "lease_until"} <= columns
    log = json.loads(run("notices", *cfg(example_dir), "--log", "--format", "json").stdout)["notices"]
    assert [(e["court"], e["status"], e["dates"], e["reprint"]) for e in log] == [
        ("will-juv", "printed", ["2026-12-08"], False)]
    old = run("notices", *cfg(example_dir), "--reprint", "will-juv")
    assert old.exit_code == 2 and "earlier courtsync, which did not keep the letter itself" in old.stderr
