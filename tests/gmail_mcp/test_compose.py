"""Reply drafts composed as RFC 822 and parsed back: threading, recipients, subject, escaping, header safety."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default

import pytest

from gmail_mcp.compose import MARKER_HEADER, compose_reply, header_value, reply_subject, sanitise_html
from gmail_mcp.errors import InvalidInputError
from gmail_mcp.mailbox import reply_recipient
from gmail_mcp.mime import parse_message
from support_core.addresses import normalise_address
from support_core.mail import Address, Headers

OWN = "support@aurora-activewear.example"
JOSE = Address(name="José Núñez", email="j.nunez@example.org")


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
    reply = compose_reply(original(), own_address=OWN, to=JOSE, body_text="Hola José")
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
    assert reply_recipient(form, OWN, None).email == "ana@example.com"
    assert reply_recipient(original(), OWN, None).email == "j.nunez@example.org"
    ours = original(**{"from": Address(email=OWN), "to": [Address(email="maria.garcia@example.com")]})
    assert reply_recipient(ours, OWN, None).email == "maria.garcia@example.com"
    nobody = original(**{"from": Address(email=OWN), "to": [Address(email=OWN)]})
    with pytest.raises(InvalidInputError):
        reply_recipient(nobody, OWN, None)


def test_the_draft_has_exactly_one_recipient_and_no_cc_or_bcc() -> None:
    message = parsed(compose_reply(original(), own_address=OWN, to=JOSE, body_text="x").raw)
    assert [a.addr_spec for a in message["To"].addresses] == ["j.nunez@example.org"]
    assert message["Cc"] is None and message["Bcc"] is None


def test_an_explicit_recipient_must_be_one_of_the_senders() -> None:
    two = original(reply_to=[Address(email="maria@example.com")])
    assert reply_recipient(two, OWN, "J.Nunez@Example.org").email == "j.nunez@example.org"
    assert reply_recipient(two, OWN, "maria@example.com").email == "maria@example.com"
    with pytest.raises(InvalidInputError, match="sender addresses"):
        reply_recipient(two, OWN, "mallory@evil.example")
    with pytest.raises(InvalidInputError, match="to:"):
        reply_recipient(two, OWN, "maria@example.com, mallory@evil.example")


def test_ambiguous_senders_need_an_explicit_recipient() -> None:
    ambiguous = original(
        reply_to=[Address(email="maria@example.com"), Address(email="mallory@evil.example")],
        sender_problems=["Reply-To: 2 addresses"],
    )
    with pytest.raises(InvalidInputError, match="ambiguous"):
        reply_recipient(ambiguous, OWN, None)
    assert reply_recipient(ambiguous, OWN, "j.nunez@example.org").email == "j.nunez@example.org"


def test_an_internationalised_local_part_makes_an_smtputf8_message() -> None:
    marilu = Address(name="Marilù", email="marilù.gioffré@esempio-università.it")
    raw = compose_reply(original(**{"from": marilu}), own_address=OWN, to=marilu, body_text="x").raw
    assert 'To: "Marilù" <marilù.gioffré@esempio-università.it>'.encode() in raw
    assert parse_message(raw).headers.to == [marilu]


def test_an_idn_domain_alone_is_written_in_ascii() -> None:
    jose = Address(name="José", email="jose@esempio-università.it")
    raw = compose_reply(original(**{"from": jose}), own_address=OWN, to=jose, body_text="x").raw
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    assert parsed(raw)["To"].addresses[0].addr_spec == "jose@xn--esempio-universit-4ob.it"


@pytest.mark.parametrize(
    "address",
    [
        "franz@straße.example",  # IDNA 2003 (Python's `idna` codec) would write strasse.example: another domain
        "grete@xn--strae-oqa.example",
        "ana@faß.de",
        "eleni@πολλάς.example",  # final sigma: IDNA 2003 folds it to the medial sigma, another domain
        "jose@esempio-università.it",
    ],
)
def test_the_to_of_an_idn_domain_is_the_bound_identity(address: str) -> None:
    bound = Address(email=normalise_address(address))
    raw = compose_reply(original(**{"from": bound}), own_address=OWN, to=bound, body_text="x").raw
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    written = parsed(raw)["To"].addresses[0].addr_spec
    assert normalise_address(written) == bound.email
    assert parse_message(raw).headers.to == [bound]


def test_non_ascii_display_names_are_encoded_and_decode_back() -> None:
    raw = compose_reply(original(), own_address=OWN, to=JOSE, own_name="Atención al cliente", body_text="x").raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii(), "headers must be 7-bit (RFC 2047 encoded words)"
    message = parsed(raw)
    assert message["To"].addresses[0].display_name == "José Núñez"
    assert message["From"].addresses[0].display_name == "Atención al cliente"


def test_text_and_escaped_html_alternatives() -> None:
    text = 'Your tracking: <script>alert(1)</script> & "more"\n\nSee https://x.example'
    message = parsed(compose_reply(original(), own_address=OWN, to=JOSE, body_text=text).raw)
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
    assert "<script" not in clean and "onclick" not in clean and "javascript" not in clean and "<img" not in clean
    assert clean.startswith("<p>Hi <b>there</b></p>")
    assert '<a href="https://shop.example/t" rel="noopener noreferrer nofollow">track</a>' in clean


def test_sanitised_html_has_balanced_tags() -> None:
    clean = sanitise_html("<b>bold <i>both</b> tail <blockquote>open")
    assert clean.count("<b>") == clean.count("</b>") and clean.count("<i>") == clean.count("</i>")
    assert clean.count("<blockquote>") == clean.count("</blockquote>")


def test_a_display_name_that_looks_like_a_link_is_not_quoted_in_the_attribution() -> None:
    tricky = Address(name="Visit www.evil.example now", email="j.nunez@example.org")
    reply = compose_reply(original(**{"from": tricky}), own_address=OWN, to=tricky, body_text="x", quoted="Hola")
    assert "evil" not in bodies(parsed(reply.raw))["text/plain"]
    assert "j.nunez@example.org wrote:" in bodies(parsed(reply.raw))["text/plain"]


def test_header_injection_is_impossible() -> None:
    evil = original(subject="Hi\r\nBcc: victim@example.com\x00", message_id="<c@example.org>\r\nBcc: x@y.z")
    message = parsed(compose_reply(evil, own_address=OWN, to=JOSE, body_text="x").raw)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "\x00" not in message["Subject"]
    assert header_value("a\r\nb\tc\x00") == "a b c"


def test_quote_of_the_original_is_included_and_escaped() -> None:
    reply = compose_reply(
        original(), own_address=OWN, to=JOSE, body_text="Gracias", quoted="¿Dónde está <b>mi</b> pedido?"
    )
    parts = bodies(parsed(reply.raw))
    assert "> ¿Dónde está <b>mi</b> pedido?" in parts["text/plain"]
    assert "José Núñez wrote:" in parts["text/plain"]
    assert "&lt;b&gt;mi&lt;/b&gt;" in parts["text/html"]


def test_empty_body_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="body_text"):
        compose_reply(original(), own_address=OWN, to=JOSE, body_text=" \n ")


def test_reviewer_note_is_a_sanitised_hidden_header() -> None:
    reply = compose_reply(original(), own_address=OWN, to=JOSE, body_text="x", note="engine=offline\r\nBcc: x@y.z")
    message = parsed(reply.raw)
    assert message["X-Support-Agent-Note"] == "engine=offline Bcc: x@y.z" and message["Bcc"] is None
    assert "engine=offline" not in bodies(message)["text/plain"]


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("es", "El 20/11/2026 09:30, José Núñez escribió:"),
        ("fr", "Le 20/11/2026 09:30, José Núñez a écrit :"),
        ("de", "Am 20.11.2026 09:30 schrieb José Núñez:"),
        ("pt", "Em 20/11/2026 09:30, José Núñez escreveu:"),
        ("it", "Il 20/11/2026 09:30, José Núñez ha scritto:"),
        ("en", "On 2026-11-20 09:30, José Núñez wrote:"),
        ("ja", "On 2026-11-20 09:30, José Núñez wrote:"),
    ],
)
def test_the_quote_attribution_speaks_the_replys_language(language: str, line: str) -> None:
    reply = compose_reply(original(), own_address=OWN, to=JOSE, body_text="x", quoted="Hola", language=language)
    assert line in bodies(parsed(reply.raw))["text/plain"]


@pytest.mark.parametrize("utf8", [False, True])
def test_the_reused_header_classes_write_the_bytes_the_stdlib_policy_writes(utf8: bool) -> None:
    """compose's policy only remembers the stdlib's per-name header classes: every header kind it writes (addresses
    with non-ASCII names, long folded References, unstructured, dates, MIME parameters) comes out byte-identical."""
    from email.headerregistry import Address as HeaderAddress
    from email.message import EmailMessage
    from email.policy import SMTP

    from gmail_mcp.compose import POLICY, POLICY_UTF8

    def build(policy: object) -> bytes:
        message = EmailMessage(policy=policy)  # type: ignore[arg-type]
        for _ in range(2):  # the second round reuses the remembered classes
            for name in ("From", "To", "Subject", "Date", "Message-ID", "References", MARKER_HEADER):
                del message[name]
            message["From"] = HeaderAddress(display_name="Atención al cliente", addr_spec=OWN)
            if utf8:
                message["To"] = '"Marilú" <marilú@example.org>'
            else:
                message["To"] = HeaderAddress(display_name='José Núñez, "Jr"', addr_spec="j.nunez@example.org")
            message["Subject"] = "Re: Pedido #1011 — ¿dónde está? " + "muy largo " * 12
            message["Date"] = "Fri, 20 Nov 2026 09:30:00 +0000"
            message["Message-ID"] = "<reply@aurora-activewear.example>"
            message["References"] = " ".join(f"<ref-{i}-abcdefghijklmnop@example.org>" for i in range(20))
            message[MARKER_HEADER] = "<c@example.org>"
        message.set_content("Hola José\n", subtype="plain", charset="utf-8", cte="quoted-printable")
        message.add_alternative("<p>Hola José</p>\n", subtype="html", charset="utf-8", cte="quoted-printable")
        return message.as_bytes()

    stock = SMTP.clone(utf8=True) if utf8 else SMTP
    ours = POLICY_UTF8 if utf8 else POLICY
    first, second = build(stock), build(ours)
    boundary = [line for line in first.splitlines() if b"boundary=" in line]
    assert boundary  # a multipart/alternative: boundaries are random, so compare with them blanked
    assert _without_boundaries(first) == _without_boundaries(second)


def _without_boundaries(raw: bytes) -> bytes:
    import re

    marks = set(re.findall(rb'boundary="([^"]+)"', raw))
    for mark in marks:
        raw = raw.replace(mark, b"BOUNDARY")
    return raw
