"""Handing finished messages to a mail server (smtplib) or to the outbox folder. No database.

``open_transport(server)`` gives a context manager with ``send(message_bytes, sender, recipient)``;
one connection serves a whole batch. Errors are sorted into two kinds so the queue knows what to
do: :class:`TemporaryFailure` (server down, 4xx: try again later) and :class:`PermanentFailure`
(5xx for this message: retrying cannot help).
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from contextlib import contextmanager
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path
from typing import Iterator

from namalms.formats.mail_message import MailServer, links_in, plain_text_of

log = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    """Try again later: the server is unreachable, busy, or answered 4xx."""


class ConnectionLost(TemporaryFailure):
    """The connection broke during a batch: the rest of the batch waits for the next attempt."""


class PermanentFailure(Exception):
    """The server refused this message for good (5xx): retrying the same message cannot help."""


def _classify(error: Exception) -> Exception:
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [value[0] for value in error.recipients.values()]
        code = max(codes) if codes else None
    text = f"{type(error).__name__}: {error}"
    # (SMTPException is itself an OSError: only socket errors and a dropped connection end the batch.)
    if isinstance(error, smtplib.SMTPServerDisconnected) or not isinstance(error, smtplib.SMTPException):
        return ConnectionLost(text)
    if isinstance(code, int) and 500 <= code < 600:
        return PermanentFailure(text)
    return TemporaryFailure(text)


class SmtpTransport:
    """One SMTP connection (STARTTLS or TLS as the URL says), logged in when a user is given."""

    def __init__(self, server: MailServer, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect, secure the connection as the URL says, log in."""
        server = self.server
        context = ssl.create_default_context()
        try:
            if server.scheme == "smtps":
                self.connection = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=context)
            else:
                self.connection = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
                if server.starttls:
                    # Required, never opportunistic: a server that does not offer it is an error.
                    self.connection.starttls(context=context)
            if server.username:
                self.connection.login(server.username, server.password)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            if isinstance(error, smtplib.SMTPAuthenticationError):
                raise TemporaryFailure(f"login at {server.describe()} refused: {error}") from None
            raise TemporaryFailure(f"cannot reach {server.describe()}: {type(error).__name__}: {error}") from None

    def send(self, data: bytes, sender: str, recipient: str) -> None:
        """Hand one message to the server."""
        assert self.connection is not None
        try:
            self.connection.sendmail(sender, [recipient], data)
        except UnicodeError as error:  # a non-ASCII address and a server without SMTPUTF8
            self._reset()  # smtplib leaves the half-begun transaction open in this case
            raise PermanentFailure(f"address cannot be sent to: {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise _classify(error) from None

    def _reset(self) -> None:
        try:
            self.connection.rset()
        except (OSError, smtplib.SMTPException):
            pass

    def close(self) -> None:
        """Say goodbye to the server (or just drop a broken connection)."""
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None


class OutboxTransport:
    """No mail server: each message becomes an .eml file; the log names the file and its links.

    The default for ``make run``, so registration, confirmation and password reset work offline:
    open the link from the log (or the file with a mail program).
    """

    def __init__(self, server: MailServer) -> None:
        self.folder = Path(server.folder)

    def open(self) -> None:
        """Make sure the outbox folder exists."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TemporaryFailure(f"cannot create the outbox {self.folder}: {error}") from None

    def send(self, data: bytes, sender: str, recipient: str) -> None:
        """Write the message as ``<time>-<recipient>.eml`` and log its links."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        safe = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in recipient)[:80]
        path = self.folder / f"{stamp}-{safe}.eml"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        except OSError as error:
            raise TemporaryFailure(f"cannot write {path}: {error}") from None
        message = message_from_bytes(data, policy=policy.default)
        links = links_in(plain_text_of(message))
        log.warning("mail not sent (no NAMALMS_MAIL_URL), written to %s – to %s, subject %r%s", path, recipient,
                    str(message["Subject"]), "".join(f"\n    link: {link}" for link in links))

    def close(self) -> None:
        """Nothing to close: every message is its own file."""


@contextmanager
def open_transport(server: MailServer, *, timeout: float) -> Iterator[SmtpTransport | OutboxTransport]:
    """A connected transport for a batch of messages; raises TemporaryFailure when it cannot connect."""
    transport = OutboxTransport(server) if server.is_outbox else SmtpTransport(server, timeout)
    transport.open()
    try:
        yield transport
    finally:
        transport.close()
