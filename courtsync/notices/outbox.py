"""The durable outbox: every email is a row before it is sent, and is sent at most once.

    pending -> claimed -> sending -> sent | failed | pending (stays queued: the sender's setup, or the server
               |                                               for now)
               |                  -> unknown (the connection broke after the message went out, or the run
               |                              sending it died: never re-sent by itself, because the server may
               |                              have accepted it; --resend sends it again (the row becomes
               |                              'resent'), --mark-sent records it as sent)
               -> pending (the run that claimed it died before handing it to the server: it never went)

A row is claimed before it is sent (an atomic claim in the store, with a lease): of two senders started
together, each message goes through exactly one. A claim outlives a sender that died for at most LEASE_SECONDS
(whatever its process id says: a reused one looks alive), and not at all when the dead sender ran on this
machine (its process is gone). Each status change is committed at once, so a crash mid-batch loses nothing and
repeats nothing: rerunning the command sends what is pending, as rendered by that run.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from courtsync.errors import ConfigError, CourtsyncError, DeliveryError
from courtsync.models import OutboxRow

# Longer than the slowest send a live sender can be inside (smtp.TIMEOUT for each of ~10 steps), so a row is
# only given up while its sender is really gone.
LEASE_SECONDS = 15 * 60
# What --resend may send again: a digest once more whatever became of it; a letter only when it is in doubt.
RESEND_ANY = ("sent", "failed", "unknown")
RESEND_UNKNOWN = ("unknown",)
_LIVE: set[str] = set()   # the claimers of this process that are delivering now


@dataclass(frozen=True)
class Outgoing:
    """A message to queue. `key` names what it is; together with the recipient it is sent once."""

    key: str
    recipient: str
    subject: str
    message: bytes
    meta: dict[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, recipient: str, message: bytes, handing_over: Callable[[], None]) -> None:
        """Deliver one message, or raise DeliveryError saying what kind of failure it was. Call `handing_over`
        just before the message itself goes to the server (it raises if the message must not go after all)."""

    def close(self) -> None: ...


class Rows(Protocol):
    """What the outbox needs of the store (store_ledger.Ledger)."""

    def queue(self, rows: Iterable[tuple[str, str, str, str, bytes, dict[str, Any]]], resend: Collection[str],
              now: float) -> tuple[int, int]: ...
    def unsettled(self, prefix: str) -> list[OutboxRow]: ...
    def supersede(self, prefix: str, keep: Collection[str]) -> int: ...
    def withdraw(self, prefix: str, keep: Collection[str]) -> int: ...
    def rows(self, status: str, keys: Collection[str] | None = None) -> list[OutboxRow]: ...
    def claim(self, row_id: int, claimer: str, lease_until: float) -> OutboxRow | None: ...
    def finish(self, row_id: int, claimer: str, status: str, error: str | None, sent_at: float | None,
               then: Callable[[], None] | None = None) -> bool: ...
    def handing_over(self, row_id: int, claimer: str) -> bool: ...
    def release(self, row_id: int, claimed_by: str | None) -> bool: ...
    def give_up(self, row_id: int, claimed_by: str | None, error: str) -> bool: ...
    def mark_sent(self, row_id: int, when: float, then: Callable[[], None] | None = None) -> bool: ...


@dataclass
class Delivery:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)     # (recipient, why)
    retry: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[OutboxRow] = field(default_factory=list)          # every unresolved one of the command's kind
    not_tried: int = 0            # left queued after a failure that every message would meet
    elsewhere: int = 0            # being sent right now by another run
    marked: int = 0               # unknown ones recorded as sent (--mark-sent)

    @property
    def complete(self) -> bool:
        return not (self.failed or self.retry or self.unknown or self.not_tried)

    def problems(self) -> list[str]:
        """For stderr: each message that did not go, and what becomes of it."""
        lines = [f"  {label}: {recipient}: {why}" for label, items in (("FAILED", self.failed),
                                                                        ("will retry", self.retry))
                 for recipient, why in items]
        if self.not_tried:
            lines.append(f"  not tried: {self.not_tried} more message(s) stay queued for the next run (the failure "
                         "above would meet them too)")
        lines += [f"  UNKNOWN (not re-sent by itself): {describe(row)}" for row in self.unknown]
        if self.unknown:
            lines.append(f"courtsync: error: {len(self.unknown)} message(s) may or may not have been delivered "
                         "(exit 3); settle each as said above.")
        return lines

    def notes(self) -> list[str]:
        return ([f"marked {self.marked} message(s) as sent (--mark-sent)"] if self.marked else []) + \
            ([f"{self.elsewhere} message(s) are being sent by another run right now"] if self.elsewhere else [])


def message_id(key: str, recipient: str) -> str:
    """Stable per message: a server or client that sees it twice knows it is the same message."""
    return f"<{hashlib.sha256(f'{key}|{recipient}'.encode()).hexdigest()[:32]}@courtsync>"


def one_line(value: str, what: str, where: str | Callable[[], str]) -> str:
    """A header value, refused when it holds a line break (it would end the header: a crash, or an injected
    header). Configuration values are checked when courtsync.toml loads; this catches any other source.
    `where` may be a function: finding a key's line re-reads courtsync.toml, so it runs only for the error."""
    if "\r" in value or "\n" in value:
        raise ConfigError(f"The email {what} holds a line break: {value!r}.",
                          hint=f"Write it on one line ({where if isinstance(where, str) else where()}).")
    return value


