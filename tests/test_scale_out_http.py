"""Both MCP servers as two replicas each, behind a round-robin balancer with no session affinity: real `shopify-mcp`
and `gmail-mcp` processes over Streamable HTTP on loopback, tickets in a real PostgreSQL database, the Maildir demo
inbox shared by the Gmail replicas, and `support-agent once` working the inbox through the two balancers.

The key check: a handshake-era client (protocol 2025-11-25, what the MCP Inspector speaks) whose consecutive requests
land on different replicas works against the stateless default, and breaks with `--stateful` (each replica knows
only the sessions it opened). 2026-07-28 clients have no sessions at all, so they work either way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest
from mcp import Client
from mcp.server import MCPServer

from support_core.embedded import serve_on_loopback
from support_core.transport import http_app
from support_testing.round_robin import RoundRobinProxy, serve_round_robin
from tests.processes import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MAILBOX = "support@aurora-activewear.example"
"""The demo inbox's own address (the sandbox mail is written to it)."""
SANDBOX_AUTHSERV_ID = "mx.aurora-activewear.example"
"""The demo mail server whose Authentication-Results the Gmail server is told to trust."""
HANDSHAKE = "legacy"
"""`Client(mode=...)` for the initialize handshake (protocol 2025-11-25), the era that has sessions."""
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"


# --- replicas and balancers -------------------------------------------------------------------------------------


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


async def start_replica(stack: AsyncExitStack, module: str, env: dict[str, str], log: Path, *flags: str) -> Replica:
    """`python -m <module> --transport streamable-http --port N [flags]`, ready once GET /health answers 200."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: ASYNC220 (start-up only; the wait below is async)
            [sys.executable, "-m", module, "--transport", "streamable-http", "--port", str(port), *flags],
            env=env,
            cwd=env["HOME"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    stack.callback(stop)
    replica = Replica(process, f"http://127.0.0.1:{port}", log)
    async with httpx.AsyncClient(timeout=2) as http:
        with anyio.fail_after(60):
            while True:
                assert process.poll() is None, f"{module} exited during start-up:\n{replica.log_tail()}"
                try:
                    if (await http.get(f"{replica.url}/health")).status_code == 200:
                        return replica
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.05)


@dataclass
class Balanced:
    """Replicas of one server behind a round-robin proxy; `url` is the proxy's MCP endpoint."""

    replicas: list[Replica]
    proxy: RoundRobinProxy
    url: str


@asynccontextmanager
async def balanced(
    module: str, env: dict[str, str], logs: Path, *flags: str, count: int = 2
) -> AsyncIterator[Balanced]:
    await anyio.Path(logs).mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        replicas: list[Replica] = []

        async def start(n: int) -> None:
            replicas.append(await start_replica(stack, module, env, logs / f"{module}-{n}.log", *flags))

        async with anyio.create_task_group() as tasks:
            for n in range(count):
                tasks.start_soon(start, n)
        proxy = RoundRobinProxy([replica.url for replica in replicas])
        base = await stack.enter_async_context(serve_round_robin(proxy))
        yield Balanced(replicas, proxy, f"{base}/mcp")


def base_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}


def shopify_env(home: Path, ticket_db: str) -> dict[str, str]:
    """The sandbox store (no SHOPIFY_STORE), tickets in `ticket_db`."""
    return {**base_env(home), "SHOPIFY_TICKET_DB": ticket_db}


def gmail_env(home: Path, maildir: Path) -> dict[str, str]:
    return {
        **base_env(home),
        "GMAIL_BACKEND": "maildir",
        "GMAIL_MAILDIR": str(maildir),
        "GMAIL_ADDRESS": MAILBOX,
        "GMAIL_AUTHSERV_IDS": SANDBOX_AUTHSERV_ID,
    }


