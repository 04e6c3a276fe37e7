"""The real `shopify-mcp` process over stdio, Streamable HTTP and SSE, against the emulator on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from shopify_mcp.emulator import SANDBOX_TOKEN, ShopifyEmulator, load_sandbox_store, serve_emulator
from tests.processes import RunningServer, http_server
from tests.shopify_mcp.support import OWNER, error_text, ok

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
TOKEN = "test-bearer-token-0123456789"


@pytest.fixture
async def emulator_url(emulator: ShopifyEmulator) -> AsyncIterator[str]:
    async with serve_emulator(emulator) as url:
        yield url


def server_env(tmp_path: Path, emulator_url: str, **extra: str) -> dict[str, str]:
    """Everything the server needs, passed explicitly (the stdio client forwards almost no environment)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SHOPIFY_STORE": emulator_url,
        "SHOPIFY_ACCESS_TOKEN": SANDBOX_TOKEN,
        "SHOPIFY_TICKET_DB": str(tmp_path / "tickets.sqlite3"),
        "SHOPIFY_RETRY_BASE_DELAY": "0.01",
        **extra,
    }


async def test_stdio_server_answers_from_the_store_it_is_given(
    tmp_path: Path, emulator_url: str, emulator: ShopifyEmulator
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "shopify_mcp"], env=server_env(tmp_path, emulator_url), cwd=str(tmp_path)
    )
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "lookup_order" in tools
        order = ok(await client.call_tool("lookup_order", {"order_number": "#1021", "customer_email": OWNER}))
        assert order["state"] == "partially_shipped"
        refused = await client.call_tool("lookup_order", {"order_number": "#1021", "customer_email": "x@example.net"})
        assert "No order" in error_text(refused)
    assert [r.operation for r in emulator.requests] == ["OrderByName", "OrderByName"]


async def test_stdio_server_spreads_a_burst_instead_of_being_throttled(tmp_path: Path) -> None:
    """Twelve concurrent product searches (~430 points each) against a 1,000-point bucket refilling at 500/s: the
    server's client waits for capacity, so Shopify answers THROTTLED at most once, and every call succeeds."""
    small = ShopifyEmulator(store=load_sandbox_store(), bucket_size=1000, restore_rate=500)
    results: list[bool] = []
    async with serve_emulator(small) as url:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "shopify_mcp"], env=server_env(tmp_path, url), cwd=str(tmp_path)
        )
        async with Client(params) as client:

            async def search() -> None:
                result = await client.call_tool("search_products", {"query": "compression"})
                results.append(not result.is_error)

            async with anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(search)
    assert results == [True] * 12
    throttled = sum(1 for r in small.requests if r.throttled)
    assert throttled <= 1, f"{throttled} THROTTLED answers: the client should wait instead"


StartServer = Callable[..., AbstractAsyncContextManager[RunningServer]]


@pytest.fixture
def start_server(tmp_path: Path, emulator_url: str) -> StartServer:
    """`shopify-mcp` on an HTTP transport, pointed at the loopback emulator."""

    def start(transport: str = "streamable-http", **env: str) -> AbstractAsyncContextManager[RunningServer]:
        return http_server("shopify_mcp", server_env(tmp_path, emulator_url, **env), transport=transport)

    return start


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


async def test_streamable_http_end_to_end(start_server: StartServer) -> None:
    async with start_server() as server, Client(f"{server.url}/mcp") as client:
        product = ok(await client.call_tool("get_product", {"handle": "cork-yoga-mat"}))
        assert product["title"]
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{server.url}/health")).json()["status"] == "ok"


async def test_http_refuses_foreign_host_and_origin(start_server: StartServer) -> None:
    async with start_server() as server, httpx.AsyncClient() as http:
        evil_host = await http.post(
            f"{server.url}/mcp", json=LIST_TOOLS, headers={**MCP_HEADERS, "Host": "evil.example"}
        )
        assert evil_host.status_code == 421
        evil_origin = await http.post(
            f"{server.url}/mcp", json=LIST_TOOLS, headers={**MCP_HEADERS, "Origin": "http://evil.example"}
        )
        assert evil_origin.status_code == 403


async def test_bearer_token_is_required_on_every_request(start_server: StartServer) -> None:
    async with start_server(SHOPIFY_MCP_BEARER_TOKEN=TOKEN) as server:
        async with httpx.AsyncClient() as http:
            assert (await http.post(f"{server.url}/mcp", json=LIST_TOOLS, headers=MCP_HEADERS)).status_code == 401
            wrong = {**MCP_HEADERS, "Authorization": "Bearer nope"}
            assert (await http.post(f"{server.url}/mcp", json=LIST_TOOLS, headers=wrong)).status_code == 401
            assert (await http.get(f"{server.url}/health")).status_code == 200, "health stays open for probes"
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as authorised,
            Client(streamable_http_client(f"{server.url}/mcp", http_client=authorised)) as client,
        ):
            assert ok(await client.call_tool("list_promotions", {}))["public_codes"]


async def test_sse_transport(start_server: StartServer) -> None:
    async with start_server("sse") as server, Client(sse_client(f"{server.url}/sse")) as client:
        policies = ok(await client.call_tool("get_policies", {"kind": "shipping"}))
        assert policies["policies"][0]["type"] == "SHIPPING_POLICY"


def test_public_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shopify_mcp", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "1"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "SHOPIFY_TICKET_DB": str(tmp_path / "t.db")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SHOPIFY_MCP_BEARER_TOKEN" in result.stderr


def test_bad_settings_exit_with_a_readable_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shopify_mcp"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "SHOPIFY_STORE": "x.myshopify.com"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "SHOPIFY_ACCESS_TOKEN" in result.stderr and "Traceback" not in result.stderr
