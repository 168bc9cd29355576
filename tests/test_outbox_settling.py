"""Review of the outbox: --resend never doubles a queued message, a queued message goes as rendered by the run
that sends it, a lease is outlived for a bounded time whatever the process id says, a message in doubt is
reported until settled, flags that do nothing alone are refused, and the schema and header rules live once."""

from __future__ import annotations

import ast
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from courtsync.config.schema import load_config
from courtsync.context import open_store
from courtsync.notices.outbox import LEASE_SECONDS, Outbox, Outgoing
from courtsync.store.sqlite import Store
from tests.conftest import AS_OF, Run
from tests.smtp_server import Behaviour, SmtpServer
from tests.test_delivery_errors import Recording
from tests.test_outbox_faults import SUPERVISORS, digest_args, notices_args, smtp_table, with_smtp

Runner = Callable[..., Run]
ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0


def one(store: Store, key: str = "digest:s01:2027-W03", message: bytes = b"m") -> Outbox:
    outbox = Outbox(store.ledger, lambda: NOW)
    outbox.queue([Outgoing(key, "r@x.example", "s", message)])
    return outbox


# --- 1. --resend ----------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_resend_while_the_original_is_still_pending_sends_it_once(example_dir: Path, run: Runner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: after a 530 left the digests pending, `digest --send --resend` queued a second row beside each
    pending one, and both were delivered."""
    server = SmtpServer(login=("svc-courtsync", "right-password")).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))     # no login: 530, everything stays pending
        assert run(*digest_args(toml)).exit_code == 3 and server.received == []
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "right-password")
        with_smtp(example_dir, smtp_table(server, username="svc-courtsync"))
        resent = run(*digest_args(toml), "--resend")
        assert resent.exit_code == 0 and f"sent {SUPERVISORS}" in resent.stdout, resent.stdout + resent.stderr
        assert sorted(server.message_ids().values()) == [1] * SUPERVISORS
    finally:
        server.stop()


def test_notices_resend_sends_again_only_a_letter_in_doubt(tmp_path: Path) -> None:
    """`notices --resend` says it sends again a letter whose email is in doubt: a delivered one is left alone."""
    from courtsync.notices.outbox import RESEND_ANY, RESEND_UNKNOWN

    store = Store(tmp_path / "s.db")
    outbox = one(store, "notice:cook:abc")
    assert outbox.deliver(Recording()).sent == 1
    letter = [Outgoing("notice:cook:abc", "r@x.example", "s", b"m")]
    assert outbox.queue(letter, resend=RESEND_UNKNOWN) == (0, 1)
    assert store.ledger.rows("pending") == []
    assert outbox.queue(letter, resend=RESEND_ANY) == (1, 0)    # a digest's --resend: once more, on purpose


# --- 3. stale content -------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_queued_message_goes_as_rendered_by_the_run_that_sends_it(example_dir: Path, run: Runner,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: a pending row kept the bytes of its first attempt: after [smtp] sender was fixed the old From went."""
    server = SmtpServer(login=("svc-courtsync", "right-password")).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server, sender="Old Name <old@agency.example>"))
        assert run(*digest_args(toml)).exit_code == 3 and server.received == []
        with open_store(load_config(toml)) as store:   # the store the commands use (either backend)
            queued = {r.message_id for r in store.ledger.rows("pending")}
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "right-password")
        with_smtp(example_dir, smtp_table(server, username="svc-courtsync", sender="Liaison <lc@agency.example>"))
        assert run(*digest_args(toml)).exit_code == 0
        assert {str(m["From"]) for _, m in server.received} == {"Liaison <lc@agency.example>"}
        assert len(server.received) == SUPERVISORS
        assert {str(m["Message-ID"]) for _, m in server.received} == queued   # from the key: the first run's
    finally:
        server.stop()


def test_a_pending_row_takes_the_new_message_and_keeps_its_message_id(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    outbox = one(store, message=b"old")
    (before,) = store.ledger.rows("pending")
    assert outbox.queue([Outgoing("digest:s01:2027-W03", "r@x.example", "new subject", b"new")]) == (0, 1)
    (after,) = store.ledger.rows("pending")
    assert (after.id, after.message, after.subject, after.message_id) == (before.id, b"new", "new subject",
                                                                         before.message_id)
    outbox.deliver(Recording())
    outbox.queue([Outgoing("digest:s01:2027-W03", "r@x.example", "s", b"newer")])
    assert store.ledger.rows("sent")[0].message == b"new"    # once handed over, what went stays on record


# --- 4. leases --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("handed_over", "ends"), [(False, "sent"), (True, "unknown")])
def test_a_lease_that_ran_out_is_given_up_even_if_its_process_id_looks_alive(tmp_path: Path, handed_over: bool,
                                                                              ends: str) -> None:
    """Bug: a claim by a process id of this machine that is alive (reused by another process) was never given
    up: the row stayed claimed or sending for ever."""
    store = Store(tmp_path / "s.db")
    one(store)
    (row,) = store.ledger.rows("pending")
    alive = f"{socket.gethostname()}/{os.getppid()}/gone-long-ago"    # the id lives; the sender does not
    assert store.ledger.claim(row.id, alive, NOW + LEASE_SECONDS) is not None
    if handed_over:
        assert store.ledger.handing_over(row.id, alive)
    transport = Recording()
    during = Outbox(store.ledger, lambda: NOW + LEASE_SECONDS - 1).deliver(transport)
    assert during.elsewhere == 1 and transport.sent == []
    after = Outbox(store.ledger, lambda: NOW + LEASE_SECONDS + 1).deliver(transport)
    assert [r.id for r in store.ledger.rows(ends)] == [row.id]
    assert transport.sent == ([] if handed_over else ["r@x.example"])   # in doubt: never re-sent by itself
    assert after.elsewhere == 0


# --- 5. unknown rows stay in the report -----------------------------------------------------------------

def test_last_weeks_unknown_digest_is_reported_this_week(example_dir: Path, run: Runner) -> None:
    """Bug: the report held only this run's keys: last week's digest in doubt was never shown again (exit 0)."""
    server = SmtpServer(Behaviour(drop_after_data={1})).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))
        assert run(*digest_args(toml)).exit_code == 3
        (held, _) = server.received[0]
        next_week = [a if a != "2026-W50" else "2026-W51" for a in digest_args(toml)]
        later = run(*next_week)
        assert later.exit_code == 3, later.stdout + later.stderr
        assert f"UNKNOWN (not re-sent by itself): {held}: the digest of" in later.stderr and "2026-W50" in later.stderr
        settled = run(*digest_args(toml), "--mark-sent")
        assert settled.exit_code == 0 and run(*next_week).exit_code == 0
    finally:
        server.stop()


