"""MIME parsing: corpora of real and malformed mail, charsets, HTML, headers, attachments and robustness."""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from gmail_mcp.mime import parse_message
from support_core.html_text import html_to_text
from support_core.mail import Address, Headers

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MIME = SHARED / "corpora" / "mime"
CORPUS = sorted(MIME.glob("rspamd/*.eml")) + sorted(MIME.glob("stalwart/*/*.eml")) if MIME.is_dir() else []
ABSENT = f"../shared is absent: {MIME} holds the rspamd and stalwart MIME corpora (present in CI)"
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def mail(headers: str, body: str | bytes) -> bytes:
    head = headers.strip().replace("\n", "\r\n").encode()
    return head + b"\r\n\r\n" + (body.encode() if isinstance(body, str) else body)


# -- corpora ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=str(path.relative_to(MIME))) for path in CORPUS]
    or [pytest.param(None, marks=pytest.mark.skip(ABSENT))],
)
def test_corpus_message_parses(path: Path) -> None:
    parsed = parse_message(path.read_bytes())
    assert isinstance(parsed.text, str)
    assert isinstance(parsed.headers, Headers)
    assert parsed.headers.model_dump_json(by_alias=True)
    assert parsed.headers.date is None or parsed.headers.date.tzinfo is not None
    assert not UNSAFE.search(parsed.text + parsed.headers.subject), "control, zero-width or bidi characters remain"
    assert all(
        attachment.filename is None or not UNSAFE.search(attachment.filename) for attachment in parsed.attachments
    )


def test_corpus_totals(record_property: Callable[[str, object], None]) -> None:
    """All 318 corpus messages parse well under 5 s together, and nearly every From header yields an address."""
    if not CORPUS:
        pytest.skip(ABSENT)
    started = time.perf_counter()
    parsed = [(path.read_bytes(), parse_message(path.read_bytes())) for path in CORPUS]
    elapsed = time.perf_counter() - started
    record_property("corpus_messages", len(parsed))
    assert len(parsed) >= 318
    assert elapsed < 5.0
    with_from = [mail for raw, mail in parsed if re.search(rb"(?im)^from:[^\r\n]*@", raw.split(b"\n\n", 1)[0])]
    assert sum(mail.headers.from_ is not None for mail in with_from) >= 0.95 * len(with_from)
    assert sum(bool(mail.text.strip()) for _raw, mail in parsed) >= 0.7 * len(parsed)


MIME_TOKENS = (b"\r\n--", b"=?", b"?=", b"\r\n\r\n", b"boundary=", b";", b"\x00", b"*0*=", b"<blockquote>")


def fuzz_cases() -> list[bytes]:
    rng = random.Random(20240601)
    samples = [path.read_bytes() for path in CORPUS if path.name in ("gargantua.eml", "bad_message.eml", "001.eml")]
    samples = samples or [mail("From: a@b.c\nContent-Type: multipart/mixed; boundary=x", "--x\n\nhi\n--x--\n")]
    cases = []
    for index in range(300):
        data = bytearray(samples[index % len(samples)][:60_000])
        for _ in range(rng.randint(1, 12)):
            position = rng.randrange(len(data) or 1)
            action = rng.randrange(5)
            if action == 0 and data:
                data[position] = rng.randrange(256)
            elif action == 1:
                data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
            elif action == 2:
                del data[position : position + rng.randint(1, 400)]
            elif action == 3:
                data[position:position] = rng.choice(MIME_TOKENS)
            else:
                data[position:position] = data[position : position + rng.randint(1, 2000)]
        cases.append(bytes(data))
    return cases


def test_random_mutations_never_raise() -> None:
    for case in fuzz_cases():
        parsed = parse_message(case)
        assert isinstance(parsed.text, str)
        assert isinstance(parsed.new_text, str)


