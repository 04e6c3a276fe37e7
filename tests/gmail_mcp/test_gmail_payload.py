"""Rebuilding RFC 5322 bytes from Gmail's `format=full` part tree (what get_thread reads): the parse matches the raw."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gmail_mcp.gmail_payload import ATTACHMENT_SIZE_HEADER, payload_bytes
from gmail_mcp.mime import parse_message
from gmail_mcp.sandbox_mailbox import sandbox_files
from support_testing.gmail_emulator import mime as gmail_mime
from tests.gmail_mcp.emulator.sample_mail import mail


def full_payload(raw: bytes) -> dict[str, object]:
    """What the emulator (like Gmail) answers for the message in `format=full`."""
    return gmail_mime.payload(gmail_mime.parse(raw), "m1")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


SANDBOX = [*sandbox_files()[0], *sandbox_files()[1]]


@pytest.mark.parametrize("path", SANDBOX, ids=lambda p: p.name)
def test_sandbox_mail_reads_the_same_rebuilt(path: Path) -> None:
    raw = path.read_bytes()
    direct = parse_message(raw)
    rebuilt = parse_message(payload_bytes(full_payload(raw)), declared_sizes=True)
    assert rebuilt.text == direct.text
    assert rebuilt.new_text == direct.new_text
    assert rebuilt.headers.subject == direct.headers.subject
    assert rebuilt.headers.message_id == direct.headers.message_id
    assert rebuilt.headers.in_reply_to == direct.headers.in_reply_to
    assert [a.email for a in rebuilt.headers.from_all] == [a.email for a in direct.headers.from_all]
    assert [(a.filename, a.content_type, a.size) for a in rebuilt.attachments] == [
        (a.filename, a.content_type, a.size) for a in direct.attachments
    ]


def test_html_alternative_and_attachment_survive() -> None:
    raw = mail(
        "Grüße aus Köln",
        "Plain words",
        sender="Jörg Müller <j@beispiel.de>",
        html="<p>HTML <b>words</b></p>",
        attachment=("rechnung.pdf", b"%PDF-" + bytes(range(256)) * 40),
    )
    rebuilt = parse_message(payload_bytes(full_payload(raw)), declared_sizes=True)
    assert rebuilt.headers.subject == "Grüße aus Köln"
    assert rebuilt.headers.from_ is not None and rebuilt.headers.from_.name == "Jörg Müller"
    assert rebuilt.text == "Plain words" and not rebuilt.html_only
    assert [(a.filename, a.size) for a in rebuilt.attachments] == [("rechnung.pdf", 5 + 256 * 40)]


def test_a_header_value_cannot_add_a_header_or_end_the_header_block() -> None:
    payload = {
        "mimeType": "text/plain",
        "headers": [
            {"name": "Subject", "value": "Hello\r\nBcc: victim@example.com\r\n\r\nfake body"},
            {"name": "Bad Name:", "value": "dropped"},
            {"name": "From", "value": "a@example.com"},
        ],
        "body": {"size": 4, "data": b64(b"real")},
    }
    parsed = parse_message(payload_bytes(payload))
    assert parsed.headers.subject == "Hello Bcc: victim@example.com fake body"
    assert parsed.text == "real"
    assert b"Bad Name" not in payload_bytes(payload)


def test_the_size_header_is_believed_only_for_rebuilt_bytes() -> None:
    part = (
        b"--b\r\nContent-Type: application/pdf; name=x.pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n"
        + f"{ATTACHMENT_SIZE_HEADER}: 999999\r\n\r\nabc\r\n--b--\r\n".encode()
    )
    raw = b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + part
    assert [a.size for a in parse_message(raw).attachments] == [3]
    assert [a.size for a in parse_message(raw, declared_sizes=True).attachments] == [999999]


def test_an_attached_message_stays_a_message() -> None:
    inner = mail("Original question", "Inner body")
    outer = (
        b'From: a@example.com\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n'
        b"--o\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--o--\r\n"
    )
    direct = parse_message(outer)
    rebuilt = parse_message(payload_bytes(full_payload(outer)), declared_sizes=True)
    assert rebuilt.text == direct.text
    assert [(a.filename, a.content_type) for a in rebuilt.attachments] == [
        (a.filename, a.content_type) for a in direct.attachments
    ]
