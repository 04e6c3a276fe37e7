"""Every Gmail tool through the in-memory MCP client, against each backend: Maildir, Gmail via the emulator, and
IMAP against a real Dovecot."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from mcp import Client
from mcp.types import CallToolResult

from gmail_mcp.gmail_api import GmailApiBackend
from gmail_mcp.imap import ImapBackend
from gmail_mcp.imap_connection import ImapConnection, ImapEndpoint
from gmail_mcp.mailbox import Mailbox
from gmail_mcp.maildir import MaildirBackend, deliver_message
from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox, sandbox_files
from gmail_mcp.server import create_server
from support_core.retry import RetryPolicy
from support_testing.dovecot import PASSWORD, DovecotServer
from support_testing.gmail_emulator import EMULATOR_TOKEN, GmailEmulator, serve_emulator

pytestmark = pytest.mark.anyio
OWN = "support@aurora-activewear.example"
NEW_MAIL = (
    b"From: Ana Costa <ana.costa@example.com>\r\nTo: support@aurora-activewear.example\r\n"
    b"Subject: Size question\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <new-1@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nDo the leggings run small?\r\n"
)


@dataclass
class Setup:
    client: Client
    kind: str
    emulator: GmailEmulator | None
    root: Path | None
    imap: tuple[DovecotServer, str] | None = None

    def deliver(self, raw: bytes) -> None:
        if self.emulator is not None:
            self.emulator.deliver(raw)
        elif self.imap is not None:
            self.imap[0].deliver(self.imap[1], raw)
        else:
            assert self.root is not None
            deliver_message(self.root, raw)


def load_emulator(emulator: GmailEmulator) -> None:
    inbox, sent = sandbox_files()
    for path in sent:
        emulator.deliver(path.read_bytes(), labels=("SENT",))
    for path in inbox:
        emulator.deliver(path.read_bytes())


@pytest.fixture(params=["maildir", "gmail", "imap"])
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    if request.param == "imap":
        dovecot: DovecotServer = request.getfixturevalue("dovecot")
        user = dovecot.new_user()
        assert dovecot.load_sandbox(user) > 15
        endpoint = ImapEndpoint(dovecot.host, dovecot.port, user, PASSWORD, tls="none", timeout=10)
        imap = ImapBackend(ImapConnection(endpoint, RetryPolicy(0.01, 0.05, 3)), address=OWN)
        mailbox = Mailbox(imap, fallback_query="in:inbox", max_body_chars=100_000)
        try:
            async with Client(create_server(mailbox, backend_name="imap")) as client:
                yield Setup(client, "imap", None, None, (dovecot, user))
        finally:
            await imap.aclose()
        return
    if request.param == "maildir":
        root = tmp_path / "maildir"
        assert install_sandbox_mailbox(root) > 15
        mailbox = Mailbox(MaildirBackend(root, address=OWN), fallback_query="in:inbox", max_body_chars=100_000)
        async with Client(create_server(mailbox, backend_name="maildir")) as client:
            yield Setup(client, "maildir", None, root)
        await mailbox.backend.aclose()
        return
    emulator = GmailEmulator(address=OWN, strict_threading=True)
    load_emulator(emulator)
    async with serve_emulator(emulator) as url:
        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=EMULATOR_TOKEN, refresh_token="r", token_uri=f"{url}/token", client_id="c", client_secret="s"
        )
        backend = GmailApiBackend(credentials, api_endpoint=url, backoff=RetryPolicy(0.01, 0.05, 3))
        mailbox = Mailbox(backend, fallback_query="in:inbox", max_body_chars=100_000)
        try:
            async with Client(create_server(mailbox, backend_name="gmail")) as client:
                yield Setup(client, "gmail", emulator, None)
        finally:
            await backend.aclose()


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, " ".join(getattr(c, "text", "") for c in result.content)
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


async def find(setup: Setup, query: str) -> dict[str, Any]:
    found = ok(await setup.client.call_tool("search_messages", {"query": query}))["messages"]
    assert found, f"nothing matches {query!r}"
    return found[0]


async def test_tools_and_no_send_tool(setup: Setup) -> None:
    tools = {t.name: t for t in (await setup.client.list_tools()).tools}
    assert set(tools) == {
        "list_new_messages", "search_messages", "get_message", "get_thread", "create_reply_draft",
        "list_drafts", "mark_read", "modify_labels", "mailbox_info", "diagnose",
    }  # fmt: skip
    assert not any("send" in name for name in tools)
    read_only = ("list_new_messages", "search_messages", "get_message", "get_thread", "list_drafts")
    for name in (*read_only, "mailbox_info", "diagnose"):
        assert tools[name].annotations is not None and tools[name].annotations.read_only_hint
    draft = tools["create_reply_draft"].annotations
    assert draft is not None and draft.destructive_hint is False and draft.read_only_hint is False


async def test_incremental_sync(setup: Setup) -> None:
    first = ok(await setup.client.call_tool("list_new_messages", {}))
    assert first["full_sync"] is True and len(first["messages"]) == len(sandbox_files()[0])
    again = ok(await setup.client.call_tool("list_new_messages", {"cursor": first["cursor"]}))
    assert again["messages"] == [] and again["full_sync"] is False
    setup.deliver(NEW_MAIL)
    found = await find(setup, "rfc822msgid:<new-1@example.com>")
    ok(await setup.client.call_tool("mark_read", {"message_ids": [found["id"]]}))  # a person opened it already
    latest = ok(await setup.client.call_tool("list_new_messages", {"cursor": again["cursor"]}))
    assert [m["id"] for m in latest["messages"]] == [found["id"]], "mail read by a person is still delivered"


async def test_asking_to_wait_watches_the_inbox_only_where_the_server_can(setup: Setup) -> None:
    first = ok(await setup.client.call_tool("list_new_messages", {}))
    assert first["waited"] is False
    asked = {"cursor": first["cursor"], "wait_seconds": 0.5}
    started = time.monotonic()
    quiet = ok(await setup.client.call_tool("list_new_messages", asked))
    assert quiet["messages"] == [] and quiet["waited"] is (setup.kind == "imap"), "only IMAP has IDLE"
    assert (time.monotonic() - started >= 0.45) is (setup.kind == "imap"), "the others answer at once"
    setup.deliver(NEW_MAIL)
    found = ok(await setup.client.call_tool("list_new_messages", asked))
    assert len(found["messages"]) == 1 and found["waited"] is False, "mail is there: no wait"
    too_long = await setup.client.call_tool("list_new_messages", {**asked, "wait_seconds": 301})
    assert too_long.is_error


async def test_stale_cursor_falls_back_to_a_query(setup: Setup) -> None:
    result = ok(await setup.client.call_tool("list_new_messages", {"cursor": "1"}))
    assert result["full_sync"] is True and result["messages"]


async def test_message_is_parsed(setup: Setup) -> None:
    summary = await find(setup, "rfc822msgid:<CAF5m2kQ8vR3n-wYt7Lp0e9xZ1bD@mail.example.com>")
    message = ok(await setup.client.call_tool("get_message", {"message_id": summary["id"]}))
    assert message["headers"]["from"]["email"] == "maria.garcia@example.com"
    assert message["headers"]["message_id"].startswith("<")
    assert message["unread"] is True and message["from_me"] is False
    assert "#1021" in message["text"] and message["new_text"]


async def test_thread_is_chronological_with_both_sides(setup: Setup) -> None:
    summary = await find(setup, "from:maria.garcia@example.com subject:1021")
    thread = ok(await setup.client.call_tool("get_thread", {"thread_id": summary["thread_id"]}))
    dates = [m["received_at"] for m in thread["messages"]]
    assert dates == sorted(dates)
    assert any(m["from_me"] for m in thread["messages"]), "the shop's earlier answer is part of the thread"
    assert sum(not m["from_me"] for m in thread["messages"]) >= 2


async def test_reply_draft_is_threaded_addressed_and_idempotent(setup: Setup) -> None:
    summary = await find(setup, "from:oliver.bennett@example.net")
    original = ok(await setup.client.call_tool("get_message", {"message_id": summary["id"]}))
    args = {"message_id": summary["id"], "body_text": "Hi Oliver, your UPS parcel is late; we are on it."}
    draft = ok(await setup.client.call_tool("create_reply_draft", args))
    assert draft["created"] is True
    assert draft["thread_id"] == original["thread_id"]
    assert [a["email"] for a in draft["to"]] == ["oliver.bennett@example.net"]
    assert draft["in_reply_to"] == original["headers"]["message_id"]
    assert draft["subject"] == "Re: " + original["headers"]["subject"].removeprefix("Re: ")
    again = ok(await setup.client.call_tool("create_reply_draft", {**args, "body_text": "second attempt"}))
    assert again["created"] is False and again["message_id"] == draft["message_id"]
    assert again["id"] == draft["id"], "the existing draft's id, not its message's (they differ on Gmail)"
    if setup.kind == "gmail":
        assert draft["id"] != draft["message_id"]
    drafts = ok(await setup.client.call_tool("list_drafts", {}))["drafts"]
    assert [d["message_id"] for d in drafts].count(draft["message_id"]) == 1 and len(drafts) == 1
    thread = ok(await setup.client.call_tool("get_thread", {"thread_id": original["thread_id"]}))
    in_thread = [m for m in thread["messages"] if "DRAFT" in m["labels"]]
    assert len(in_thread) == 1 and in_thread[0]["from_me"]


async def test_the_draft_goes_to_one_sender_address_only(setup: Setup) -> None:
    """`to` must be one of the message's own sender addresses: never a third party, and never two addresses."""
    summary = await find(setup, "from:oliver.bennett@example.net")
    base = {"message_id": summary["id"], "body_text": "Hi"}
    for wrong in ("mallory@evil.example", "oliver.bennett@example.net, mallory@evil.example"):
        result = await setup.client.call_tool("create_reply_draft", {**base, "to": wrong})
        assert result.is_error, wrong
    draft = ok(await setup.client.call_tool("create_reply_draft", {**base, "to": "Oliver.Bennett@Example.net"}))
    assert [a["email"] for a in draft["to"]] == ["oliver.bennett@example.net"]


