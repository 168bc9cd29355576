"""Nothing lost, nothing twice: senders at once, a sender killed inside DATA, the sender's own configuration
refused, a refused login, line breaks in headers. Real courtsync processes against a real SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AS_OF, Run
from tests.smtp_server import Behaviour, SmtpServer, free_port

Runner = Callable[..., Run]
WEEK = "2026-W50"
SUPERVISORS = 5       # the example's supervisors, each with a digest
COURTS = 2            # the example's courts, each with an email address
HANG_GUARD = 120      # seconds: a run that takes longer is stuck


def smtp_table(server: SmtpServer | int, username: str | None = None,
               sender: str = "Liaison <lc@agency.example>") -> str:
    port = server if isinstance(server, int) else server.port
    login = f'username = "{username}"\npassword_env = "COURTSYNC_SMTP_PASSWORD"\n' if username else ""
    return (f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n{login}'
            f'sender = "{sender}"\n')


def with_smtp(example_dir: Path, table: str) -> Path:
    """The example's courtsync.toml with this [smtp] table (replacing one added before)."""
    toml = example_dir / "courtsync.toml"
    text = toml.read_text().split("\n[smtp]\n")[0]
    toml.write_text(text + table)
    return toml


def digest_args(toml: Path) -> list[str]:
    return ["digest", "--config", str(toml), "--as-of", AS_OF.isoformat(), "--week", WEEK, "--send"]


def notices_args(toml: Path) -> list[str]:
    return ["notices", "--config", str(toml), "--as-of", AS_OF.isoformat(), "--send"]


def courtsync(*args: str) -> subprocess.Popen[str]:
    """A real `courtsync` process (the environment is the test's: no COURTSYNC_ variables, a temporary HOME)."""
    return subprocess.Popen([sys.executable, "-m", "courtsync", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=HANG_GUARD)
    return proc.returncode, out, err


def synced(run: Runner, toml: Path) -> None:
    """Read the feeds once, so the senders started together do not each sync first."""
    assert run("sync", "--config", toml, "--as-of", AS_OF).exit_code == 0


def two_at_once(example_dir: Path, run: Runner, args: Callable[[Path], list[str]],
                expected: int) -> tuple[SmtpServer, Path]:
    """Two real senders started together against a server that holds the first message until the second
    sender has named a recipient: each Message-ID must arrive exactly once, and both runs exit 0."""
    server = SmtpServer(Behaviour(stall_first="data")).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))
        synced(run, toml)
        first, second = courtsync(*args(toml)), courtsync(*args(toml))
        results = [finish(first), finish(second)]
    finally:
        server.stop()
    counts = server.message_ids()
    assert sorted(counts.values()) == [1] * expected, (counts, results)
    assert len({rcpt for rcpt, _ in server.received}) == expected
    assert [code for code, _, _ in results] == [0, 0], results
    return server, toml


def test_two_digest_senders_at_once_deliver_each_supervisor_exactly_once(example_dir: Path, run: Runner) -> None:
    """Bug: two `digest --send` started together delivered 9 messages for 5 supervisors (4 twice)."""
    two_at_once(example_dir, run, digest_args, SUPERVISORS)


def test_two_notices_senders_at_once_deliver_each_court_exactly_once(example_dir: Path, run: Runner) -> None:
    _, toml = two_at_once(example_dir, run, notices_args, COURTS)
    log = run("notices", "--config", toml, "--log", "--format", "csv")
    assert log.stdout.count(",email,initial,sent,") == COURTS, log.stdout   # each told once, by one run


def killed_while_stalled(example_dir: Path, run: Runner, server: SmtpServer) -> Path:
    """A real `digest --send`, SIGKILLed while the server stalls (then the server goes on)."""
    toml = with_smtp(example_dir, smtp_table(server))
    synced(run, toml)
    sender = courtsync(*digest_args(toml))
    assert server.behaviour.stalled.wait(HANG_GUARD), finish(sender)
    sender.send_signal(signal.SIGKILL)
    assert finish(sender)[0] == -signal.SIGKILL
    server.behaviour.release.set()
    return toml


