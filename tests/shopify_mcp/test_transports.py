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
from mcp.server import MCPServer

from shopify_mcp.emulator import SANDBOX_TOKEN, load_sandbox_store
from support_core.embedded import serve_on_loopback
from support_core.http_limits import HttpLimits
from support_core.transport import http_app
from support_testing.shopify_emulator import ShopifyEmulator, serve_emulator
from tests.processes import RunningServer, http_server
from tests.raw_http import Exchange, idle_connections, trickle
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
    """Twelve concurrent product searches (160 points each: a search of 32, a read of the products found of 128)
    against a 1,000-point bucket refilling at 1,500/s, which the burst outruns (~0.6 s of waiting, against ~0.05 s
    of requests): the server's client waits for capacity, so Shopify answers THROTTLED at most once, and every call
    succeeds."""
    small = ShopifyEmulator(store=load_sandbox_store(), bucket_size=1000, restore_rate=1500)
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


async def test_http_believes_no_forwarded_headers(start_server: StartServer) -> None:
    """uvicorn by itself believes X-Forwarded-For/-Proto from 127.0.0.1, so any local process could pose as another
    client or as HTTPS. The server believes no proxy: its redirect keeps the scheme it was really reached by."""
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    async with start_server() as server, httpx.AsyncClient() as http:
        redirect = await http.get(f"{server.url}/mcp/", headers=forged)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{server.url}/mcp"


async def test_http_believes_the_proxies_it_is_told_to(start_server: StartServer) -> None:
    """SHOPIFY_MCP_FORWARDED_ALLOW_IPS names the proxy (here 127.0.0.1): its X-Forwarded-Proto then counts."""
    async with start_server(SHOPIFY_MCP_FORWARDED_ALLOW_IPS="127.0.0.1") as server, httpx.AsyncClient() as http:
        redirect = await http.get(f"{server.url}/mcp/", headers={"X-Forwarded-Proto": "https"})
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{server.url.replace('http://', 'https://', 1)}/mcp"


async def test_http_limits_cut_off_slow_and_surplus_clients_but_not_mcp() -> None:
    """The transport's limits (`serve_http` applies the same `uvicorn_config`), on a small in-process server."""
    server = MCPServer("probe")

    @server.tool()
    def echo(text: str) -> str:
        """Returns the text."""
        return text

    app = http_app(server, "streamable-http", host="127.0.0.1", bearer_token=None)
    limits = HttpLimits(timeout_headers=0.5, timeout_body=0.5, limit_concurrency=4)
    async with serve_on_loopback(app, name="MCP server", limits=limits, lifespan="on") as url:
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
        )
        slow: dict[str, Exchange] = {}

        async def cut_off(name: str, parts: list[bytes]) -> None:
            slow[name] = await trickle(url, parts, pause=0.1)

        async with anyio.create_task_group() as tg:  # both at once: each waits out its own timeout
            tg.start_soon(cut_off, "head", [head.encode(), *[b"X-Padding: x\r\n"] * 40])
            tg.start_soon(cut_off, "body", [f"{head}Content-Length: 100\r\n\r\n".encode(), *[b" "] * 40])
        slow_head, slow_body = slow["head"], slow["body"]
        # a handshake-era session stays within the limits (stateless: no GET event stream holds a connection)
        async with Client(f"{url}/mcp", mode="legacy") as client:
            answer = await client.call_tool("echo", {"text": "still here"})
        async with idle_connections(url, 3), httpx.AsyncClient() as http:  # 3 + this one: the limit
            crowded = await http.post(f"{url}/mcp", json=LIST_TOOLS, headers=MCP_HEADERS)
    assert slow_head.status == 408 and slow_head.seconds < 3
    assert slow_body.status == 408 and slow_body.seconds < 3
    assert b"body did not arrive within 0.5 s" in slow_body.body
    assert not answer.is_error and "still here" in str(answer.content)
    assert crowded.status_code == 503


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


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        (["--limit-concurrency", "abc"], {}, "argument --limit-concurrency: invalid int value: 'abc'"),
        (["--limit-concurrency", "1"], {}, "--limit-concurrency must be at least 2"),
        (["--forwarded-allow-ips", "10.0.0.1/8"], {}, "'10.0.0.1/8' is not an IP address or network"),
        ([], {"SHOPIFY_MCP_FORWARDED_ALLOW_IPS": "proxy.internal"}, "'proxy.internal' is not an IP address"),
    ],
    ids=["not-a-number", "too-few-connections", "network-with-host-bits", "setting-not-an-address"],
)
def test_bad_http_limits_exit_with_one_line(
    tmp_path: Path, flags: list[str], env: dict[str, str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shopify_mcp", "--transport", "streamable-http", "--port", "1", *flags],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("shopify-mcp: ") and expected in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