def new_message(sender: str, recipient: str, subject: str, mid: str, when: float,
                sender_where: Callable[[], str], subject_where: str) -> EmailMessage:
    """The headers every message courtsync sends has: From, To, Subject, Message-ID (from the outbox key), Date."""
    msg = EmailMessage()
    msg["From"] = one_line(sender, "sender", sender_where)
    msg["To"] = one_line(recipient, "recipient", "the roster or courtsync.toml")
    msg["Subject"] = one_line(subject, "subject", subject_where)
    msg["Message-ID"] = mid
    msg["Date"] = format_datetime(datetime.fromtimestamp(when).astimezone())
    return msg


def _claimer() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


def claimer_alive(claimer: str) -> bool | None:
    """Whether the run that claimed a row still runs: True/False when it ran on this machine, None when that
    cannot be told (another machine: only its lease says)."""
    host, _, rest = claimer.partition("/")
    pid_text, _, _token = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return claimer in _LIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a killed process not yet reaped by its parent is a zombie: gone all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def describe(row: OutboxRow) -> str:
    """What an unresolved message was, and how to settle it (only it: a plain --resend would send them all)."""
    what, scope = row.base_key, ""
    if what.startswith("digest:"):
        _, supervisor, week = (what.split(":") + ["", ""])[:3]
        what, scope = f"the digest of {supervisor} for {week}", f"--week {week} --supervisor {supervisor} "
    elif what.startswith("notice:"):
        court = what.split(":")[1]
        what, scope = f"the letter to court {court}", f"--court {court} "
    return (f"{row.recipient}: {what} may or may not have arrived: {row.error or 'its state is unknown'}. Look for "
            f"Message-ID {row.message_id} in the mail server's log; if it arrived, run the same command with "
            f"{scope}--mark-sent, if not, with {scope}--resend.")