def test_a_killed_sender_makes_the_next_run_exit_3_naming_the_unknown(example_dir: Path, run: Runner) -> None:
    """Bug: a sender killed mid-batch left a row `sending`; the next run called it unknown and exited 0."""
    behaviour = Behaviour(stall_first="data")   # the server holds the message and says nothing
    server = SmtpServer(behaviour).start()
    try:
        toml = killed_while_stalled(example_dir, run, server)
        (held, _), = server.received
        next_run = run(*digest_args(toml))
        assert next_run.exit_code == 3, next_run.stdout + next_run.stderr
        assert f"UNKNOWN (not re-sent by itself): {held}: the digest of" in next_run.stderr
        assert "--supervisor" in next_run.stderr.split("--mark-sent")[0]
        assert "stopped before the server answered" in next_run.stderr
        assert "--mark-sent" in next_run.stderr and "--resend" in next_run.stderr
        assert "sent 4" in next_run.stdout
        assert sorted(server.message_ids().values()) == [1] * SUPERVISORS   # the held one was never sent again
        again = run(*digest_args(toml))
        assert again.exit_code == 3 and "sent 0" in again.stdout and held in again.stderr   # until settled
        settled = run(*digest_args(toml), "--mark-sent")
        assert settled.exit_code == 0 and "marked 1 message(s) as sent" in settled.stdout
        assert len(server.received) == SUPERVISORS
    finally:
        behaviour.release.set()
        server.stop()


def test_a_sender_killed_before_handing_its_message_over_leaves_nothing_in_doubt(example_dir: Path,
                                                                                  run: Runner) -> None:
    behaviour = Behaviour(stall_first="rcpt")   # the first RCPT waits for an answer
    server = SmtpServer(behaviour).start()
    try:
        toml = killed_while_stalled(example_dir, run, server)
        next_run = run(*digest_args(toml))
        assert next_run.exit_code == 0 and "sent 5" in next_run.stdout, next_run.stderr
        assert sorted(server.message_ids().values()) == [1] * SUPERVISORS
    finally:
        behaviour.release.set()
        server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_530_then_fixed_configuration_delivers_everything_exactly_once(example_dir: Path, run: Runner,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: 530 authentication required (the sender's own setup) failed every recipient for good, so once the
    configuration was fixed a rerun sent nothing and the week's digests were lost."""
    server = SmtpServer(login=("svc-courtsync", "right-password")).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))     # no login configured: the server answers 530
        refused = run(*digest_args(toml))
        assert refused.exit_code == 3 and "530" in refused.stderr, refused.stderr
        assert "will retry" in refused.stderr and "FAILED" not in refused.stderr
        assert "not tried: 4 more message(s) stay queued" in refused.stderr   # one 530 is enough to know
        assert server.received == []
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "right-password")
        with_smtp(example_dir, smtp_table(server, username="svc-courtsync"))
        fixed = run(*digest_args(toml))
        assert fixed.exit_code == 0 and "sent 5" in fixed.stdout, fixed.stderr
        assert sorted(server.message_ids().values()) == [1] * SUPERVISORS
        assert run(*digest_args(toml)).exit_code == 0 and len(server.received) == SUPERVISORS
    finally:
        server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_is_tried_once_per_run_in_total(example_dir: Path, run: Runner,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: a refused login was tried once per mechanism (the server saw two failed logins per run): each
    failed login brings an account lockout closer."""
    server = SmtpServer(login=("svc-courtsync", "right-password")).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server, username="svc-courtsync"))
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "wrong-password")
        first = run(*digest_args(toml))
        assert first.exit_code == 3 and len(server.auth_attempts) == 1, server.auth_attempts
        assert "refused the login of svc-courtsync" in first.stderr and "$COURTSYNC_SMTP_PASSWORD" in first.stderr
        assert "wrong-password" not in first.stdout + first.stderr
        assert "not tried: 4 more" in first.stderr and server.received == []
        notices = run(*notices_args(toml))
        assert notices.exit_code == 3 and len(server.auth_attempts) == 2   # the next run: one more, no more
        monkeypatch.setenv("COURTSYNC_SMTP_PASSWORD", "right-password")
        fixed = run(*digest_args(toml))
        assert fixed.exit_code == 0 and "sent 5" in fixed.stdout and len(server.auth_attempts) == 3
    finally:
        server.stop()


def test_relay_denied_stays_queued_and_goes_once_allowed(example_dir: Path, run: Runner) -> None:
    """Relay denied (554 5.7.1) is the sender's setup, not a bad address: the letter waits, it is not failed."""
    behaviour = Behaviour(relay_denied={"cpd-clerk@example.org"})
    server = SmtpServer(behaviour).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))
        denied = run(*notices_args(toml))
        assert denied.exit_code == 3 and "will retry: cpd-clerk@example.org: 554 5.7.1" in denied.stderr
        assert "FAILED" not in denied.stderr and len(server.received) == 1
        behaviour.relay_denied.clear()
        allowed = run(*notices_args(toml))
        assert allowed.exit_code == 0 and "sent 1" in allowed.stdout
        assert sorted(server.message_ids().values()) == [1] * COURTS
    finally:
        server.stop()