HOSTILE = {
    "empty": b"",
    "nul": b"\x00" * 1000,
    "binary": bytes(range(256)) * 40,
    "blank-lines": b"\r\n\r\n\r\n",
    "no-boundary": b"Content-Type: multipart/mixed\r\n\r\nno boundary parameter",
    "nested-rfc822": b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nbody",
    "deep-nesting": b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    + b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(2000)),
    "bad-headers": b"Subject: =?utf-8?B?####?= =?x-unknown?Q?=ZZ?= =?utf-8?Q?open\r\nFrom: <<>>@@, ,;;\r\n\r\nx",
    "codecs": b"Content-Type: text/plain; charset=base64\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 6 x\n!",
}


@pytest.mark.parametrize("raw", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_input_never_raises(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed.text, str)
    assert not UNSAFE.search(parsed.text)


def test_huge_message_is_truncated_quickly() -> None:
    raw = mail("From: a@example.com\nContent-Type: text/plain; charset=utf-8", "All good here. " * 700_000)
    started = time.perf_counter()
    parsed = parse_message(raw, max_chars=1000)
    assert time.perf_counter() - started < 3.0
    assert parsed.truncated
    assert parsed.text.endswith("more characters]")
    assert len(parsed.text) < 1100


# -- structure -------------------------------------------------------------------------------------------------------
def nested_message() -> bytes:
    message = EmailMessage()
    message["From"] = "Anna <anna@example.com>"
    message["Subject"] = "Order"
    message.set_content("Plain version: where is order #1042?")
    message.add_alternative("<p>HTML version: where is <b>order #1042</b>?</p>", subtype="html")
    html = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
    html.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo>")
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf")
    return message.as_bytes()


def test_nested_multipart_prefers_plain_and_lists_attachments() -> None:
    parsed = parse_message(nested_message())
    assert parsed.text == "Plain version: where is order #1042?"
    assert not parsed.html_only
    types = {attachment.content_type: attachment for attachment in parsed.attachments}
    assert types["application/pdf"].filename == "invoice.pdf"
    assert types["application/pdf"].size == len(b"%PDF-1.4 fake")
    assert types["image/png"].inline
    assert "PDF" not in parsed.text


def test_alternative_with_empty_plain_part_uses_html() -> None:
    raw = mail(
        "Content-Type: multipart/alternative; boundary=b",
        "--b\nContent-Type: text/plain\n\n \n--b\nContent-Type: text/html\n\n<p>Real text</p>\n--b--\n",
    )
    parsed = parse_message(raw)
    assert parsed.text == "Real text"
    assert parsed.html_only


def test_html_only_is_converted_to_readable_text() -> None:
    html = (
        "<html><head><title>Shop</title><style>p {color: red}</style></head><body>"
        "<h1>Your order</h1><p>Hello&nbsp;Anna &amp; team,<br>it shipped.</p>"
        "<ul><li>Blue shirt</li><li>Red socks</li></ul>"
        '<p><a href="https://track.example/abc">Track your parcel</a> or see '
        '<a href="https://shop.example">shop.example</a> or <a href="mailto:help@shop.example">help@shop.example</a>'
        ' <a href="javascript:alert(1)">this</a></p>'
        '<img src="cid:x" alt="Shop logo"><img src="https://pixel.example/t.gif">'
        "<script>alert('x')</script><p>caf&eacute; &#8364;5 &lt;tag&gt;</p></body></html>"
    )
    parsed = parse_message(mail("From: shop@example.com\nContent-Type: text/html; charset=utf-8", html))
    assert parsed.html_only
    assert parsed.text == (
        "Your order\n\nHello Anna & team,\nit shipped.\n\n- Blue shirt\n- Red socks\n\n"
        "Track your parcel (https://track.example/abc) or see shop.example or help@shop.example this\n\n"
        "Shop logo\n\ncafé €5 <tag>"
    )


def test_html_charset_from_meta_tag() -> None:
    html = b'<html><head><meta charset="windows-1251"></head><body>' + "Привет".encode("cp1251")
    assert parse_message(mail("Content-Type: text/html", html)).text == "Привет"


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>one<div>two</p></div></span><![if !x]>three<![endif]>") == "one\ntwo\n\nthree"
    assert html_to_text("text <b") == "text <b"
    assert html_to_text("<p>first</p><![bogus marked section<p>second &amp; last</p>") == "first\nsecond & last"
    assert html_to_text("<html><head><title>t</title><body>no closing head</body>") == "no closing head"
    assert html_to_text("<pre>a\n  b\n\nc</pre>") == "a\nb\n\nc"
    assert html_to_text("<ul><li>a<ul><li>b</li></ul></li></ul>") == "- a\n  - b"


def test_missing_boundary_reads_the_body_as_text() -> None:
    raw = mail('Content-Type: multipart/mixed; boundary="never-used"', "Where is my order?\n")
    parsed = parse_message(raw)
    assert parsed.text == "Where is my order?"
    assert any("boundary" in problem for problem in parsed.problems)


def test_attached_message_is_listed_by_subject_not_inlined() -> None:
    inner = mail("From: shop@example.com\nSubject: Your receipt", "Total: 42 EUR")
    raw = mail(
        "Content-Type: multipart/mixed; boundary=b",
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee the forwarded receipt.\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n",
    )
    parsed = parse_message(raw)
    assert parsed.text == "See the forwarded receipt."
    assert [(item.filename, item.content_type) for item in parsed.attachments] == [("Your receipt", "message/rfc822")]


def test_attachments_with_rfc2231_and_rfc2047_filenames() -> None:
    raw = mail(
        "Content-Type: multipart/mixed; boundary=b",
        "--b\nContent-Type: text/plain\n\nInvoice attached.\n--b\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Disposition: attachment; filename*=utf-8''Factura%20n%C2%BA%201%E2%80%AE.txt\n\n"
        "secret line\n--b\n"
        "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: inline;\n filename*0*=utf-8''R%C3%A9sum%C3%A9%20;\n filename*1=final.pdf\n\n"
        f"{base64.b64encode(b'0123456789').decode()}\n--b\n"
        'Content-Type: image/jpeg; name="=?UTF-8?B?0YTQvtGC0L4uanBn?="\n\nxx\n--b--\n',
    )
    parsed = parse_message(raw)
    assert parsed.text == "Invoice attached."
    assert [(item.filename, item.size, item.inline) for item in parsed.attachments] == [
        ("Factura nº 1.txt", len(b"secret line"), False),
        ("Résumé final.pdf", 10, True),
        ("фото.jpg", 2, False),
    ]


def test_truncation_note() -> None:
    parsed = parse_message(mail("Content-Type: text/plain", "x" * 500), max_chars=100)
    assert parsed.truncated
    assert parsed.text == "x" * 100 + "\n\n[... message truncated: 400 more characters]"
    assert parsed.new_text.endswith("[... message truncated: 400 more characters]")
    assert not parse_message(mail("Content-Type: text/plain", "x" * 100), max_chars=100).truncated


def test_text_is_normalised() -> None:
    body = "Hi\x00 there\u202e\u200b,\x1b[31m \r\nline two   \r\n\r\n\r\n\r\n\r\nline\tthree\u2066x\u2069\ufeff\r\n"
    parsed = parse_message(mail("Subject: Re\u202efdp.exe\nContent-Type: text/plain; charset=utf-8", body))
    assert parsed.text == "Hi there,[31m\nline two\n\nline\tthreex"
    assert parsed.headers.subject == "Refdp.exe"


# -- charsets and transfer encodings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("charset", "body", "expected", "problem"),
    [
        ("iso-8859-1", "Gr\u00fc\u00dfe".encode(), "Gr\u00fc\u00dfe", "really UTF-8"),
        ("utf-8", "caf\u00e9 cr\u00e8me".encode("latin-1"), "caf\u00e9 cr\u00e8me", "not valid utf-8"),
        ("us-ascii", "\u201cquoted\u201d".encode("cp1252"), "\u201cquoted\u201d", "8-bit"),
        ("x-unknown-charset", "na\u00efve".encode(), "na\u00efve", "unknown charset"),
        ("uft-8", "na\u00efve".encode("cp1252"), "na\u00efve", "unknown charset"),
        (None, "\u00bfD\u00f3nde?".encode(), "\u00bfD\u00f3nde?", "without a declared charset"),
        (None, "\u00bfD\u00f3nde?".encode("cp1252"), "\u00bfD\u00f3nde?", "without a declared charset"),
        ("iso-2022-jp", "\u3053\u3093\u306b\u3061\u306f".encode("iso2022_jp"), "\u3053\u3093\u306b\u3061\u306f", None),
        (
            "koi8-r",
            "\u041f\u0440\u0438\u0432\u0435\u0442".encode("koi8-r"),
            "\u041f\u0440\u0438\u0432\u0435\u0442",
            None,
        ),
        ("gb2312", "\u4f60\u597d".encode("gbk"), "\u4f60\u597d", None),
        ("shift_jis", "\u6771\u4eac\u2460".encode("cp932"), "\u6771\u4eac\u2460", None),
        ("windows-1252", "5\u20ac".encode("cp1252"), "5\u20ac", None),
        ("latin1", "\u00e9t\u00e9".encode("latin-1"), "\u00e9t\u00e9", None),
        ('"UTF-8"', "\u00e9t\u00e9".encode(), "\u00e9t\u00e9", None),
        ("base64", "\u00e9t\u00e9".encode(), "\u00e9t\u00e9", "base64"),
    ],
)
def test_charsets(charset: str | None, body: bytes, expected: str, problem: str | None) -> None:
    content_type = "text/plain" + (f"; charset={charset}" if charset else "")
    parsed = parse_message(mail(f"Content-Type: {content_type}\nContent-Transfer-Encoding: 8bit", body))
    assert parsed.text == expected
    if problem:
        assert any(problem in item for item in parsed.problems), parsed.problems
    else:
        assert parsed.problems == []


