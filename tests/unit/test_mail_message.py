"""Mail URLs and messages: pure functions, tested with tables of cases."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from namalms.formats.mail_message import (
    Attachment, MailUrlError, address, build_message, links_in, parse_mail_url, parse_sender, plain_text_of,
)

OUTBOX = "/srv/namalms/instance/outbox"


@pytest.mark.parametrize("url, expected", [
    ("", dict(scheme="outbox", folder=OUTBOX)),
    ("   ", dict(scheme="outbox", folder=OUTBOX)),
    ("smtp://mail.example.org", dict(scheme="smtp", host="mail.example.org", port=587, starttls=True)),
    ("smtp://nama%40lag21.de:s%3Ac%2Fret@mail.example.org:2525",
     dict(scheme="smtp", host="mail.example.org", port=2525, username="nama@lag21.de", password="s:c/ret",
          starttls=True)),
    ("smtps://u:p@mail.example.org", dict(scheme="smtps", port=465, username="u", password="p", starttls=False)),
    ("smtp://127.0.0.1:25?starttls=no", dict(scheme="smtp", port=25, starttls=False)),
    ("SMTP://Mail.Example.org?starttls=yes", dict(scheme="smtp", host="mail.example.org", starttls=True)),
    ("outbox:///var/mail/nama", dict(scheme="outbox", folder="/var/mail/nama")),
])
def test_mail_urls_are_read(url, expected):
    server = parse_mail_url(url, default_outbox=OUTBOX)
    for key, value in expected.items():
        assert getattr(server, key) == value, key


@pytest.mark.parametrize("url, message", [
    ("http://mail.example.org", "must start with smtp://"),
    ("smtp://", "no host"),
    ("smtp://mail.example.org:port", "invalid port"),
    ("smtp://mail.example.org?tls=off", "unknown mail URL option"),
    ("outbox://relative/folder", "absolute folder"),
])
def test_unusable_mail_urls_are_refused_in_english(url, message):
    with pytest.raises(MailUrlError, match=message):
        parse_mail_url(url, default_outbox=OUTBOX)


def test_the_password_never_appears_in_the_description():
    server = parse_mail_url("smtp://nama:geheim@mail.example.org", default_outbox=OUTBOX)
    assert "geheim" not in server.describe() and "STARTTLS" in server.describe()


@pytest.mark.parametrize("text, name, email", [
    ("no-reply@lernen.nama.nrw", "", "no-reply@lernen.nama.nrw"),
    ("NaMa NRW Lernplattform <no-reply@lernen.nama.nrw>", "NaMa NRW Lernplattform", "no-reply@lernen.nama.nrw"),
    ('"Programmbüro NaMa" <buero@lag21.de>', "Programmbüro NaMa", "buero@lag21.de"),
])
def test_sender_settings_are_read(text, name, email):
    sender = parse_sender(text)
    assert sender.display_name == name and sender.addr_spec == email


def test_a_sender_without_address_is_refused():
    with pytest.raises(MailUrlError):
        parse_sender("Programmbüro")


def build(**overrides):
    values = dict(sender=address("NaMa NRW Lernplattform", "no-reply@lernen.nama.nrw"),
                  recipient=address("Jürgen Müller-Lüdenscheidt", "juergen@example.org"),
                  subject="Zertifikat ausgestellt: Grundlagenkurs „Nachhaltigkeit“ – Glückwunsch",
                  text="Guten Tag Jürgen,\n\nhier ist Ihr Link: https://lernen.nama.nrw/confirm/abc.\n",
                  html="<p>Guten Tag Jürgen,</p><p><a href=\"https://lernen.nama.nrw/confirm/abc\">Link</a></p>")
    values.update(overrides)
    return build_message(**values)


def test_umlauts_in_names_and_subjects_survive_the_wire_encoded():
    raw = bytes(build())
    assert raw.isascii(), "headers and bodies are 7-bit on the wire (RFC 2047, quoted-printable)"
    received = message_from_bytes(raw, policy=policy.default)
    assert str(received["Subject"]) == "Zertifikat ausgestellt: Grundlagenkurs „Nachhaltigkeit“ – Glückwunsch"
    assert received["To"].addresses[0].display_name == "Jürgen Müller-Lüdenscheidt"
    assert received["To"].addresses[0].addr_spec == "juergen@example.org"
    assert received["Content-Language"] == "de" and received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"].endswith("@lernen.nama.nrw>")


def test_a_message_is_plain_text_with_an_html_alternative():
    received = message_from_bytes(bytes(build()), policy=policy.default)
    assert received.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in received.iter_parts()] == ["text/plain", "text/html"]
    assert "Guten Tag Jürgen" in plain_text_of(received)
    assert "<a href=" in received.get_body(preferencelist=("html",)).get_content()


def test_a_calendar_entry_travels_as_an_attachment():
    calendar = "BEGIN:VCALENDAR\r\nSUMMARY:Präsenzworkshop\r\nEND:VCALENDAR\r\n".encode("utf-8")
    message = build(attachments=(Attachment("nama-workshop-7.ics", "text/calendar", calendar,
                                            (("method", "PUBLISH"),)),))
    received = message_from_bytes(bytes(message), policy=policy.default)
    assert received.get_content_type() == "multipart/mixed"
    attachments = list(received.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "text/calendar"
    assert attachments[0].get_filename() == "nama-workshop-7.ics"
    assert attachments[0].get_param("method") == "PUBLISH"
    assert attachments[0].get_payload(decode=True) == calendar
    assert "Guten Tag Jürgen" in plain_text_of(received)


@pytest.mark.parametrize("text, links", [
    ("Öffnen Sie https://x.de/confirm/a.b.c.", ["https://x.de/confirm/a.b.c"]),
    ("zwei: http://a/1, http://a/2; und http://a/1 nochmal", ["http://a/1", "http://a/2"]),
    ("(siehe https://x.de/seite)", ["https://x.de/seite"]),
    ("keine", []),
])
def test_links_are_found_for_the_outbox_log(text, links):
    assert links_in(text) == links
