"""Reply drafts composed as RFC 822 and parsed back: threading, recipients, subject, escaping, header safety."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default

import pytest

from gmail_mcp.compose import MARKER_HEADER, compose_reply, header_value, reply_subject, sanitise_html
from gmail_mcp.errors import InvalidInputError
from gmail_mcp.models import Address, Headers

OWN = "support@aurora-activewear.example"


def original(**changes: object) -> Headers:
    values: dict[str, object] = {
        "from": Address(name="José Núñez", email="j.nunez@example.org"),
        "to": [Address(email=OWN)],
        "subject": "RE: Re: Fwd: Pedido #1011",
        "date": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        "message_id": "<c@example.org>",
        "references": ["<a@example.org>", "<b@aurora-activewear.example>"],
    }
    values.update(changes)
    return Headers.model_validate(values)


def parsed(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=default)


def bodies(message: Message) -> dict[str, str]:
    parts = (part for part in message.walk() if not part.is_multipart())
    return {part.get_content_type(): part.get_content().replace("\r\n", "\n") for part in parts}


def test_threading_headers_come_from_the_rfc_message_ids() -> None:
    reply = compose_reply(original(), own_address=OWN, body_text="Hola José")
    message = parsed(reply.raw)
    assert message["In-Reply-To"] == "<c@example.org>"
    assert message["References"].split() == ["<a@example.org>", "<b@aurora-activewear.example>", "<c@example.org>"]
    assert message[MARKER_HEADER] == "<c@example.org>"
    assert message["Subject"] == "Re: Pedido #1011"
    assert message["Message-ID"].endswith("@aurora-activewear.example>")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "Re: Hello"),
        ("Re: Hello", "Re: Hello"),
        ("AW: Re[2]: Hallo", "Re: Hallo"),
        ("", "Re:"),
        ("Fwd: RE: Tr: x", "Re: x"),
        ("Regarding my order", "Re: Regarding my order"),
    ],
)
def test_exactly_one_re_prefix(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_recipient_is_reply_to_then_from_never_the_mailbox() -> None:
    form = original(**{"from": Address(email="mailer@shopify.com"), "reply_to": [Address(email="ana@example.com")]})
    assert [a.email for a in compose_reply(form, own_address=OWN, body_text="x").to] == ["ana@example.com"]
    plain = compose_reply(original(), own_address=OWN, body_text="x")
    assert parsed(plain.raw)["To"].addresses[0].addr_spec == "j.nunez@example.org"
    ours = original(**{"from": Address(email=OWN), "to": [Address(email="maria.garcia@example.com")]})
    assert [a.email for a in compose_reply(ours, own_address=OWN, body_text="x").to] == ["maria.garcia@example.com"]
    nobody = original(**{"from": Address(email=OWN), "to": [Address(email=OWN)]})
    with pytest.raises(InvalidInputError):
        compose_reply(nobody, own_address=OWN, body_text="x")


def test_non_ascii_display_names_are_encoded_and_decode_back() -> None:
    raw = compose_reply(original(), own_address=OWN, own_name="Atención al cliente", body_text="x").raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii(), "headers must be 7-bit (RFC 2047 encoded words)"
    message = parsed(raw)
    assert message["To"].addresses[0].display_name == "José Núñez"
    assert message["From"].addresses[0].display_name == "Atención al cliente"


def test_text_and_escaped_html_alternatives() -> None:
    text = 'Your tracking: <script>alert(1)</script> & "more"\n\nSee https://x.example'
    message = parsed(compose_reply(original(), own_address=OWN, body_text=text).raw)
    assert message.get_content_type() == "multipart/alternative"
    parts = bodies(message)
    assert parts["text/plain"].startswith(text)
    assert "<script>" not in parts["text/html"] and "&lt;script&gt;" in parts["text/html"]


def test_given_html_is_sanitised() -> None:
    html = (
        '<p onclick="x()">Hi <b>there</b></p><script>evil()</script><a href="javascript:x">click</a>'
        '<a href="https://shop.example/t">track</a><img src=x onerror=y>'
    )
    clean = sanitise_html(html)
    assert clean == '<p>Hi <b>there</b></p>evil()click<a href="https://shop.example/t">track</a>'


def test_header_injection_is_impossible() -> None:
    evil = original(subject="Hi\r\nBcc: victim@example.com\x00", message_id="<c@example.org>\r\nBcc: x@y.z")
    message = parsed(compose_reply(evil, own_address=OWN, body_text="x").raw)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "\x00" not in message["Subject"]
    assert header_value("a\r\nb\tc\x00") == "a b c"


def test_quote_of_the_original_is_included_and_escaped() -> None:
    reply = compose_reply(original(), own_address=OWN, body_text="Gracias", quoted="¿Dónde está <b>mi</b> pedido?")
    parts = bodies(parsed(reply.raw))
    assert "> ¿Dónde está <b>mi</b> pedido?" in parts["text/plain"]
    assert "José Núñez wrote:" in parts["text/plain"]
    assert "&lt;b&gt;mi&lt;/b&gt;" in parts["text/html"]


def test_empty_body_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="body_text"):
        compose_reply(original(), own_address=OWN, body_text=" \n ")


def test_reviewer_note_is_a_sanitised_hidden_header() -> None:
    reply = compose_reply(original(), own_address=OWN, body_text="x", note="engine=offline\r\nBcc: x@y.z")
    message = parsed(reply.raw)
    assert message["X-Support-Agent-Note"] == "engine=offline Bcc: x@y.z" and message["Bcc"] is None
    assert "engine=offline" not in bodies(message)["text/plain"]