def test_broken_base64_is_decoded_as_far_as_possible() -> None:
    encoded = base64.b64encode(b"Where is my order? It is late.").decode()
    broken = f"{encoded[:12]}!!\n{encoded[12:]}=="[:-3]
    parsed = parse_message(mail("Content-Type: text/plain\nContent-Transfer-Encoding: base64", broken))
    assert parsed.text.startswith("Where is my order? It is lat")
    assert any("base64" in problem for problem in parsed.problems)


def test_quoted_printable() -> None:
    body = "Caf=C3=A9 cr=C3=A8me =\nsoft break=3D done"
    parsed = parse_message(
        mail("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: QUOTED-PRINTABLE", body)
    )
    assert parsed.text == "Café crème soft break= done"


# -- headers ---------------------------------------------------------------------------------------------------------
def test_rfc2047_subject_and_display_name() -> None:
    raw = mail(
        "From: =?utf-8?Q?Jos=C3=A9_N=C3=BA=C3=B1ez?= <Jose.Nunez@Example.COM>\n"
        "Subject: =?utf-8?B?wr9Ew7NuZGUg?=\n =?utf-8?B?ZXN0w6E=?= =?UTF-8?Q?_mi_pedido=F0=9F?=\n"
        " =?utf-8?Q?=93=A6?= \t?\n"
        'To: "Nunez, Jose" <jose@example.com>, =?iso-8859-1?q?Fran=E7ois?= <f@example.com>, garbage,, <>\n'
        "Cc: Team: a@example.com, b@example.com;\n"
        "Reply-To: =?utf-8?b?broken-base64?= <reply@example.com>",
        "body",
    )
    headers = parse_message(raw).headers
    assert headers.from_ == Address(name="José Núñez", email="jose.nunez@example.com")
    assert headers.subject == "¿Dónde está mi pedido📦 ?"
    assert [(item.name, item.email) for item in headers.to] == [
        ("Nunez, Jose", "jose@example.com"),
        ("François", "f@example.com"),
    ]
    assert [item.email for item in headers.cc] == ["a@example.com", "b@example.com"]
    assert [item.email for item in headers.reply_to] == ["reply@example.com"]