async def test_ambiguous_sender_headers_need_an_explicit_recipient(setup: Setup) -> None:
    raw = (
        b"From: maria.garcia@example.com <mallory@evil.example>\r\nTo: support@aurora-activewear.example\r\n"
        b"Subject: order\r\nMessage-ID: <ambiguous@evil.example>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nHi\r\n"
    )
    setup.deliver(raw)
    summary = await find(setup, "rfc822msgid:<ambiguous@evil.example>")
    message = ok(await setup.client.call_tool("get_message", {"message_id": summary["id"]}))
    assert message["headers"]["from"]["email"] == "mallory@evil.example"
    assert "From: the display name holds an address" in message["headers"]["sender_problems"]
    refused = await setup.client.call_tool("create_reply_draft", {"message_id": summary["id"], "body_text": "Hi"})
    assert refused.is_error and "ambiguous" in str(refused.content)
    arguments = {"message_id": summary["id"], "body_text": "Hi", "to": "mallory@evil.example"}
    draft = ok(await setup.client.call_tool("create_reply_draft", arguments))
    assert [a["email"] for a in draft["to"]] == ["mallory@evil.example"]


async def test_contact_form_reply_goes_to_the_customer(setup: Setup) -> None:
    summary = await find(setup, "from:mailer@shopify.com")
    draft = ok(
        await setup.client.call_tool("create_reply_draft", {"message_id": summary["id"], "body_text": "Thanks!"})
    )
    assert all(a["email"] != "mailer@shopify.com" for a in draft["to"])