class Outbox:
    def __init__(self, rows: Rows, now: Callable[[], float] = time.time) -> None:
        self.rows = rows
        self.now = now

    def queue(self, messages: Iterable[Outgoing], resend: Collection[str] = ()) -> tuple[int, int]:
        """Add messages; one already queued (same key and recipient) is sent once, as rendered now while it is still
        pending, and again only when `resend` names the state it ended in (RESEND_ANY, RESEND_UNKNOWN) and it is not
        queued or being sent right now. Returns (queued, already there)."""
        return self.rows.queue(((m.key, m.recipient, message_id(m.key, m.recipient), m.subject, m.message, m.meta)
                                for m in messages), resend, self.now())

    def supersede(self, prefix: str, keep: Collection[str]) -> int:
        """Messages in doubt under `prefix` that none of `keep` is: a newer message (going now) replaces them."""
        return self.rows.supersede(prefix, keep)

    def recover(self, keys: Collection[str] | None = None) -> int:
        """Rows of a run that is gone (its process ended, or its lease ran out, whatever its process id says: the
        id may be another process's now): 'claimed' ones never went and are pending again; 'sending' ones may have
        gone out, so they become 'unknown'. Returns how many were given up."""
        given_up = 0
        for status in ("claimed", "sending"):
            for row in self.rows.rows(status, keys):
                alive = claimer_alive(row.claimed_by) if row.claimed_by else False
                expired = row.lease_until is None or row.lease_until < self.now()
                if not (alive is False or expired):
                    continue
                if status == "claimed":
                    self.rows.release(row.id, row.claimed_by)
                    continue
                since = datetime.fromtimestamp(row.lease_until - LEASE_SECONDS if row.lease_until else row.created, UTC)
                given_up += self.rows.give_up(row.id, row.claimed_by, f"the run sending it since {since:%Y-%m-%d %H:%M}"
                                                                      " UTC stopped before the server answered")
        return given_up

    def deliver(self, transport: Transport, keys: Collection[str] | None = None,
                on_sent: Callable[[Mapping[str, Any]], None] | None = None, mark_sent: bool = False,
                scope: str = "", settle: str | None = None) -> Delivery:
        """Send every pending message (of these keys, if given), one at a time, each claimed first. The report's
        unknown ones are every unresolved row whose key starts with `scope` (digest:, notice:COURT:), not only these
        keys: one in doubt is shown until it is settled. `mark_sent` settles the unknown ones of these keys, or
        with `settle`, every one under that prefix (a letter's key changes with its content)."""
        report = Delivery()
        self.recover(keys)
        if mark_sent:
            for row in (self.rows.rows("unknown", keys) if settle is None else self.rows.unsettled(settle)):
                report.marked += self.rows.mark_sent(row.id, self.now(), self._then(on_sent, row))
        claimer = _claimer()
        _LIVE.add(claimer)
        try:
            candidates = self.rows.rows("pending", keys)
            for candidate in candidates:
                claimed = self.rows.claim(candidate.id, claimer, self.now() + LEASE_SECONDS)
                if claimed is None:
                    continue   # another run took it
                row = claimed
                try:
                    transport.send(row.recipient, row.message, self._handing_over(row.id, claimer))
                except DeliveryError as exc:
                    status = {"recipient": "failed", "unknown": "unknown"}.get(exc.kind, "pending")
                    detail = f"{exc.message} {exc.hint or ''}".strip()
                    self.rows.finish(row.id, claimer, status, detail, None)
                    if status == "failed":
                        report.failed.append((row.recipient, detail))
                    elif status == "pending":
                        report.retry.append((row.recipient, detail))
                    if exc.every_message:   # the rest would meet the same: leave them queued, untouched
                        report.not_tried = len(self.rows.rows("pending", keys)) - len(report.retry)
                        break
                except CourtsyncError:   # a setting found wanting before anything went out: still queued
                    self.rows.finish(row.id, claimer, "pending", None, None)
                    raise
                else:
                    self.rows.finish(row.id, claimer, "sent", None, self.now(), self._then(on_sent, row))
                    report.sent += 1
        finally:
            _LIVE.discard(claimer)
            transport.close()
        report.unknown = self.rows.unsettled(scope)
        report.elsewhere = len(self.rows.rows("claimed", keys)) + len(self.rows.rows("sending", keys))
        return report

    def _handing_over(self, row_id: int, claimer: str) -> Callable[[], None]:
        def now_sending() -> None:
            if not self.rows.handing_over(row_id, claimer):
                raise DeliveryError("Another run took this message over (this run's claim ran out); it sends it.",
                                    kind="transient")
        return now_sending

    @staticmethod
    def _then(on_sent: Callable[[Mapping[str, Any]], None] | None, row: OutboxRow) -> Callable[[], None] | None:
        if on_sent is None:
            return None
        return lambda: on_sent(row.meta)
