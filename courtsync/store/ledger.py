"""The store's durable records of what was sent: the outbox (each row claimed under a lease before it is sent),
the digest state and the notice log with the letters themselves. SQL only; notices/outbox.py holds the rules.

A claim is one UPDATE ... WHERE id = ? AND status = 'pending' under BEGIN IMMEDIATE that must change exactly one
row: of two senders started together only one gets each row. (A PostgreSQL store does the same with
SELECT ... FOR UPDATE SKIP LOCKED and the same UPDATE.) A claimed row is 'claimed' until the message is handed to
the server, then 'sending': a sender that dies before that leaves nothing in doubt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from courtsync.models import NoticeRecord, OutboxRow
from courtsync.store import dialect
from courtsync.store.dialect import Db

_ROW = ("id, key, recipient, message_id, subject, message, status, attempts, error, created, sent_at, meta, "
        "claimed_by, lease_until")


def _outbox_row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(id=r[0], key=r[1], recipient=r[2], message_id=r[3], subject=r[4], message=bytes(r[5]),
                     status=r[6], attempts=r[7], error=r[8], created=r[9], sent_at=r[10], meta=json.loads(r[11]),
                     claimed_by=r[12], lease_until=r[13])


def _wanted(keys: Collection[str] | None) -> Callable[[str], bool]:
    return (lambda key: True) if keys is None else (lambda key: key.split("#", 1)[0] in keys)


class Ledger:
    """The outbox, digest and notice tables of one store connection."""

    def __init__(self, connect: Callable[[], Db]) -> None:
        self._connect = connect
        self._depth = 0

    @property
    def db(self) -> Db:
        return self._connect()

    @contextmanager
    def immediate(self) -> Iterator[Db]:
        """One write transaction that takes the write lock first (BEGIN IMMEDIATE); nested ones join it."""
        db = self.db
        if self._depth:
            self._depth += 1
            try:
                yield db
            finally:
                self._depth -= 1
            return
        if db.in_transaction:
            db.commit()
        db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        else:
            db.commit()
        finally:
            self._depth = 0

    # --- outbox ---------------------------------------------------------------------------------

    def queue(self, rows: Iterable[tuple[str, str, str, str, bytes, dict[str, Any]]], resend: Collection[str],
              now: float) -> tuple[int, int]:
        """(key, recipient, message_id, subject, message, meta) rows. One already there (same key and recipient)
        that was never handed over ('pending') takes the new subject, message and meta: it goes as rendered now
        (its Message-ID, from the key, stays). `resend` names the states a row may be sent again from: when
        the last row of that key and recipient is in one (none is still pending, claimed or sending), a new row
        `key#resend-N` is queued and an `unknown` one is marked `resent`. Returns (queued, already there)."""
        queued = already = 0
        with self.immediate() as db:
            for key, recipient, mid, subject, message, meta in rows:
                # key or key#resend-N: the range lets the (key, recipient) index find them in a large outbox
                same = "key >= ? AND key < ? AND (key = ? OR substr(key, 1, ?) = ?) AND recipient = ?"
                args = (key, f"{key}#resend.", key, len(key) + 8, f"{key}#resend-", recipient)
                states = [r[0] for r in db.execute(f"SELECT status FROM outbox WHERE {same} ORDER BY id", args)]
                stored = key
                if states and resend and states[-1] in resend and not {"pending", "claimed", "sending"} & set(states):
                    stored = f"{key}#resend-{len(states)}"
                    db.execute(f"UPDATE outbox SET status = 'resent' WHERE status = 'unknown' AND {same}", args)
                cur = db.execute("INSERT INTO outbox (key, recipient, message_id, subject, message, status,"
                                 " created, meta) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
                                 (stored, recipient, mid, subject, message, now, json.dumps(meta)))
                if cur.rowcount:
                    queued += 1
                    continue
                already += 1
                # Rendered again now (a sender fixed in courtsync.toml, this week's conflicts): what goes is current.
                db.execute(f"UPDATE outbox SET subject = ?, message = ?, meta = ? WHERE status = 'pending' AND {same}",
                           (subject, message, json.dumps(meta), *args))
        return queued, already

    def supersede(self, prefix: str, keep: Collection[str]) -> int:
        """`unknown` rows under this key prefix whose message is not one of `keep`: a newer message replaces them
        (a resent letter whose content changed since), so they are `resent`."""
        return self._replaced("unknown", prefix, keep)

    def withdraw(self, prefix: str, keep: Collection[str]) -> int:
        """`pending` rows under this key prefix whose message is not one of `keep`: never handed over, and a newer
        message says what they would have said, so they never go (`resent`)."""
        return self._replaced("pending", prefix, keep)

    def _replaced(self, status: str, prefix: str, keep: Collection[str]) -> int:
        with self.immediate() as db:
            found = db.execute("SELECT id, key FROM outbox WHERE status = ? AND substr(key, 1, ?) = ?",
                               (status, len(prefix), prefix)).fetchall()
            gone = [row_id for row_id, key in found if key.split("#", 1)[0] not in keep]
            for row_id in gone:
                db.execute("UPDATE outbox SET status = 'resent' WHERE id = ? AND status = ?", (row_id, status))
        return len(gone)

    def unsettled(self, prefix: str) -> list[OutboxRow]:
        """Every `unknown` row under this key prefix (digest:, notice:COURT:), oldest first: each stays in every
        report until --mark-sent or --resend settles it."""
        found = self.db.execute(f"SELECT {_ROW} FROM outbox WHERE status = 'unknown' AND substr(key, 1, ?) = ? "
                                "ORDER BY id", (len(prefix), prefix)).fetchall()
        return [_outbox_row(r) for r in found]

    def rows(self, status: str, keys: Collection[str] | None = None) -> list[OutboxRow]:
        """Rows in this status (of these keys, #resend-N included), oldest first."""
        wanted = _wanted(keys)
        found = self.db.execute(f"SELECT {_ROW} FROM outbox WHERE status = ? ORDER BY id", (status,)).fetchall()
        return [row for row in map(_outbox_row, found) if wanted(row.key)]

    def claim(self, row_id: int, claimer: str, lease_until: float) -> OutboxRow | None:
        """Take a pending row for sending ('claimed'); None when another sender has it (or it is not pending)."""
        # PostgreSQL: a row another sender is claiming right now is skipped, not waited for (SKIP LOCKED);
        # SQLite: BEGIN IMMEDIATE admits one claimer at a time. Either way the UPDATE changes one row or none.
        pick = ("(SELECT id FROM outbox WHERE id = ? AND status = 'pending' FOR UPDATE SKIP LOCKED)"
                if dialect.is_server(self.db) else "? AND status = 'pending'")
        with self.immediate() as db:
            taken = db.execute("UPDATE outbox SET status = 'claimed', claimed_by = ?, lease_until = ?, "
                               f"attempts = attempts + 1 WHERE id = {pick}",
                               (claimer, lease_until, row_id)).rowcount
            if taken != 1:
                return None
            return _outbox_row(db.execute(f"SELECT {_ROW} FROM outbox WHERE id = ?", (row_id,)).fetchone())

    def handing_over(self, row_id: int, claimer: str) -> bool:
        """'claimed' -> 'sending' just before the message goes to the server; False when the claim was lost
        (its lease ran out and another run took the row), so it must not be sent."""
        with self.immediate() as db:
            return bool(db.execute("UPDATE outbox SET status = 'sending' WHERE id = ? AND claimed_by = ? AND "
                                   "status = 'claimed'", (row_id, claimer)).rowcount)

    def release(self, row_id: int, claimed_by: str | None) -> bool:
        """A 'claimed' row whose sender is gone before handing it over: it never went, so it is pending again."""
        with self.immediate() as db:
            return bool(db.execute("UPDATE outbox SET status = 'pending', claimed_by = NULL, lease_until = NULL "
                                   "WHERE id = ? AND status = 'claimed' AND claimed_by IS ?",
                                   (row_id, claimed_by)).rowcount)

    def finish(self, row_id: int, claimer: str, status: str, error: str | None, sent_at: float | None,
               then: Callable[[], None] | None = None) -> bool:
        """Record how a claimed row went (and, in the same transaction, `then`: what its sending means). Only
        its claimer may: a row given up as 'unknown' after its lease ran out still learns it was sent."""
        with self.immediate() as db:
            done = db.execute("UPDATE outbox SET status = ?, error = ?, sent_at = ?, lease_until = NULL "
                              "WHERE id = ? AND claimed_by = ?", (status, error, sent_at, row_id, claimer)).rowcount
            if done and then is not None:
                then()
        return bool(done)

    def give_up(self, row_id: int, claimed_by: str | None, error: str) -> bool:
        """A 'sending' row whose sender is gone: it may have been delivered, so it becomes 'unknown'."""
        with self.immediate() as db:
            return bool(db.execute("UPDATE outbox SET status = 'unknown', error = ?, lease_until = NULL "
                                   "WHERE id = ? AND status = 'sending' AND claimed_by IS ?",
                                   (error, row_id, claimed_by)).rowcount)

    def mark_sent(self, row_id: int, when: float, then: Callable[[], None] | None = None) -> bool:
        """An 'unknown' row that the mail server's log shows delivered."""
        with self.immediate() as db:
            done = db.execute("UPDATE outbox SET status = 'sent', sent_at = ?, error = 'marked sent by hand "
                              "(--mark-sent)' WHERE id = ? AND status = 'unknown'", (when, row_id)).rowcount
            if done and then is not None:
                then()
        return bool(done)

    def counts(self, prefix: str = "") -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) FROM outbox WHERE substr(key, 1, ?) = ? GROUP BY status",
                               (len(prefix), prefix)).fetchall()
        return dict(rows)

    # --- digests and notices --------------------------------------------------------------------

    def remember_digest(self, supervisor: str, week: str, keys: dict[str, Any], when: float) -> None:
        with self.immediate() as db:
            db.execute("INSERT INTO digest_state (supervisor, week, keys, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT "
                       "(supervisor) DO UPDATE SET week = excluded.week, keys = excluded.keys, "
                       "sent_at = excluded.sent_at",
                       (supervisor, week, json.dumps(keys), when))

    def digest_keys(self) -> dict[str, dict[str, Any]]:
        """What each supervisor's last digest said, conflict by conflict (its keys)."""
        rows = self.db.execute("SELECT supervisor, keys FROM digest_state").fetchall()
        return {supervisor: json.loads(keys) for supervisor, keys in rows}

    def record_notice(self, court: str, when: float, how: str, first: str, last: str, dates: list[dict[str, Any]],
                      amended: bool, letter_date: str, text: str, html: str) -> int:
        """What a court was told, with the letter as rendered, so it can be shown and reprinted later."""
        with self.immediate() as db:
            cur = db.execute("INSERT INTO notices (court, told_at, how, first, last, dates, amended) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?) RETURNING id", (court, when, how, first, last, json.dumps(dates),
                                                      int(amended)))
            notice = int(cur.fetchone()[0])
            db.execute("INSERT INTO notice_letters (notice, letter_date, text, html) VALUES (?, ?, ?, ?)",
                       (notice, letter_date, text, html))
        return notice

    def notices(self, court: str | None = None) -> list[NoticeRecord]:
        """The notice log (of one court), oldest first; letters recorded before their text was kept have none."""
        where, args = ("WHERE n.court = ?", (court,)) if court else ("", ())
        rows = self.db.execute("SELECT n.id, n.court, n.told_at, n.how, n.first, n.last, n.dates, n.amended, "
                               "l.letter_date, l.text, l.html FROM notices n LEFT JOIN notice_letters l ON "
                               f"l.notice = n.id {where} ORDER BY n.told_at, n.id", args).fetchall()
        return [NoticeRecord(id=r[0], court=r[1], told_at=r[2], how=r[3], first=r[4], last=r[5],
                             dates=json.loads(r[6]), amended=bool(r[7]), letter_date=r[8], text=r[9], html=r[10])
                for r in rows]

    def last_told(self, court: str) -> list[dict[str, Any]] | None:
        """What the court's last letter told it, date by date (None: it was never told)."""
        row = self.db.execute("SELECT dates FROM notices WHERE court = ? ORDER BY told_at DESC, id DESC LIMIT 1",
                              (court,)).fetchone()
        return json.loads(row[0]) if row else None
