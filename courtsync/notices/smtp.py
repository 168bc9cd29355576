"""SMTP delivery, one message per recipient, each step's answer read so a retry never duplicates."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from email.utils import parseaddr
from typing import Any

from courtsync.errors import ConfigError, SourceError
from courtsync.notices.outbox import Attempt

TIMEOUT = 60


class SmtpTransport:
    """MAIL, RCPT and DATA are sent one by one: a refusal before DATA is a clean failure (5xx) or a
    retry (4xx); a dropped connection during DATA is 'unknown' (the server may have the message)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.sender = parseaddr(settings.sender)[1] or settings.sender
        self.password: str | None = None
        if settings.username:
            if not settings.password_env:
                raise ConfigError("[smtp] username is set but password_env is not.",
                                  hint="Name the environment variable that holds the password: password_env = ...")
            self.password = os.environ.get(settings.password_env)
            if not self.password:
                raise ConfigError(f"The environment variable {settings.password_env} is not set.",
                                  hint=f"Export the SMTP password of {settings.username} as {settings.password_env}.")
        self.conn: smtplib.SMTP | None = None
        self.refused: str | None = None   # after one refused login, no more tries this run (no lockout)

    def _connect(self) -> smtplib.SMTP:
        if self.conn is not None:
            return self.conn
        s = self.settings
        conn: smtplib.SMTP | None = None
        try:
            conn = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
            conn.ehlo()
            if s.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.username and self.password:
                conn.login(s.username, self.password)
        except smtplib.SMTPAuthenticationError:
            self._close_quietly(conn)
            raise SourceError(f"The mail server {s.host} refused the login of {s.username}.",
                              hint=f"Check the password in ${s.password_env}; nothing was sent, everything stays "
                                   "queued.") from None
        except smtplib.SMTPNotSupportedError:
            self._close_quietly(conn)
            raise SourceError(f"The mail server {s.host}:{s.port} does not offer STARTTLS.",
                              hint="Use the submission port (587) or set starttls = false if the agency allows it.") \
                from None
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(conn)
            raise SourceError(f"Cannot connect to the mail server {s.host}:{s.port} ({type(exc).__name__}).",
                              hint="Nothing was sent; everything stays queued. Run the same command again later.") \
                from None
        self.conn = conn
        return conn

    def send(self, recipient: str, message: bytes) -> Attempt:
        if self.refused is not None:
            return Attempt("retry", self.refused)
        try:
            conn = self._connect()
        except SourceError as exc:
            detail = f"{exc.message} {exc.hint or ''}".strip()
            if "refused the login" in exc.message:
                self.refused = detail
            return Attempt("retry", detail)
        try:
            code, reply = conn.mail(self.sender)
            if code >= 400:
                return self._refused(code, reply, "the sender")
            code, reply = conn.rcpt(recipient)
            if code >= 400:
                conn.rset()
                return self._refused(code, reply, recipient)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            return Attempt("retry", f"connection lost before the message was sent ({type(exc).__name__})")
        try:
            code, reply = conn.data(message)
        except smtplib.SMTPDataError as exc:
            return self._refused(exc.smtp_code, exc.smtp_error, "the message")
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            return Attempt("unknown", f"connection lost while the message was being accepted ({type(exc).__name__});"
                                      " it may have been delivered, so it is not sent again without --resend")
        if code >= 400:
            return self._refused(code, reply, "the message")
        return Attempt("sent", "")

    def _refused(self, code: int, reply: bytes | str, what: str) -> Attempt:
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        if code >= 500:
            return Attempt("failed", f"{code} {text.strip()} ({what})")
        return Attempt("retry", f"{code} {text.strip()} ({what})")

    @staticmethod
    def _close_quietly(conn: smtplib.SMTP | None) -> None:
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
        self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
        self.conn = None