def test_raw_8bit_headers() -> None:
    raw = (
        "From: Jos\u00e9 <jose@example.com>\r\nSubject: Pedido n\u00ba 5\r\n\r\nx".encode()
        + b"\r\n"
        + b"Content-Type: text/plain\r\n"
    )
    headers = parse_message(raw).headers
    assert headers.subject == "Pedido nº 5"
    assert headers.from_ == Address(name="José", email="jose@example.com")
    latin = parse_message("Subject: Gr\u00fc\u00dfe\r\n\r\nx".encode("latin-1")).headers
    assert latin.subject == "Grüße"


def test_ids_references_and_triage_headers() -> None:
    raw = mail(
        "Message-ID: junk <abc@mail.example> more\n"
        "In-Reply-To: <parent@mail.example> (comment) <other@mail.example>\n"
        "References: <root@mail.example>\n <mid@mail.example>\t<parent@mail.example> <mid@mail.example>\n"
        "List-Id: Deals <deals.shop.example>\n"
        "List-Unsubscribe: <mailto:unsub@shop.example>,\n <https://shop.example/unsub>\n"
        "Auto-Submitted: auto-replied\nPrecedence: bulk\nReturn-Path: <>\n"
        "Date: Tue, 3 Apr 2012 16:55:26 +0400",
        "x",
    )
    headers = parse_message(raw).headers
    assert headers.message_id == "<abc@mail.example>"
    assert headers.in_reply_to == "<parent@mail.example>"
    assert headers.references == ["<root@mail.example>", "<mid@mail.example>", "<parent@mail.example>"]
    assert headers.list_id == "Deals <deals.shop.example>"
    assert headers.list_unsubscribe == "<mailto:unsub@shop.example>, <https://shop.example/unsub>"
    assert (headers.auto_submitted, headers.precedence, headers.return_path) == ("auto-replied", "bulk", "<>")
    assert headers.date == datetime(2012, 4, 3, 16, 55, 26, tzinfo=timezone(timedelta(hours=4)))
    assert parse_message(mail("Message-ID: abc@mail.example", "x")).headers.message_id == "<abc@mail.example>"
    assert parse_message(mail("Message-ID: nothing-here", "x")).headers.message_id is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 2 Apr 2012 18:22:10 -0000", datetime(2012, 4, 2, 18, 22, 10, tzinfo=UTC)),
        ("2 Apr 2012 18:22 GMT", datetime(2012, 4, 2, 18, 22, tzinfo=UTC)),
        ("yesterday-ish", None),
        ("Mon, 99 Foo 99999 99:99:99 +9999", None),
    ],
)
def test_dates(value: str, expected: datetime | None) -> None:
    assert parse_message(mail(f"Date: {value}", "x")).headers.date == expected


