"""A real SMTP server (aiosmtpd) on loopback that can refuse, fail and hang up on request."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any, Literal

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:     # aiosmtpd cannot take port 0: find a free one first
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Behaviour:
    refuse: set[str] = field(default_factory=set)   # RCPT answered 550
    fail_data_number: set[int] = field(default_factory=set)   # these DATA commands (1-based) answered 451
    drop_after_data: set[int] = field(default_factory=set)    # these DATA: message kept, connection cut, no reply
    relay_denied: set[str] = field(default_factory=set)       # RCPT answered 554 5.7.1 Relay access denied
    # The first RCPT, or the first DATA (message kept), gets no reply until `release` is set or a second client
    # has named a recipient: two senders started together then surely overlap, and a sender killed meanwhile
    # dies before handing its message over (rcpt) or inside DATA.
    stall_first: Literal["", "rcpt", "data"] = ""
    release: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)   # set when the stall began


class Handler:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[tuple[str, Message]] = []
        self.data_count = 0
        self.sessions: set[int] = set()   # clients that named a recipient

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        self.sessions.add(id(session))
        if len(self.sessions) > 1:
            self.behaviour.release.set()
        if self.behaviour.stall_first == "rcpt" and not self.behaviour.stalled.is_set():
            await self._stall()
        if address in self.behaviour.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.behaviour.relay_denied:
            return f"554 5.7.1 <{address}>: Relay access denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def _stall(self) -> None:
        self.behaviour.stalled.set()
        for _ in range(1200):   # a hang guard: at most a minute
            if self.behaviour.release.is_set():
                return
            await asyncio.sleep(0.05)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_count += 1
        if self.data_count in self.behaviour.fail_data_number:
            return "451 4.3.0 Temporary local problem, try again later"
        for rcpt in envelope.rcpt_tos:
            self.received.append((rcpt, message_from_bytes(envelope.content, policy=policy.default)))
        if self.behaviour.stall_first == "data" and self.data_count == 1:
            await self._stall()
        if self.data_count in self.behaviour.drop_after_data:
            server.transport.close()   # the message is here, but the client never hears so
        return "250 2.0.0 Ok: queued"


class SmtpServer:
    def __init__(self, behaviour: Behaviour | None = None, tls: tuple[str, str] | None = None,
                 login: tuple[str, str] | None = None, port: int | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.handler = Handler(self.behaviour)
        self.port = port or free_port()
        self.auth_attempts: list[str] = []   # one entry per AUTH command the server answered
        kwargs: dict[str, Any] = {}
        if tls is not None:   # STARTTLS required, with this certificate and key
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            kwargs.update(tls_context=context, require_starttls=True)
        if login is not None:
            from aiosmtpd.smtp import AuthResult

            def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                self.auth_attempts.append(mechanism)
                ok = (data.login.decode(), data.password.decode()) == login
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=check, auth_required=True, auth_require_tls=tls is not None)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[tuple[str, Message]]:
        return self.handler.received

    def message_ids(self) -> dict[str, int]:
        """How many times each Message-ID arrived (one message per recipient)."""
        return dict(Counter(str(m["Message-ID"]) for _, m in self.received))

    def toml(self) -> str:
        return (f'\n[smtp]\nhost = "127.0.0.1"\nport = {self.port}\nstarttls = false\n'
                'sender = "Learning Collaborative Liaison <lc@agency.example>"\n')
