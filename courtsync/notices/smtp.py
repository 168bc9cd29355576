"""SMTP delivery, one message per recipient, each step's answer read so a retry never duplicates."""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any, Literal

from courtsync.errors import ConfigError, DeliveryError

TIMEOUT = 60
Stage = Literal["mail", "rcpt", "data"]
_ENHANCED = re.compile(r"^\s*[245]\.(\d{1,3})\.(\d{1,3})\b")
# Only the first of these the server offers is tried (a refused login is one try, towards a lockout): PLAIN first,
# as every server that offers AUTH verifies it (one that lists CRAM-MD5 may lack the stored secret it needs).
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


def classify(stage: Stage, code: int, reply: str, recipient: str) -> DeliveryError:
    """What a refusal means, from the reply code and its enhanced status code (RFC 3463): the sender's own setup
    (530 authentication required, a refused sender address, relay denied: X.7.x), the server for now (4xx), or
    this recipient for good (550 5.1.1 user unknown). Only the last is failed; the others stay queued."""
    text = f"{code} {reply.strip()}"
    enhanced = _ENHANCED.match(reply)
    security = enhanced is not None and enhanced.group(1) == "7"
    auth_needed = code in (530, 534, 535, 538) or (security and enhanced is not None and enhanced.group(2) in
                                                   ("0", "8", "9", "11", "57"))
    if code == 421 or auth_needed:   # the server closes, or wants a login: so it is for every message
        kind: Literal["config", "transient"] = "config" if auth_needed else "transient"
        return DeliveryError(f"{text} ({_what(stage, recipient)}).", kind=kind,
                             every_message=True, hint=_hint(kind))
    if code < 500:
        return DeliveryError(f"{text} (deferred: {_what(stage, recipient)}).", kind="transient",
                             hint=_hint("transient"))
    if stage == "mail":
        return DeliveryError(f"{text} (the sender address was refused).", kind="config",
                             every_message=True, hint="Check [smtp] sender in courtsync.toml: the server must "
                                                      "allow courtsync's login to send as it. " + _hint("config"))
    if security or re.search(r"\brelay", reply, re.I):
        return DeliveryError(f"{text} ({_what(stage, recipient)}: refused for the sender).",
                             kind="config", hint="The server does not let courtsync send there (relay denied or "
                                                 "not authorised): set [smtp] username and password_env, or ask the "
                                                 "mail administrators to allow it. " + _hint("config"))
    return DeliveryError(f"{text} ({_what(stage, recipient)}).", kind="recipient",
                         hint="Not retried: correct the address (workers.csv or courtsync.toml).")


def _what(stage: Stage, recipient: str) -> str:
    return {"mail": "the sender", "rcpt": f"the recipient {recipient}", "data": "the message"}[stage]


def _hint(kind: str) -> str:
    if kind == "config":
        return "It stays queued and goes on the next run once that is fixed."
    return "It stays queued and goes on the next run."