def test_a_refused_connection_stays_queued_and_is_tried_once(example_dir: Path, run: Runner) -> None:
    port = free_port()   # nothing listens there yet
    toml = with_smtp(example_dir, smtp_table(port))
    result = run(*digest_args(toml))
    assert result.exit_code == 3 and "connection refused" in result.stderr and "[smtp] host and port" in result.stderr
    assert result.stderr.count("will retry") == 1 and "not tried: 4 more" in result.stderr
    started = SmtpServer(port=port).start()
    try:
        assert run(*digest_args(toml)).exit_code == 0 and len(started.received) == SUPERVISORS
    finally:
        started.stop()


@pytest.mark.parametrize("value", ["Liaison\\r\\nBcc: all@agency.example <lc@agency.example>",
                                   "Liaison\\n<lc@agency.example>"])
def test_a_line_break_in_the_sender_is_a_configuration_error(example_dir: Path, run: Runner, value: str) -> None:
    """Bug: a CR or LF in [smtp] sender crashed `digest --send` with a traceback."""
    toml = with_smtp(example_dir, smtp_table(free_port(), sender=value))
    line = toml.read_text().splitlines().index(f'sender = "{value}"') + 1
    result = run(*digest_args(toml))
    assert result.exit_code == 2 and f"courtsync.toml:{line} smtp.sender: must be on one line" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_line_break_in_a_court_or_liaison_name_is_a_configuration_error(example_dir: Path, run: Runner) -> None:
    """Names flow into letters and email subjects: a line break there is refused where it is written."""
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    toml.write_text(text.replace('name = "Circuit Court of Will County, Juvenile Division"',
                                 'name = "Circuit Court of Will County,\\nJuvenile Division"')
                    .replace('name = "Dana Reyes"', 'name = "Dana\\rReyes"'))
    lines = toml.read_text().splitlines()
    court = next(n for n, line in enumerate(lines, 1) if "Will County,\\n" in line)
    liaison = next(n for n, line in enumerate(lines, 1) if "Dana\\r" in line)
    result = run("notices", "--config", toml, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert f"courtsync.toml:{court} court[1].name: must be on one line" in result.stderr
    assert f"courtsync.toml:{liaison} liaison[0].name: must be on one line" in result.stderr


def test_a_drop_after_data_is_settled_by_resend_and_then_exits_0(example_dir: Path, run: Runner) -> None:
    server = SmtpServer(Behaviour(drop_after_data={1})).start()
    try:
        toml = with_smtp(example_dir, smtp_table(server))
        assert run(*digest_args(toml)).exit_code == 3
        resent = run(*digest_args(toml), "--supervisor", "a001", "--resend")
        assert resent.exit_code == 0 and "sent 1" in resent.stdout, resent.stderr
        assert run(*digest_args(toml)).exit_code == 0    # the unknown one was replaced by the resend
        assert list(server.message_ids().values()).count(2) == 1 and len(server.received) == SUPERVISORS + 1
    finally:
        server.stop()


def test_process_ids_of_this_machine_tell_a_dead_sender() -> None:
    import socket

    from courtsync.notices.outbox import claimer_alive

    host = socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert claimer_alive(f"{host}/{gone.pid}/x") is False
    assert claimer_alive(f"{host}/{os.getppid()}/x") is True
    assert claimer_alive(f"{host}/{os.getpid()}/not-delivering") is False
    assert claimer_alive(f"elsewhere.example/{os.getpid()}/x") is None   # another machine: only the lease tells
