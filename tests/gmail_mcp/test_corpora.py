"""Every real-world message of the shared corpora goes through the `get_message` tool and comes out as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client

from gmail_mcp.mailbox import Mailbox
from gmail_mcp.maildir import MaildirBackend, deliver_message
from gmail_mcp.server import create_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_every_corpus_message_reads_through_get_message(
    shared_dir: Path, tmp_path: Path, report: Callable[[str], None]
) -> None:
    files = sorted((shared_dir / "corpora" / "mime").rglob("*.eml"))
    assert len(files) >= 318
    root = tmp_path / "maildir"
    for path in files:
        deliver_message(root, path.read_bytes())
    backend = MaildirBackend(root, address="support@aurora-activewear.example")
    mailbox = Mailbox(backend, fallback_query="in:inbox", max_body_chars=100_000)
    failures: list[str] = []
    with_text = 0
    try:
        async with Client(create_server(mailbox, backend_name="maildir")) as client:
            listed = (await client.call_tool("list_new_messages", {"limit": 500})).structured_content
            assert listed is not None
            ids = [m["id"] for m in listed["messages"]]
            assert len(ids) == len(files), "every delivered message is listed"
            for message_id in ids:
                result = await client.call_tool("get_message", {"message_id": message_id})
                if result.is_error or result.structured_content is None:
                    failures.append(message_id)
                    continue
                assert isinstance(result.structured_content["text"], str)
                with_text += bool(result.structured_content["text"].strip())
    finally:
        await backend.aclose()
    assert failures == []
    report(f"get_message read {len(files)} corpus messages without an error; {with_text} have non-empty text")