@pytest.mark.parametrize("settle", ["--mark-sent", "--resend"])
def test_an_unknown_letter_whose_content_changed_is_still_reported(example_dir: Path, run: Runner,
                                                                   settle: str) -> None:
    """Bug: a letter in doubt whose content then changed (a new key) dropped out of the report (exit 0)."""
    server = SmtpServer(Behaviour(drop_after_data={1})).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))
        assert run(*notices_args(toml)).exit_code == 3
        (held, _) = server.received[0]
        shorter = run(*notices_args(toml), "--to", "2027-03-31")    # other dates: another letter, another key
        assert shorter.exit_code == 3, shorter.stdout + shorter.stderr
        assert f"UNKNOWN (not re-sent by itself): {held}: the letter to court" in shorter.stderr
        court = shorter.stderr.split(f"{held}: the letter to court ")[1].split()[0]
        other = run("notices", "--config", toml, "--as-of", AS_OF, "--send", "--court",
                    "will-juv" if court == "cook-cpd" else "cook-cpd")
        assert held not in other.stderr     # with --court, only that court's
        settled = run(*notices_args(toml), "--court", court, settle)   # --resend: the current letter replaces it
        assert settled.exit_code == 0 and "UNKNOWN" not in settled.stderr, settled.stderr
        assert ("marked 1 message(s) as sent" in settled.stdout) == (settle == "--mark-sent")
        assert run(*notices_args(toml)).exit_code == 0
    finally:
        server.stop()


# --- 8. flags that do nothing alone -----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["digest", "notices"])
@pytest.mark.parametrize("flag", ["--resend", "--mark-sent"])
def test_resend_and_mark_sent_without_send_are_usage_errors(example_dir: Path, run: Runner, command: str,
                                                            flag: str) -> None:
    """Bug: without --send they did nothing and exited 0."""
    result = run(command, "--config", example_dir / "courtsync.toml", "--as-of", AS_OF, "--offline", flag)
    assert result.exit_code == 2 and f"{flag} goes with --send" in result.stderr, result.stderr


def test_notices_date_alone_says_it_goes_with_reprint(example_dir: Path, run: Runner) -> None:
    result = run("notices", "--config", example_dir / "courtsync.toml", "--date", "2026-11-23")
    assert result.exit_code == 2 and "--date goes with --reprint COURT" in result.stderr, result.stderr


def test_reprint_refuses_a_format_it_does_not_honour(example_dir: Path, run: Runner) -> None:
    result = run("notices", "--config", example_dir / "courtsync.toml", "--reprint", "cook-cpd", "--format", "json")
    assert result.exit_code == 2 and "--format goes with --log" in result.stderr, result.stderr


# --- 6, 7, 9. one place each ------------------------------------------------------------------------------

def test_three_line_break_helpers_become_one_header_check() -> None:
    """Bug: fields._one_line refused, outbox.one_line refused, subjects.one_line silently collapsed."""
    from courtsync.notices import subjects

    assert not hasattr(subjects, "one_line") and subjects.squash_spaces("a  b\tc") == "a b c"
    weekly = (ROOT / "courtsync" / "app" / "digests.py").read_text()
    assert "squash_spaces" not in weekly and "one_line" not in weekly   # the subject is tidied once, in subjects


def test_every_table_is_created_in_store_schema() -> None:
    """Bug: notice_letters and the lease columns were defined in store_ledger, apart from the schema."""
    outside = [str(p.relative_to(ROOT)) for p in (ROOT / "courtsync").rglob("*.py")
               if p.relative_to(ROOT).as_posix() != "courtsync/store/schema.py"
               and ("CREATE TABLE" in p.read_text() or "ADD COLUMN" in p.read_text())]
    assert outside == []


def test_the_fake_exchange_is_defined_once_in_mail_fixtures() -> None:
    """Bug: the EWS sending fake was written twice, and test_digest imported it from another test module."""
    defined: list[str] = []
    for path in sorted(set((ROOT / "tests").glob("*.py")) - {Path(__file__).resolve()}):
        tree = ast.parse(path.read_text())
        defined += [path.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)
                    and node.name in ("sending_through_exchange", "FakeEws")]
        defined += [path.name for node in ast.walk(tree) if isinstance(node, ast.Constant)
                    and node.value == "<m:CreateItem"]
        defined += [f"{path.name} imports it from {node.module}" for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_")
                    and {a.name for a in node.names} & {"sending_through_exchange", "FakeEws"}]
    assert set(defined) == {"mail_fixtures.py"}, defined
