"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), which records what it receives.

It can be stopped and started again on the same port (a mail server that is down, then up), and
told to refuse recipients for good (550) or for now (451).
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message as the server got it."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        # A long subject is folded right after "Subject:"; unfolding leaves the space that follows.
        return str(self.message["Subject"]).strip()

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()

    def attachments(self) -> list:
        return list(self.message.iter_attachments())


class _Handler:
    def __init__(self, server: "TestMailServer") -> None:
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        if address in self.server.refuse_for_good:
            return "550 5.1.1 Mailbox unavailable"
        if address in self.server.refuse_for_now:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        with self.server.arrived:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
            self.server.arrived.notify_all()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TestMailServer:
    """Start, stop, start again on the same port; ``messages`` holds everything received."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.messages: list[Received] = []
        self.arrived = threading.Condition()
        self.refuse_for_good: set[str] = set()
        self.refuse_for_now: set[str] = set()
        self.credentials = credentials
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        user = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"smtp://{user}127.0.0.1:{self.port}?starttls=no"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.credentials and \
                (auth_data.login.decode(), auth_data.password.decode()) == self.credentials:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        if self.controller is not None:
            return
        options = {}
        if self.credentials:
            options = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def clear(self) -> None:
        with self.arrived:
            self.messages.clear()
        self.refuse_for_good.clear()
        self.refuse_for_now.clear()

    def to(self, address: str) -> list[Received]:
        """Every message received for this address so far."""
        with self.arrived:
            return [m for m in self.messages if address in m.recipients]

    def wait_for(self, address: str, count: int = 1, timeout: float = 20.0) -> list[Received]:
        """Block until ``count`` messages for ``address`` arrived (the browser's server thread sends them).

        Waits on the server's own notification, not on the clock; the timeout only ends a test
        that would otherwise hang.
        """
        with self.arrived:
            self.arrived.wait_for(lambda: len([m for m in self.messages if address in m.recipients]) >= count,
                                  timeout=timeout)
            found = [m for m in self.messages if address in m.recipients]
        assert len(found) >= count, f"expected {count} message(s) to {address}, got {len(found)}"
        return found
