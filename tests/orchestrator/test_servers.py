"""The orchestrator's MCP clients: both servers over real stdio; a server that dies is restarted, the call retried."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox, sandbox_files
from orchestrator.errors import ToolCallError
from orchestrator.servers import ServerSpec, ToolServers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def specs(tmp_path: Path, marker: str) -> tuple[ServerSpec, ServerSpec]:
    install_sandbox_mailbox(tmp_path / "maildir")
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "SUPPORT_AGENT_TEST_MARKER": marker}
    shopify = ServerSpec("shopify", module="shopify_mcp", env={**base, "SHOPIFY_TICKET_DB": str(tmp_path / "t.db")})
    gmail = ServerSpec(
        "gmail",
        module="gmail_mcp",
        env={**base, "GMAIL_BACKEND": "maildir", "GMAIL_MAILDIR": str(tmp_path / "maildir")},
    )
    return shopify, gmail


def pids_with(marker: str, module: str) -> list[int]:
    """Processes (Linux /proc) started with our marker in their environment, running `module`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"SUPPORT_AGENT_TEST_MARKER={marker}".encode() in environ and module.encode() in cmdline:
            found.append(int(entry.name))
    return found


async def test_both_servers_answer_and_report_tool_errors(tmp_path: Path) -> None:
    async with ToolServers(*specs(tmp_path, uuid.uuid4().hex)) as servers:
        new = await servers.gmail.call("list_new_messages", {})
        assert len(new["messages"]) == len(sandbox_files()[0])
        assert {t.name for t in await servers.shopify.tools()} >= {"lookup_order", "escalate_ticket"}
        with pytest.raises(ToolCallError, match="No order #9999"):
            await servers.shopify.call("lookup_order", {"order_number": "9999", "customer_email": "a@example.com"})


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc to find the child process")
async def test_a_killed_server_is_restarted_and_the_call_retried(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    async with ToolServers(*specs(tmp_path, marker)) as servers:
        await servers.shopify.call("get_policies", {"kind": "refund"})
        victims = pids_with(marker, "shopify_mcp")
        assert len(victims) == 1
        os.kill(victims[0], signal.SIGKILL)
        result = await servers.shopify.call("get_policies", {"kind": "shipping"})
        assert result["policies"][0]["type"] == "SHIPPING_POLICY"
        assert servers.shopify.restarts == 1
        assert pids_with(marker, "shopify_mcp") not in ([], victims)


async def test_remote_servers_over_streamable_http(tmp_path: Path) -> None:
    from tests.processes import http_server

    shopify_spec, gmail_spec = specs(tmp_path, uuid.uuid4().hex)
    async with (
        http_server("shopify_mcp", shopify_spec.env) as shopify_http,
        http_server("gmail_mcp", gmail_spec.env) as gmail_http,
        ToolServers(
            ServerSpec("shopify", url=f"{shopify_http.url}/mcp"), ServerSpec("gmail", url=f"{gmail_http.url}/mcp")
        ) as servers,
    ):
        new = await servers.gmail.call("list_new_messages", {})
        assert len(new["messages"]) == len(sandbox_files()[0])
        order = await servers.shopify.call(
            "lookup_order", {"order_number": "#1021", "customer_email": "maria.garcia@example.com"}
        )
        assert order["state"] == "partially_shipped"


def test_results_are_schema_checked_only_for_servers_we_do_not_spawn() -> None:
    assert ServerSpec("shopify", module="shopify_mcp").trusted
    assert not ServerSpec("shopify", url="https://tools.example.com/mcp").trusted
