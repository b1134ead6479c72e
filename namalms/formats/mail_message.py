"""E-mail messages and the mail server URL: pure Python (standard library ``email``), no Flask.

One URL names where mail goes (``MAIL_URL`` / ``NAMALMS_MAIL_URL``)::

    smtp://user:password@mail.example.org:587     STARTTLS (required), then login
    smtps://user:password@mail.example.org:465    TLS from the first byte, then login
    smtp://127.0.0.1:25?starttls=no               a relay on this machine, no TLS (and tests)
    outbox:///absolute/folder                     no server: .eml files in that folder

User name and password are percent-encoded in the URL (``%40`` for ``@``). Messages are
``multipart/alternative`` (plain text first, then simple HTML) in UTF-8; names and subjects with
umlauts are encoded by the ``email`` package (RFC 2047 / RFC 6532 rules of ``policy.SMTP``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

SCHEMES = ("smtp", "smtps", "outbox")
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
_NO = ("0", "no", "false", "off", "nein")


class MailUrlError(ValueError):
    """The mail URL cannot be used; the message says why, in English (for logs and the CLI)."""


@dataclass(frozen=True)
class MailServer:
    """Where and how to deliver, parsed from the mail URL."""

    scheme: str  # smtp | smtps | outbox
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""
    starttls: bool = True
    folder: str = ""  # outbox only

    @property
    def is_outbox(self) -> bool:
        """True when messages go to files instead of a server."""
        return self.scheme == "outbox"

    def describe(self) -> str:
        """The server without its password, for logs and the office."""
        if self.is_outbox:
            return f"outbox {self.folder}"
        who = f"{self.username}@" if self.username else ""
        tls = "TLS" if self.scheme == "smtps" else ("STARTTLS" if self.starttls else "no TLS")
        return f"{self.scheme}://{who}{self.host}:{self.port} ({tls})"


def parse_mail_url(url: str, *, default_outbox: str) -> MailServer:
    """Read a mail URL; an empty one means the outbox folder ``default_outbox``."""
    url = (url or "").strip()
    if not url:
        return MailServer("outbox", folder=default_outbox)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise MailUrlError(f"mail URL must start with smtp://, smtps:// or outbox://, not {scheme or url!r}")
    if scheme == "outbox":
        folder = unquote(parts.path) or default_outbox
        if parts.netloc or not Path(folder).is_absolute():
            raise MailUrlError("outbox:// needs an absolute folder, e.g. outbox:///var/lib/namalms/outbox")
        return MailServer("outbox", folder=folder)
    if not parts.hostname:
        raise MailUrlError("mail URL has no host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise MailUrlError(f"mail URL has an invalid port: {error}") from None
    options = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(options) - {"starttls"}
    if unknown:
        raise MailUrlError(f"unknown mail URL option(s): {', '.join(sorted(unknown))} (known: starttls)")
    starttls = scheme == "smtp" and options.get("starttls", "yes").lower() not in _NO
    return MailServer(scheme, host=parts.hostname, port=port, username=unquote(parts.username or ""),
                      password=unquote(parts.password or ""), starttls=starttls)


@dataclass(frozen=True)
class Attachment:
    """A file sent along, e.g. a calendar entry (``text/calendar``)."""

    filename: str
    content_type: str  # "text/calendar" …
    data: bytes
    parameters: tuple[tuple[str, str], ...] = ()  # e.g. (("method", "PUBLISH"),)


def address(name: str, email: str) -> Address:
    """A mailbox with a display name; umlauts in the name are encoded when the message is written."""
    local, _, domain = email.partition("@")
    return Address(display_name=" ".join((name or "").split()), username=local, domain=domain)


def parse_sender(text: str) -> Address:
    """``Name <addr@host>`` or ``addr@host`` as an Address (for the MAIL_FROM setting)."""
    match = re.fullmatch(r"\s*(?:\"?([^\"<]*?)\"?\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*", text or "")
    if not match:
        raise MailUrlError(f"not an e-mail address: {text!r}")
    name, bracketed, bare = match.groups()
    return address(name or "", bracketed or bare)


def build_message(*, sender: Address, recipient: Address, subject: str, text: str, html: str,
                  reply_to: Address | None = None, attachments: tuple[Attachment, ...] = (),
                  now: datetime | None = None, headers: dict[str, str] | None = None) -> EmailMessage:
    """A complete message: plain text plus HTML alternative, optional attachments, German headers."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.domain or "localhost")
    # Transactional mail: auto-responders should not answer it (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                               filename=attachment.filename, params=dict(attachment.parameters))
    message["Content-Language"] = "de"  # after the parts: set_content() drops Content-* headers
    return message


_LINK = re.compile(r"https?://[^\s<>\"']+")


def links_in(text: str) -> list[str]:
    """The web addresses in a text, in order, without repeats (the outbox logs them)."""
    return list(dict.fromkeys(match.rstrip(".,;)") for match in _LINK.findall(text or "")))


def plain_text_of(message: EmailMessage) -> str:
    """The plain-text part of a message built by :func:`build_message`."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
