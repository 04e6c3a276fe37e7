"""The IMAP backend on Gmail's extensions (X-GM-THRID, X-GM-LABELS), against the loopback fake of Gmail's IMAP server
(`support_testing.fake_gmail_imap`): the only features Dovecot cannot serve."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gmail_mcp.imap import ImapBackend
from gmail_mcp.imap_connection import ImapConnection, ImapEndpoint
from gmail_mcp.mailbox import Mailbox
from support_core.retry import RetryPolicy
from support_testing.fake_gmail_imap import PASSWORD, FakeGmailImap, serve_fake_gmail

pytestmark = pytest.mark.anyio
OWN = "shop@gmail.example"


def mail(name: str, subject: str, extra: str = "", sender: str = "Ana <ana@example.com>") -> bytes:
    return (
        f"From: {sender}\r\nTo: {OWN}\r\nSubject: {subject}\r\nMessage-ID: <{name}@example.com>\r\n{extra}"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Message {name}: where is order #1019?\r\n"
    ).encode()


@pytest.fixture
def fake() -> Iterator[tuple[FakeGmailImap, int]]:
    gmail = FakeGmailImap(OWN)
    with serve_fake_gmail(gmail) as port:
        yield gmail, port


@pytest.fixture
async def backend(fake: tuple[FakeGmailImap, int]) -> AsyncIterator[ImapBackend]:
    _gmail, port = fake
    endpoint = ImapEndpoint("127.0.0.1", port, OWN, PASSWORD, tls="none", timeout=5)
    imap = ImapBackend(ImapConnection(endpoint, RetryPolicy(0.01, 0.05, 2)), address=OWN)
    try:
        yield imap
    finally:
        await imap.aclose()


async def test_threads_are_gmails_own_conversations(fake: tuple[FakeGmailImap, int], backend: ImapBackend) -> None:
    gmail, _port = fake
    thread = gmail.deliver(mail("first", "Order 1019"))
    gmail.deliver(mail("second", "Order 1019 again"), thread=thread)  # no References: only X-GM-THRID links it
    gmail.deliver(mail("other", "Sizes"))
    sent = mail("answer", "Re: Order 1019", "In-Reply-To: <first@example.com>\r\n", sender=f"Shop <{OWN}>")
    assert gmail.deliver(sent, folder="[Gmail]/Sent Mail", flags=("\\Seen",)) == thread

    changes = await backend.changes(None, fallback_query="in:inbox", limit=10)
    assert backend.gmail and len(changes.message_ids) == 3
    first = await backend.fetch(changes.message_ids[0])
    assert first.thread_id == f"{thread:x}", "the thread id is X-GM-THRID in hex, as the Gmail API names it"
    messages = await backend.fetch_thread(first.thread_id)
    assert [m.raw.split(b"\r\n")[3] for m in messages] == [
        b"Message-ID: <first@example.com>",
        b"Message-ID: <second@example.com>",
        b"Message-ID: <answer@example.com>",
    ]
    assert "SENT" in messages[2].labels and "UNREAD" in messages[0].labels
    assert "UID SEARCH" in gmail.commands


async def test_a_reply_draft_lands_in_gmails_drafts_in_the_thread_once(
    fake: tuple[FakeGmailImap, int], backend: ImapBackend
) -> None:
    gmail, _port = fake
    thread = gmail.deliver(mail("first", "Order 1019"))
    mailbox = Mailbox(backend, fallback_query="in:inbox", max_body_chars=100_000)
    (message_id,) = (await backend.changes(None, fallback_query="in:inbox", limit=10)).message_ids
    await mailbox.message(message_id)
    draft = await mailbox.create_reply_draft(message_id, "Hi Ana, it ships today.")
    again = await mailbox.create_reply_draft(message_id, "a second attempt")
    assert draft.created and not again.created and again.id == draft.id
    stored = list(gmail.folders["[Gmail]/Drafts"].messages.values())
    assert len(stored) == 1 and {"\\Draft", "\\Seen"} <= stored[0].flags
    assert stored[0].thrid == thread and draft.thread_id == f"{thread:x}"
    assert [d.id for d in await backend.list_drafts(limit=5)] == [draft.id]


async def test_labels_are_gmail_labels_not_keywords(fake: tuple[FakeGmailImap, int], backend: ImapBackend) -> None:
    gmail, _port = fake
    gmail.deliver(mail("first", "Order 1019"))
    (message_id,) = (await backend.changes(None, fallback_query="in:inbox", limit=10)).message_ids
    assert await backend.modify([message_id], add=["support/processed"], remove=["UNREAD"]) == ["support/processed"]
    assert await backend.modify([message_id], add=["support/processed"], remove=[]) == []
    stored = gmail.folders["INBOX"].messages[1]
    assert "support/processed" in stored.labels and stored.flags == {"\\Seen"}, "a Gmail label, not a keyword"
    labels = (await backend.fetch(message_id)).labels
    assert labels[0] == "INBOX" and "UNREAD" not in labels and "support/processed" in labels
    assert (await backend.search("label:support-processed", limit=5))[0] == [message_id]
