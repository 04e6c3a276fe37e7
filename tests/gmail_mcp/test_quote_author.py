"""gmail-mcp quotes the original only back to its author: a reply to a Reply-To, to a contact form's customer or to
one of several From addresses never carries the message's text (an attacker's words to somebody else)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gmail_mcp.mailbox import Mailbox
from gmail_mcp.maildir import MaildirBackend, deliver_message
from gmail_mcp.mime import parse_message

pytestmark = pytest.mark.anyio
OWN = "support@aurora-activewear.example"
MARIA, MALLORY, EMILY = "maria.garcia@example.com", "mallory@evil.example", "emily.carter@example.com"
CANARY = "The parcel box was green and slightly crushed"


def raw(name: str, lines: str) -> bytes:
    return (
        f"{lines}To: <{OWN}>\r\nSubject: Parcel\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{name}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{CANARY}.\r\n"
    ).encode()


@pytest.fixture
async def mailbox(tmp_path: Path) -> AsyncIterator[tuple[Mailbox, Path]]:
    root = tmp_path / "maildir"
    box = Mailbox(MaildirBackend(root, address=OWN), fallback_query="in:inbox", max_body_chars=100_000)
    yield box, root
    await box.backend.aclose()


async def drafted(mailbox: tuple[Mailbox, Path], lines: str, to: str) -> str:
    """The text of the draft answering a message with these headers, quote requested, to `to`."""
    box, root = mailbox
    message_id = deliver_message(root, raw(uuid.uuid4().hex, lines))
    draft = await box.create_reply_draft(message_id, "Thank you for writing.", to=to, quote=True)
    records = await box.backend.list_drafts(limit=10)
    mine = next(record for record in records if record.id == draft.id)
    return parse_message(mine.message.raw).text


async def test_the_author_gets_the_quote(mailbox: tuple[Mailbox, Path]) -> None:
    """The control: quoting works, so its absence below means something."""
    assert CANARY in await drafted(mailbox, f"From: Maria <{MARIA}>\r\n", MARIA)


@pytest.mark.parametrize(
    ("lines", "to"),
    [
        (f"From: Maria <{MARIA}>\r\nReply-To: <{MALLORY}>\r\n", MALLORY),  # the Reply-To rule picks another address
        (f"From: <{MALLORY}>\r\nReply-To: <{MARIA}>\r\n", MARIA),
        (f"From: Shopify <mailer@shopify.com>\r\nReply-To: Emily <{EMILY}>\r\n", EMILY),  # a contact form
        (f"From: <{MARIA}>, <{MALLORY}>\r\n", MARIA),  # one of several authors is not the author
    ],
)
async def test_nobody_else_gets_the_quote(mailbox: tuple[Mailbox, Path], lines: str, to: str) -> None:
    text = await drafted(mailbox, lines, to)
    assert "Thank you for writing." in text and CANARY not in text
