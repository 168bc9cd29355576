"""What a refusal means (the sender's setup, the server for now, this recipient for good), and leases that a
dead sender's row outlives only for a bounded time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import responses
from exchangelib.protocol import CachingProtocol

from courtsync.context import load_context
from courtsync.errors import DeliveryError
from courtsync.notices.exchange_mail import ExchangeTransport
from courtsync.notices.outbox import LEASE_SECONDS, Outbox, Outgoing
from courtsync.notices.smtp import Stage, classify
from courtsync.store.sqlite import Store
from tests.conftest import AS_OF, Run
from tests.mail_fixtures import FakeEws, create_refused, sending_through_exchange
from tests.smtp_server import SmtpServer
from tests.test_outbox_faults import SUPERVISORS, digest_args, smtp_table, with_smtp

Runner = Callable[..., Run]


@pytest.mark.parametrize(("stage", "code", "reply", "kind", "every"), [
    ("rcpt", 550, "5.1.1 <a@x.example>: Recipient address rejected: User unknown", "recipient", False),
    ("rcpt", 550, "No such user here", "recipient", False),
    ("data", 552, "5.3.4 Message size exceeds fixed limit", "recipient", False),
    ("rcpt", 554, "5.7.1 <a@x.example>: Relay access denied", "config", False),
    ("rcpt", 550, "Relaying denied", "config", False),
    ("rcpt", 550, "5.7.54 SMTP; Unable to relay recipient in non-accepted domain", "config", False),
    ("data", 550, "5.7.1 Message rejected: DMARC policy", "config", False),
    ("mail", 530, "5.7.0 Authentication required", "config", True),
    ("rcpt", 530, "5.7.0 Authentication required", "config", True),
    ("mail", 550, "5.7.57 Client not authenticated to send mail", "config", True),
    ("mail", 553, "5.1.8 Sender address rejected: not owned by user", "config", True),
    ("rcpt", 450, "4.2.0 Mailbox busy", "transient", False),
    ("data", 451, "4.3.0 Temporary local problem", "transient", False),
    ("mail", 421, "4.4.2 Timeout, closing connection", "transient", True),
])
def test_a_refusal_is_failed_only_when_it_is_the_recipients_for_good(stage: Stage, code: int, reply: str, kind: str,
                                                                    every: bool) -> None:
    """Bug: every 5xx failed the recipient for good, the sender's own setup (530, relay denied) included."""
    error = classify(stage, code, reply, "a@x.example")
    assert (error.kind, error.every_message) == (kind, every), error
    assert str(code) in error.message and error.hint


class Recording:
    """A transport that records what it is given (courtsync's own SMTP transport is tested against aiosmtpd)."""

    def __init__(self, fail: DeliveryError | None = None) -> None:
        self.sent: list[str] = []
        self.fail = fail

    def send(self, recipient: str, message: bytes, handing_over: Callable[[], None]) -> None:
        if self.fail is not None:
            raise self.fail
        handing_over()
        self.sent.append(recipient)

    def close(self) -> None:
        pass


def queued(tmp_path: Path, now: float, n: int = 2) -> Store:
    store = Store(tmp_path / "s.db")
    Outbox(store.ledger, lambda: now).queue(Outgoing("digest:s01:2027-W03", f"r{i}@x.example", "s", b"m")
                                            for i in range(n))
    return store