def install_demo_inbox(maildir: Path) -> None:
    """The 22-message demo inbox, installed by the Gmail server's own command (`gmail-mcp sandbox DIR`)."""
    result = subprocess.run(
        [sys.executable, "-m", "gmail_mcp", "sandbox", str(maildir)],
        env=base_env(maildir.parent),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def tickets_in(database_url: str) -> list[dict[str, object]]:
    with psycopg.connect(database_url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT seq, category, customer_email, source FROM escalation_tickets ORDER BY seq")
        return [{"seq": r[0], "category": r[1], "customer_email": r[2], "source": r[3]} for r in cursor.fetchall()]


def text_of(result: object) -> str:
    return " ".join(getattr(c, "text", "") for c in getattr(result, "content", []))


# --- the key check: one session, many replicas -------------------------------------------------------------------


async def test_a_handshake_session_spread_over_two_shopify_replicas(tmp_path: Path, postgres_url: str) -> None:
    """Every request of one 2025-11-25 session goes to the other replica than the one before; the session still
    works, and a ticket one replica stores is listed by the other (PostgreSQL)."""
    env = shopify_env(tmp_path, postgres_url)
    async with balanced("shopify_mcp", env, tmp_path / "logs") as shop:
        async with Client(shop.url, mode=HANDSHAKE) as client:
            assert client.protocol_version == "2025-11-25"
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"lookup_order", "escalate_ticket", "list_tickets"} <= tools
            arguments = {"category": "ShippingDelivery", "customer_email": "ana@example.com", "summary": "Torn parcel"}
            ids = set()
            for _ in range(4):  # four tickets: at least two through each replica
                created = await client.call_tool("escalate_ticket", arguments)
                assert not created.is_error, text_of(created)
                assert created.structured_content is not None
                ids.add(created.structured_content["id"])
            for _ in range(2):
                listed = await client.call_tool("list_tickets", {"customer_email": "ana@example.com"})
                assert listed.structured_content is not None, text_of(listed)
                assert {t["id"] for t in listed.structured_content["tickets"]} == ids
        async with Client(shop.url) as modern:  # 2026-07-28: no session either way
            order = await modern.call_tool(
                "lookup_order", {"order_number": "#1021", "customer_email": "maria.garcia@example.com"}
            )
            assert not order.is_error, text_of(order)
    assert ids == {f"T-{n:06d}" for n in range(1, 5)}
    assert all(count >= 3 for count in shop.proxy.requests), shop.proxy.requests
    assert len(tickets_in(postgres_url)) == 4


async def test_stateful_replicas_lose_a_session_behind_the_balancer(tmp_path: Path, postgres_url: str) -> None:
    """`--stateful` keeps each session in the replica that opened it: the second request of the session lands on
    the other replica, which answers 404 'Session not found', so the client fails. (This is what stateless mode,
    the default, is for, and proves the check above would catch a regression.)"""
    env = shopify_env(tmp_path, postgres_url)
    async with balanced("shopify_mcp", env, tmp_path / "logs", "--stateful") as shop:
        with pytest.raises(Exception) as caught:  # the SDK wraps the 404 in a task group
            with anyio.fail_after(30):
                async with Client(shop.url, mode=HANDSHAKE) as client:
                    await client.list_tools()
                    await client.call_tool("list_promotions", {})
        assert "Session not found" in repr(caught.value) or "404" in repr(caught.value), repr(caught.value)
        logs = "".join(replica.log_tail() for replica in shop.replicas)
        assert "unknown or expired session ID" in logs


async def test_the_mcp_inspector_through_the_balancer(tmp_path: Path, postgres_url: str) -> None:
    """A third-party client (the MCP Inspector CLI, Node.js) negotiates 2025-11-25 and sends its handshake and its
    call as separate requests: with two stateless replicas they land on both, and the call succeeds."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx (Node.js) is not installed: the MCP Inspector CLI cannot run here")
    env = shopify_env(tmp_path, postgres_url)
    async with balanced("shopify_mcp", env, tmp_path / "logs") as shop:
        command = [npx, "-y", INSPECTOR, "--cli", shop.url, "--transport", "http", "--method", "tools/call"]
        command += ["--tool-name", "check_discount_code", "--tool-args-json", json.dumps({"code": "SUMMER25"})]
        inspector_env = {
            **os.environ,
            "MCP_STORAGE_DIR": str(tmp_path / "inspector"),
            "MCP_CATALOG_PATH": str(tmp_path / "inspector" / "mcp.json"),
            "npm_config_yes": "true",
        }
        with anyio.fail_after(300):
            result = await anyio.run_process(command, env=inspector_env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    payload = json.loads(result.stdout)
    assert payload.get("isError") is not True and payload["structuredContent"]["code"].upper() == "SUMMER25"
    assert all(count >= 1 for count in shop.proxy.requests), shop.proxy.requests


async def test_a_handshake_session_spread_over_two_gmail_replicas(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    install_demo_inbox(maildir)
    async with (
        balanced("gmail_mcp", gmail_env(tmp_path, maildir), tmp_path / "logs") as mail,
        Client(mail.url, mode=HANDSHAKE) as client,
    ):
        for _ in range(3):
            info = await client.call_tool("mailbox_info", {})
            assert info.structured_content is not None, text_of(info)
            assert info.structured_content["address"] == MAILBOX
            assert info.structured_content["backend"] == "maildir"
    assert all(count >= 2 for count in mail.proxy.requests), mail.proxy.requests


# --- stateless HTTP in process: what the SDK would otherwise do ------------------------------------------------


def echo_server() -> MCPServer:
    server = MCPServer("echo")

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


async def test_stateless_http_has_no_session_id_and_no_get_stream() -> None:
    """No `Mcp-Session-Id` (nothing ties a client to one replica), and `GET /mcp` is 405 at once instead of an
    event stream that would stay open and silent forever (tying up a connection and a proxy's)."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    for stateless in (True, False):
        app = http_app(echo_server(), "streamable-http", host="127.0.0.1", bearer_token=None, stateless=stateless)
        async with serve_on_loopback(app, name="echo", lifespan="on") as url, httpx.AsyncClient(timeout=5) as http:
            answer = await http.post(f"{url}/mcp", json=initialize, headers=headers)
            assert answer.status_code == 200
            assert ("mcp-session-id" in answer.headers) is not stateless
            if stateless:
                stream = await http.get(f"{url}/mcp", headers={**headers, "Accept": "text/event-stream"})
                assert stream.status_code == 405 and stream.headers["allow"] == "POST"
                assert "stateless" in stream.json()["error"]["message"]
            async with Client(f"{url}/mcp", mode=HANDSHAKE) as client:
                assert text_of(await client.call_tool("echo", {"text": "hi"})) == "hi"


def test_the_stateful_flag_is_documented_on_both_servers() -> None:
    for module in ("shopify_mcp", "gmail_mcp"):
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60, check=True
        )
        assert "--stateful" in result.stdout and "load balancer" in " ".join(result.stdout.split())


# --- the whole assistant through the balancers ------------------------------------------------------------------


async def test_the_orchestrator_works_the_demo_inbox_through_two_balancers(tmp_path: Path, postgres_url: str) -> None:
    """`support-agent once` over HTTP against two balancers, each in front of two replicas: every message ends in a
    final state with one draft per answered message (the demo's invariants), both replicas of each server did work,
    and the escalations are tickets in PostgreSQL."""
    from tests.orchestrator.test_crash_safety import check_final_state, snapshot

    folder = tmp_path / "sandbox"
    maildir = folder / "maildir"
    folder.mkdir()
    install_demo_inbox(maildir)
    sent_before = snapshot(maildir / ".Sent")
    ledger = folder / "ledger.sqlite3"
    async with (
        balanced("shopify_mcp", shopify_env(folder, postgres_url), tmp_path / "logs") as shop,
        balanced("gmail_mcp", gmail_env(folder, maildir), tmp_path / "logs") as mail,
    ):
        env = {
            **base_env(folder),
            "SUPPORT_AGENT_SHOPIFY_URL": shop.url,
            "SUPPORT_AGENT_GMAIL_URL": mail.url,
            "SUPPORT_AGENT_LEDGER": str(ledger),
            "SUPPORT_AGENT_MAILBOX": MAILBOX,
        }
        with anyio.fail_after(300):
            run = await anyio.run_process(
                [sys.executable, "-m", "orchestrator", "once"], env=env, cwd=folder, check=False
            )
        output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
        logs = "".join(replica.log_tail() for replica in [*shop.replicas, *mail.replicas])
        assert run.returncode == 0, f"support-agent once failed ({run.returncode}):\n{output[-4000:]}\n{logs}"

    await check_final_state(folder, sent_before, str(ledger))
    assert all(count >= 2 for count in shop.proxy.requests), shop.proxy.requests
    assert all(count >= 2 for count in mail.proxy.requests), mail.proxy.requests
    tickets = tickets_in(postgres_url)
    categories = {ticket["category"] for ticket in tickets}
    assert {"InternalAlert", "CustomerComplaintsSatisfaction"} <= categories, (tickets, output[-3000:])