class SmtpTransport:
    """MAIL, RCPT and DATA are sent one by one: a refusal before DATA is classified (see classify); a dropped
    connection during DATA is 'unknown' (the server may have the message)."""

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
        self.refused: DeliveryError | None = None   # after one refused login, no more tries this run (no lockout)

    def _connect(self) -> smtplib.SMTP:
        if self.refused is not None:
            raise self.refused
        if self.conn is not None:
            return self.conn
        s = self.settings
        conn: smtplib.SMTP | None = None
        where = f"{s.host}:{s.port}"
        try:
            conn = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
            conn.ehlo()
            if s.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.username and self.password:
                self._login(conn)
        except DeliveryError as exc:
            self._close_quietly(conn)
            self.refused = exc
            raise
        except smtplib.SMTPNotSupportedError:
            self._close_quietly(conn)
            raise DeliveryError(f"The mail server {where} does not offer STARTTLS.", kind="config",
                                every_message=True, hint="Use the submission port (587) or set starttls = false "
                                                         "if the agency allows it. " + _hint("config")) from None
        except ssl.SSLError as exc:
            self._close_quietly(conn)
            raise DeliveryError(f"STARTTLS with the mail server {where} failed ({exc.reason or type(exc).__name__}).",
                                kind="config", every_message=True,
                                hint="Check [smtp] host (it must match the server's certificate) and port, or "
                                     "install the agency's CA certificate. " + _hint("config")) from None
        except (ConnectionRefusedError, socket.gaierror) as exc:
            self._close_quietly(conn)
            why = "connection refused" if isinstance(exc, ConnectionRefusedError) else "unknown host"
            raise DeliveryError(f"Cannot connect to the mail server {where} ({why}).", kind="config",
                                every_message=True, hint="Check [smtp] host and port in courtsync.toml. "
                                                         "Nothing was sent; " + _hint("config").lower()) from None
        except smtplib.SMTPResponseException as exc:
            self._close_quietly(conn)
            kind: Literal["config", "transient"] = "transient" if exc.smtp_code < 500 else "config"
            raise DeliveryError(f"The mail server {where} refused the session: {exc.smtp_code} "
                                f"{_text(exc.smtp_error)}.", kind=kind, every_message=True, hint=_hint(kind)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(conn)
            raise DeliveryError(f"Cannot connect to the mail server {where} ({type(exc).__name__}).",
                                kind="transient", every_message=True,
                                hint="Nothing was sent; everything stays queued. Run the same command again "
                                     "later.") from None
        self.conn = conn
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        """One AUTH command with one mechanism: smtplib's login() tries each mechanism the server offers, so a
        wrong password would count as two or three failed logins towards the account's lockout."""
        s = self.settings
        refused = DeliveryError(f"The mail server {s.host} refused the login of {s.username}.", kind="config",
                                every_message=True,
                                hint=f"Check the password in ${s.password_env} (and that {s.username} may send "
                                     "mail). Nothing more was tried this run: everything stays queued and goes on "
                                     "the next run once that is fixed.")
        offered = conn.esmtp_features.get("auth", "").upper().split() if conn.has_extn("auth") else []
        mechanism = next((m for m in MECHANISMS if m in offered), None)
        if mechanism is None:
            raise DeliveryError(f"The mail server {s.host}:{s.port} offers no login courtsync can use "
                                f"({' '.join(offered) or 'no AUTH at all'}).", kind="config", every_message=True,
                                hint="Turn on STARTTLS (many servers offer AUTH only after it), or remove [smtp] "
                                     "username if the server needs no login. " + _hint("config"))
        conn.user, conn.password = s.username, self.password or ""
        answer = getattr(conn, "auth_" + mechanism.lower().replace("-", "_"))
        try:
            conn.auth(mechanism, answer, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError:
            raise refused from None

    def send(self, recipient: str, message: bytes, handing_over: Callable[[], None]) -> None:
        conn = self._connect()
        try:
            code, reply = conn.mail(self.sender)
            if code >= 400:
                raise self._refused("mail", code, reply, recipient)
            code, reply = conn.rcpt(recipient)
            if code >= 400:
                raise self._refused("rcpt", code, reply, recipient)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise DeliveryError(f"The connection to the mail server was lost before the message to {recipient} was "
                                f"sent ({type(exc).__name__}).", kind="transient", hint=_hint("transient")) from None
        try:
            handing_over()
        except DeliveryError:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.rset()
            raise
        try:
            code, reply = conn.data(message)
        except smtplib.SMTPDataError as exc:
            raise self._refused("data", exc.smtp_code, exc.smtp_error, recipient) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise DeliveryError(f"The connection was lost while the message to {recipient} was being accepted "
                                f"({type(exc).__name__})", kind="unknown") from None
        if code >= 400:
            raise self._refused("data", code, reply, recipient)

    def _refused(self, stage: Stage, code: int, reply: bytes | str, recipient: str) -> DeliveryError:
        error = classify(stage, code, _text(reply), recipient)
        if code == 421:
            self._drop()
        else:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                if self.conn is not None:
                    self.conn.rset()
        return error

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


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
