"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 in its own thread, with a handler
that records what it accepts and answers as a test scripts it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Mailbox", "Received", "login_checker", "smtp_server"]

Authenticator = Callable[[SMTP, Session, Envelope, str, Any], AuthResult]


@dataclass(frozen=True)
class Received:
    """One e-mail the test server accepted."""

    mail_from: str | None
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    auth: LoginPassword | None

    @property
    def email(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Mailbox:
    """An aiosmtpd handler that records what it accepts and answers as the test scripts."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_reply: str | None = None
        self.data_delay = 0.0
        self.sessions_in_data = 0
        self.most_sessions_in_data = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sessions_in_data += 1
        self.most_sessions_in_data = max(self.most_sessions_in_data, self.sessions_in_data)
        try:
            await asyncio.sleep(self.data_delay)  # aiosmtpd runs handlers on asyncio
        finally:
            self.sessions_in_data -= 1
        if self.data_reply is not None:
            return self.data_reply
        assert isinstance(envelope.content, bytes)
        assert server.transport is not None
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.content,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                auth=session.auth_data if isinstance(session.auth_data, LoginPassword) else None,
            )
        )
        return "250 2.0.0 Ok: queued as SEPTET1"


def login_checker(username: str, password: str) -> Authenticator:
    """An aiosmtpd authenticator that accepts exactly this login (PLAIN or LOGIN)."""
    expected = LoginPassword(username.encode(), password.encode())

    def check_login(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        valid = isinstance(auth_data, LoginPassword) and auth_data == expected
        # handled=False: aiosmtpd answers a failure with "535 5.7.8".
        return AuthResult(success=valid, handled=False, auth_data=auth_data)

    return check_login


class _ListeningController(Controller):
    # Serves on a socket the test bound itself (port 0), so parallel test runs cannot race
    # for a free port between choosing it and binding it.
    def __init__(self, handler: Mailbox, listener: socket.socket, **settings: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=listener.getsockname()[1], **settings)
        self._listener = listener

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self._listener, ssl=self.ssl_context
        )


@contextmanager
def smtp_server(mailbox: Mailbox, **settings: Any) -> Iterator[int]:
    """Run an SMTP server on 127.0.0.1 for the block; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    controller = _ListeningController(mailbox, listener, **settings)
    try:
        controller.start()
    except BaseException:
        listener.close()
        raise
    try:
        yield controller.port
    finally:
        controller.stop()
