"""Invariant 2 on the Gmail backend: when drafting keeps failing, the message ends unread with `needs-human`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gmail_mcp.sandbox_mailbox import sandbox_files
from orchestrator.config import load_config
from orchestrator.daemon import Daemon
from orchestrator.ledger import Ledger
from orchestrator.models import Verdict
from orchestrator.servers import ServerSpec, ToolServers
from support_testing.gmail_emulator import GmailEmulator, serve_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_failing_drafts_end_unread_with_needs_human(tmp_path: Path) -> None:
    emulator = GmailEmulator()
    inbox, sent = sandbox_files()
    for path in sent:
        emulator.deliver(path.read_bytes(), labels=("SENT",))
    for path in inbox:
        emulator.deliver(path.read_bytes())
    emulator.faults.http_status(500, 10_000, method="users.drafts.create")
    config = load_config()
    config = config.model_copy(update={"daemon": config.daemon.model_copy(update={"max_attempts": 1})})
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    async with serve_emulator(emulator) as url:
        token = {"token": "", "refresh_token": "r", "token_uri": f"{url}/token", "client_id": "c", "client_secret": "s"}
        gmail_env = {**base, "GOOGLE_TOKEN_JSON": json.dumps(token), "GMAIL_API_ENDPOINT": url,
                     "GMAIL_MAX_RETRIES": "1", "GMAIL_RETRY_BASE_DELAY": "0.01"}  # fmt: skip
        shopify = ServerSpec("shopify", module="shopify_mcp", env={**base, "SHOPIFY_TICKET_DB": str(tmp_path / "t.db")})
        gmail = ServerSpec("gmail", module="gmail_mcp", env=gmail_env)
        async with ToolServers(shopify, gmail) as servers, Ledger(tmp_path / "ledger.sqlite3") as ledger:
            daemon = Daemon(servers, ledger, config, own_address=emulator.address, worker="w")
            outcomes = await daemon.run_once()
            counts = await ledger.counts_by_state()
    answered_ids = {o.message_id for o in outcomes if o.verdict is Verdict.PROCESS}
    assert not answered_ids and not emulator.mailbox.drafts, "no message reached a draft"
    assert counts["needs_human"] >= 10 and counts["done"] == 0
    label = emulator.label_id("needs-human")
    stuck = [m for m in emulator.mailbox.messages.values() if label in m.label_ids]
    assert len(stuck) == counts["needs_human"]
    assert all("UNREAD" in m.label_ids for m in stuck), "a message that needs a person stays unread"
    assert emulator.send_attempts == []