async def test_labels_and_read_state(setup: Setup) -> None:
    summary = await find(setup, "from:lena.mueller@example.com")
    result = ok(
        await setup.client.call_tool(
            "modify_labels", {"message_ids": [summary["id"]], "add": ["support/processed"], "remove": ["UNREAD"]}
        )
    )
    assert result["modified"] == 1 and result["created_labels"] == ["support/processed"]
    message = ok(await setup.client.call_tool("get_message", {"message_id": summary["id"]}))
    assert "support/processed" in message["labels"] and message["unread"] is False
    second = ok(
        await setup.client.call_tool("modify_labels", {"message_ids": [summary["id"]], "add": ["support/processed"]})
    )
    assert second["created_labels"] == []
    labelled = ok(await setup.client.call_tool("search_messages", {"query": "label:support/processed"}))
    assert [m["id"] for m in labelled["messages"]] == [summary["id"]]


async def test_bad_arguments_are_refused_clearly(setup: Setup) -> None:
    assert error_text(await setup.client.call_tool("get_message", {"message_id": "../../etc/passwd"}))
    missing = await setup.client.call_tool("get_message", {"message_id": "doesnotexist123"})
    assert missing.is_error
    summary = await find(setup, "from:giulia.rossi@example.com")
    empty = await setup.client.call_tool("create_reply_draft", {"message_id": summary["id"], "body_text": "   "})
    assert "body_text" in error_text(empty)
    forbidden = await setup.client.call_tool("modify_labels", {"message_ids": [summary["id"]], "add": ["SENT"]})
    assert "cannot be changed" in error_text(forbidden)


@pytest.mark.parametrize("setup", ["gmail"], indirect=True)
async def test_gmail_draft_as_received_by_gmail(setup: Setup) -> None:
    """The raw MIME the Gmail emulator stored: headers, threading, encodings, escaping; and nothing was sent."""
    assert setup.emulator is not None
    summary = await find(setup, "from:zoe.dubois@example.net")
    original = ok(await setup.client.call_tool("get_message", {"message_id": summary["id"]}))
    body = "Bonjour Zoé, <b>votre retour</b> est en cours & sera remboursé."
    draft = ok(await setup.client.call_tool("create_reply_draft", {"message_id": summary["id"], "body_text": body}))
    stored = setup.emulator.message(draft["message_id"])
    received = message_from_bytes(stored.raw, policy=default)
    assert received["In-Reply-To"] == original["headers"]["message_id"]
    assert original["headers"]["message_id"] in received["References"]
    assert received["To"].addresses[0].addr_spec == "zoe.dubois@example.net"
    parts = {p.get_content_type(): p.get_content() for p in received.walk() if not p.is_multipart()}
    assert body in parts["text/plain"].replace("\r\n", "\n")
    assert "&lt;b&gt;votre retour&lt;/b&gt;" in parts["text/html"]
    assert stored.raw.split(b"\r\n\r\n", 1)[0].isascii()
    assert setup.emulator.send_attempts == []
