"""The quoted original end to end (`support-agent once`, Maildir): a customer's message is quoted back only to its
verified author, and never when it holds a link or an address the draft guard would refuse in the reply itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmail_mcp.maildir import MaildirBackend, deliver_message
from tests.orchestrator.adversarial_mail import (
    EMILY,
    MAILBOX,
    MALLORY,
    MARIA,
    OLIVER,
    base_env,
    draft_text,
    once,
    parse_draft,
    recipients,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

CANARY = "the parcel box was green and slightly crushed"
ASK = f"Hello, where is my order #1021? By the way, {CANARY}."
FORM = (
    "You received a new message from your online store's contact form.\r\n\r\nName:\r\nEmily Carter\r\n\r\n"
    f"Email:\r\n{EMILY}\r\n\r\nMessage:\r\nWhere is my order #1026? By the way, {CANARY}.\r\n"
)
FORM_AUTH = (
    "Authentication-Results: mx.aurora-activewear.example; dkim=pass header.d=shopify.com;"
    " dmarc=pass header.from=shopify.com\r\n"
)
CASES: dict[str, tuple[str, str, str, bool]] = {
    # name: (header lines, body, the draft's recipient, quoted)
    "author": (f"From: Maria <{MARIA}>\r\n", ASK, MARIA, True),
    "link": (f"From: Maria <{MARIA}>\r\n", f"{ASK}\r\nClaim it at https://evil.example/claim", MARIA, False),
    "hidden-link": (f"From: Maria <{MARIA}>\r\n", f"{ASK}\r\nSee evil.exa\u200bmple/claim", MARIA, False),
    "address": (f"From: Maria <{MARIA}>\r\n", f"{ASK}\r\nMy sister {EMILY} ordered too.", MARIA, False),
    "reply-to-rule": (f"From: Oliver <{OLIVER}>\r\nReply-To: <{MARIA}>\r\n", ASK, MARIA, False),
    "contact-form": (f"{FORM_AUTH}From: Shopify <mailer@shopify.com>\r\nReply-To: <{EMILY}>\r\n", FORM, EMILY, False),
    "unverified": (f"From: <{MARIA}>, <{MALLORY}>\r\n", ASK, MARIA, False),
}


def raw(name: str, lines: str, body: str) -> bytes:
    return (
        f"{lines}To: <{MAILBOX}>\r\nSubject: Question {name}\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{name}@quote.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    ).encode()


async def test_the_original_is_quoted_only_to_its_verified_author_and_only_when_clean(tmp_path: Path) -> None:
    root = tmp_path / "maildir"
    for name, (lines, body, _to, _quoted) in CASES.items():
        deliver_message(root, raw(name, lines, body))
    await once({**base_env(tmp_path), "GMAIL_BACKEND": "maildir", "GMAIL_MAILDIR": str(root)}, tmp_path)
    backend = MaildirBackend(root, address=MAILBOX)
    drafts = {parse_draft(r.message.raw)["In-Reply-To"]: r.message.raw for r in await backend.list_drafts(limit=20)}
    await backend.aclose()
    problems = []
    for name, (_lines, _body, to, quoted) in CASES.items():
        draft = drafts.get(f"<{name}@quote.example>")
        if draft is None:
            problems.append(f"{name}: no draft")
            continue
        text = draft_text(parse_draft(draft))
        if recipients(draft)[0] != [to]:
            problems.append(f"{name}: draft To {recipients(draft)[0]}, expected {to}")
        if (CANARY in text) != quoted:
            problems.append(f"{name}: the original is {'missing' if quoted else 'quoted'}")
        if "evil.example" in text or (EMILY in text and to != EMILY):
            problems.append(f"{name}: a link or an address of the original reached the draft")
    assert not problems, "\n".join(problems)