def test_a_crashed_senders_lease_runs_out_and_its_row_is_never_resent(tmp_path: Path) -> None:
    """A row being sent from another machine: left alone while the lease holds, 'unknown' (never re-sent) after."""
    now = 1_800_000_000.0
    store = queued(tmp_path, now)
    first = store.ledger.rows("pending")[0]
    assert store.ledger.claim(first.id, "elsewhere.example/4242/abc", now + LEASE_SECONDS) is not None
    assert store.ledger.handing_over(first.id, "elsewhere.example/4242/abc")   # it died inside DATA
    transport = Recording()
    during = Outbox(store.ledger, lambda: now + LEASE_SECONDS - 1).deliver(transport)
    assert transport.sent == ["r1@x.example"] and during.elsewhere == 1 and during.complete
    after = Outbox(store.ledger, lambda: now + LEASE_SECONDS + 1).deliver(transport)
    assert transport.sent == ["r1@x.example"] and not after.complete
    (unknown,) = after.unknown
    assert unknown.recipient == "r0@x.example" and "stopped before the server answered" in (unknown.error or "")
    assert datetime.fromtimestamp(now).strftime("%Y") in (unknown.error or "")
    assert store.ledger.claim(first.id, "me/1/x", now) is None   # unknown is never claimed again


def test_a_claim_that_ran_out_before_the_hand_over_is_sent_once_by_the_next_run(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    store = queued(tmp_path, now, n=1)
    (row,) = store.ledger.rows("pending")
    assert store.ledger.claim(row.id, "elsewhere.example/4242/abc", now + LEASE_SECONDS) is not None
    transport = Recording()
    assert Outbox(store.ledger, lambda: now + 1).deliver(transport).elsewhere == 1 and transport.sent == []
    report = Outbox(store.ledger, lambda: now + LEASE_SECONDS + 1).deliver(transport)
    assert transport.sent == ["r0@x.example"] and report.complete and not report.unknown
    assert not store.ledger.handing_over(row.id, "elsewhere.example/4242/abc")   # the late one may not send it


def test_a_claim_is_taken_once(tmp_path: Path) -> None:
    store = queued(tmp_path, 1.0, n=1)
    (row,) = store.ledger.rows("pending")
    other = Store(tmp_path / "s.db")     # a second connection, as a second process has
    assert store.ledger.claim(row.id, "a/1/x", 99.0) is not None
    assert other.ledger.claim(row.id, "b/2/y", 99.0) is None
    assert not other.ledger.finish(row.id, "b/2/y", "sent", None, 2.0)   # only the claimer records the outcome
    assert store.ledger.finish(row.id, "a/1/x", "sent", None, 2.0)
    assert [r.status for r in other.ledger.rows("sent")] == ["sent"]


def test_a_failure_every_message_would_meet_stops_the_batch(tmp_path: Path) -> None:
    store = queued(tmp_path, 1.0, n=3)
    failing = Recording(DeliveryError("530 5.7.0 Authentication required", kind="config", every_message=True))
    report = Outbox(store.ledger, lambda: 2.0).deliver(failing)
    assert len(report.retry) == 1 and report.not_tried == 2 and not report.failed
    assert len(store.ledger.rows("pending")) == 3 and store.ledger.rows("sending") == []


def test_a_server_without_starttls_keeps_everything_queued(example_dir: Path, run: Runner) -> None:
    server = SmtpServer().start()   # offers no STARTTLS
    try:
        toml = with_smtp(example_dir, smtp_table(server).replace("starttls = false", "starttls = true"))
        result = run(*digest_args(toml))
        assert result.exit_code == 3 and "does not offer STARTTLS" in result.stderr
        assert "FAILED" not in result.stderr and "not tried: 4 more" in result.stderr
        with_smtp(example_dir, smtp_table(server))
        assert run(*digest_args(toml)).exit_code == 0 and len(server.received) == SUPERVISORS
    finally:
        server.stop()


def test_exchange_refusing_the_credentials_keeps_everything_queued(example_dir: Path, run: Runner,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug (Exchange side of the same): the sender's credentials refused must not lose the week's digests."""
    toml = sending_through_exchange(example_dir, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ews = FakeEws(create=lambda recipient: (401, {}, "")).serve(mock)
        result = run("digest", "--config", toml, "--as-of", AS_OF, "--week", "2026-W50", "--send")
    CachingProtocol.clear_cache()
    assert result.exit_code == 3 and "refused the credentials of AGENCY\\svc-courtsync" in result.stderr
    assert "$COURTSYNC_EWS_PASSWORD" in result.stderr and "FAILED" not in result.stderr
    assert len(ews.sent) == 1 and "not tried: 4 more" in result.stderr
    assert re.search(r"queued 5, already queued 0.*sent 0", result.stdout)


def exchange_transport(example_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ExchangeTransport:
    with load_context(sending_through_exchange(example_dir, monkeypatch), AS_OF) as ctx:
        assert ctx.config.exchange is not None
        return ExchangeTransport(ctx.config.exchange)


def test_exchange_a_message_another_run_took_over_is_not_a_configuration_error(
        example_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: `except CourtsyncError` caught the DeliveryError of handing_over() (another run took the row) and
    made it kind="config", every_message=True: the batch stopped with a misleading error."""
    transport = exchange_transport(example_dir, monkeypatch)
    taken = DeliveryError("Another run took this message over (this run's claim ran out); it sends it.",
                          kind="transient")

    def handing_over() -> None:
        raise taken

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ews = FakeEws().serve(mock)
        with pytest.raises(DeliveryError) as raised:
            transport.send("r@x.example", b"Subject: s\r\n\r\nm\r\n", handing_over)
    CachingProtocol.clear_cache()
    assert raised.value is taken and not raised.value.every_message and ews.sent == []


def test_exchange_that_cannot_be_reached_leaves_every_message_queued_not_in_doubt(
        example_dir: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: hand-over came before Exchange was contacted, so with the connection refused every message became
    `unknown` (each to be settled by hand)."""
    import requests

    toml = sending_through_exchange(example_dir, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeEws().serve(mock)
        assert run("sync", "--config", toml, "--as-of", AS_OF).exit_code == 0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, "https://mail.agency.example/EWS/Exchange.asmx",
                 body=requests.exceptions.ConnectionError("Connection refused"))
        refused = run("digest", "--config", toml, "--as-of", AS_OF, "--week", "2026-W50", "--send", "--offline")
    CachingProtocol.clear_cache()
    assert refused.exit_code == 3 and "UNKNOWN" not in refused.stderr, refused.stderr
    assert "cannot be reached" in refused.stderr and "not tried: 4 more" in refused.stderr
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ews = FakeEws().serve(mock)
        back = run("digest", "--config", toml, "--as-of", AS_OF, "--week", "2026-W50", "--send", "--offline")
    CachingProtocol.clear_cache()
    assert back.exit_code == 0 and f"sent {SUPERVISORS}" in back.stdout, back.stderr
    assert sorted(ews.sent) == sorted(set(ews.sent)) and len(ews.sent) == SUPERVISORS and ews.folders == 1


def test_exchange_refusing_a_message_it_was_handed_keeps_it_queued_not_in_doubt(
        example_dir: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: an error response to CreateItem (ErrorItemSave: Exchange answered, nothing was sent) was taken for a
    broken connection (exchangelib's ResponseMessageError is a TransportError), so every message became `unknown`
    (never re-sent by itself, each to be settled by hand) instead of staying queued for the next run."""
    toml = sending_through_exchange(example_dir, monkeypatch)
    digest = ("digest", "--config", toml, "--as-of", AS_OF, "--week", "2026-W50", "--send")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeEws(create=lambda recipient: create_refused("ErrorItemSave")).serve(mock)
        refused = run(*digest)
    CachingProtocol.clear_cache()
    assert refused.exit_code == 3 and "UNKNOWN" not in refused.stderr, refused.stderr
    assert refused.stderr.count("will retry") == SUPERVISORS and "ErrorItemSave" in refused.stderr
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ews = FakeEws().serve(mock)
        back = run(*digest, "--offline")
    CachingProtocol.clear_cache()
    assert back.exit_code == 0 and f"sent {SUPERVISORS}" in back.stdout, back.stderr
    assert sorted(ews.sent) == sorted(set(ews.sent)) and len(ews.sent) == SUPERVISORS
