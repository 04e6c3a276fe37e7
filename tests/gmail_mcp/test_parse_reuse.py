"""A pass over one message parses it once: get_thread and create_reply_draft reuse get_message's parse, with the same
answers as a mailbox that parses everything afresh; a draft's summary reads only its headers, the same headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmail_mcp.mailbox import PARSED_KEPT, Mailbox
from gmail_mcp.maildir import MaildirBackend
from gmail_mcp.mime import parse_headers, parse_message
from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox, sandbox_files

OWN = "support@aurora-activewear.example"


def mailbox(root: Path) -> Mailbox:
    return Mailbox(MaildirBackend(root, address=OWN), fallback_query="in:inbox", max_body_chars=100_000)


@pytest.mark.anyio
async def test_a_pass_reads_what_a_fresh_parse_gives(tmp_path: Path) -> None:
    root = tmp_path / "maildir"
    install_sandbox_mailbox(root)
    remembering, fresh = mailbox(root), mailbox(root)
    try:
        listed = await remembering.new_messages(None, limit=100)
        assert len(listed.messages) > 15
        for ref in listed.messages:
            message = await remembering.message(ref.id)
            thread = await remembering.thread(message.thread_id)
            fresh._parsed.clear()
            assert message == await fresh.message(ref.id)
            fresh._parsed.clear()
            assert thread == await fresh.thread(message.thread_id)
            assert message in thread.messages  # the thread's copy is the same parse
        assert 0 < len(remembering._parsed) <= PARSED_KEPT
        ref = listed.messages[-1]
        draft = await remembering.create_reply_draft(ref.id, "Thank you, we are on it.")
        assert draft.created and draft.thread_id == (await fresh.message(ref.id)).thread_id
    finally:
        await remembering.backend.aclose()
        await fresh.backend.aclose()


def test_headers_alone_decode_as_the_whole_parse_does(shared_dir: Path) -> None:
    inbox, sent = sandbox_files()
    corpus = sorted((shared_dir / "corpora" / "mime").rglob("*.eml"))
    assert len(corpus) >= 300
    broken = b'From: =?utf-8?q?=C3=28?= <a@example.com>\nTo: b@example.com, "x" <c@\nSubject: =?bogus?b?@@?=\n\nbody'
    for raw in [path.read_bytes() for path in (*inbox, *sent, *corpus)] + [broken, b"", b"\x00\xff"]:
        assert parse_headers(raw) == parse_message(raw).headers
