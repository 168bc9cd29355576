"""The durable outbox: every email is a row before it is sent, and is sent at most once.

    pending -> sending -> sent | failed | pending (a temporary failure: tried again next run)
                       -> unknown (the connection dropped after the message went out: never re-sent by
                                   itself, because the server may have accepted it; --resend forces)

Each status change is committed at once, so a crash mid-batch loses nothing and repeats nothing:
rerunning the same command delivers what is still pending.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["sent", "failed", "retry", "unknown"]


@dataclass(frozen=True)
class Outgoing:
    """A message to queue. `key` names what it is; together with the recipient it is sent once."""

    key: str
    recipient: str
    subject: str
    message: bytes
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    status: Status
    detail: str = ""


class Transport(Protocol):
    def send(self, recipient: str, message: bytes) -> Attempt: ...
    def close(self) -> None: ...


@dataclass
class Delivery:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)     # (recipient, why)
    retry: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)


def message_id(key: str, recipient: str) -> str:
    """Stable per message: a server or client that sees it twice knows it is the same message."""
    return f"<{hashlib.sha256(f'{key}|{recipient}'.encode()).hexdigest()[:32]}@courtsync>"


class Outbox:
    def __init__(self, db: sqlite3.Connection, now: Callable[[], float] = time.time) -> None:
        self.db = db
        self.now = now

    def queue(self, messages: Iterable[Outgoing], resend: bool = False) -> tuple[int, int]:
        """Add messages; ones already queued (same key and recipient) are left alone unless `resend`.
        Returns (queued, already there)."""
        queued = already = 0
        with self.db:
            for m in messages:
                key = m.key
                if resend:
                    n = self.db.execute("SELECT count(*) FROM outbox WHERE (key = ? OR key LIKE ?) AND recipient = ?",
                                        (m.key, f"{m.key}#resend-%", m.recipient)).fetchone()[0]
                    key = f"{m.key}#resend-{n}" if n else m.key
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO outbox (key, recipient, message_id, subject, message, status, created, meta)"
                    " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (key, m.recipient, message_id(m.key, m.recipient), m.subject, m.message, self.now(),
                     json.dumps(m.meta)))
                if cur.rowcount:
                    queued += 1
                else:
                    already += 1
        return queued, already

    def recover(self) -> int:
        """Rows left in 'sending' by a run that died: they may have gone out, so they become 'unknown'."""
        with self.db:
            return self.db.execute("UPDATE outbox SET status = 'unknown', error = 'the run sending it stopped "
                                   "before the server answered' WHERE status = 'sending'").rowcount

    def deliver(self, transport: Transport, keys: Iterable[str] | None = None,
                on_sent: Callable[[dict[str, Any]], None] | None = None) -> Delivery:
        """Send every pending message (of these keys, if given), one at a time."""
        self.recover()
        sql = "SELECT id, recipient, message, meta, key FROM outbox WHERE status = 'pending'"
        rows = self.db.execute(sql + " ORDER BY id").fetchall()
        wanted = set(keys) if keys is not None else None
        report = Delivery()
        try:
            for row_id, recipient, message, meta, key in rows:
                if wanted is not None and key.split("#", 1)[0] not in wanted:
                    continue
                with self.db:
                    self.db.execute("UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                                    (row_id,))
                attempt = transport.send(recipient, bytes(message))
                status = {"sent": "sent", "failed": "failed", "retry": "pending", "unknown": "unknown"}[attempt.status]
                with self.db:
                    self.db.execute("UPDATE outbox SET status = ?, error = ?, sent_at = ? WHERE id = ?",
                                    (status, attempt.detail or None, self.now() if status == "sent" else None,
                                     row_id))
                    if status == "sent" and on_sent is not None:
                        on_sent(json.loads(meta))
                if attempt.status == "sent":
                    report.sent += 1
                else:
                    getattr(report, attempt.status).append((recipient, attempt.detail))
        finally:
            transport.close()
        return report

    def counts(self, prefix: str = "") -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) FROM outbox WHERE key LIKE ? GROUP BY status",
                               (f"{prefix}%",)).fetchall()
        return dict(rows)