def test_authentication_results() -> None:
    raw = mail(
        "Authentication-Results: mx.google.com;\n"
        "       dkim=pass header.i=@shop.example header.s=s1 (comment dkim=fail);\n"
        "       spf=softfail (google.com: domain of x@y does not designate) smtp.mailfrom=x@y;\n"
        "       dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=Shop.Example\n"
        "Authentication-Results: attacker.example; spf=pass; dkim=pass; dmarc=pass header.from=evil.example",
        "x",
    )
    auth = parse_message(raw).headers.authentication
    assert (auth.spf, auth.dkim, auth.dmarc, auth.dmarc_domain) == ("softfail", "pass", "fail", "shop.example")
    none = parse_message(mail("Authentication-Results: mx.example; none", "x")).headers.authentication
    assert (none.spf, none.dkim, none.dmarc, none.dmarc_domain) == (None, None, None, None)
    temp = parse_message(mail("Authentication-Results: mx; spf=TempError smtp.mailfrom=a@b", "x")).headers
    assert temp.authentication.spf == "temperror"


def test_hidden_second_from_header_is_seen() -> None:
    """The obsolete 'From :' / folded syntax must not end the header block (a phishing trick)."""
    raw = mail("From\n : <attacker@evil.example>\nFrom: <boss@shop.example>\nSubject: Pay now", "x")
    parsed = parse_message(raw)
    assert parsed.headers.subject == "Pay now"
    assert parsed.headers.from_ is not None
    assert parsed.headers.from_.email == "attacker@evil.example"
    assert "From: the header appears 2 times" in parsed.headers.sender_problems


# -- upstream spam filters' headers ------------------------------------------------------------------------------------
def test_spam_filter_headers_are_surfaced_with_their_verdicts() -> None:
    raw = mail(
        """
X-Spam-Flag: YES
X-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99,RDNS_NONE,
\tURIBL_ABUSE_SURBL autolearn=no version=4.0.1
X-Spamd-Result: default: False [8.30 / 15.00];
\tFUZZY_DENIED(3.00)[1:71c2a1:1.00:txt]
X-Rspamd-Action: add header
X-Spam: Yes
X-Forefront-Antispam-Report: CIP:203.0.113.7;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:x;
X-MS-Exchange-Organization-SCL: 6
X-Spam-Flag: NO
From: a@example.com
Subject: hi
""",
        "body",
    )
    verdicts = parse_message(raw).headers.spam_verdicts
    assert [(v.header, v.spam, v.score, v.threshold) for v in verdicts] == [
        ("X-Spam-Flag", True, None, None),
        ("X-Spam-Status", True, 9.1, 5.0),
        ("X-Spamd-Result", False, 8.3, 15.0),  # below rspamd's reject score: the action header says what it did
        ("X-Rspamd-Action", True, None, None),
        ("X-Spam", True, None, None),
        ("X-Forefront-Antispam-Report", False, 1.0, None),
        ("X-MS-Exchange-Organization-SCL", True, 6.0, None),
        ("X-Spam-Flag", False, None, None),
    ]
    assert verdicts[1].value.startswith("Yes, score=9.1 required=5.0 tests=BAYES_99,RDNS_NONE, URIBL_ABUSE_SURBL")


@pytest.mark.parametrize(
    ("header", "spam"),
    [
        ("X-Spamd-Result: default: True [16.20 / 15.00]; BAYES_SPAM(5.10)", True),
        ("X-Spamd-Result: default: False [21.05 / 15.00]", True),
        ("X-Spamd-Result: garbage", None),
        ("X-Rspamd-Action: rewrite subject", True),
        ("X-Rspamd-Action: no action", False),
        ("X-Rspamd-Action: greylist", None),
        ("X-Spam-Status: No, score=-0.1 required=5.0", False),
        ("X-Spam-Flag: maybe", None),
        ("X-MS-Exchange-Organization-SCL: -1", False),
        ("X-Barracuda-Spam-Status: Yes, SCORE=8.61 using global scores of TAG_LEVEL=3.5", True),
    ],
)
def test_one_spam_header(header: str, spam: bool | None) -> None:
    verdicts = parse_message(mail(f"From: a@example.com\n{header}", "x")).headers.spam_verdicts
    assert [v.spam for v in verdicts] == [spam]


def test_no_spam_headers_and_autoresponder_header() -> None:
    plain = parse_message(mail("From: a@example.com\nSubject: hi", "x")).headers
    assert (plain.spam_verdicts, plain.autoreply) == ([], None)
    auto = parse_message(mail("From: a@example.com\nX-Autoreply: yes\nSubject: away", "x")).headers
    assert auto.autoreply == "yes"
    round_trip = Headers.model_validate(auto.model_dump(by_alias=True))
    assert round_trip == auto
