"""The thread-free stdio transport: a real server process behind real pipes, with the SDK's own client and raw."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client, StdioServerParameters

from support_core.stdio_pipes import LINE_CHUNK, _next_line

pytestmark = pytest.mark.anyio

SERVER = '''
import os, sys, threading
import anyio
from mcp.server import MCPServer
from support_core.stdio_pipes import serve_stdio

server = MCPServer("pipes-test")

@server.tool()
def echo(text: str) -> str:
    """Echo the text."""
    return text

@server.tool()
def chatty() -> str:
    """Print to stdout (a bug in a tool): the protocol must not see it."""
    print("stray output", flush=True)
    os.write(1, b"stray bytes\\n")
    return "ok"

@server.tool()
async def threads() -> int:
    """Threads alive in the server process (asked on the event loop, not in a worker thread)."""
    return threading.active_count()

anyio.run(serve_stdio, server)
'''
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def echo_call(request_id: int, text: str) -> dict[str, object]:
    params = {"name": "echo", "arguments": {"text": text}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


@pytest.fixture
def server_script(tmp_path: Path) -> Path:
    script = tmp_path / "pipes_server.py"
    script.write_text(SERVER, encoding="utf-8")
    return script


def line(message: Mapping[str, object]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode() + b"\n"


async def test_the_sdk_client_gets_every_answer_without_worker_threads(server_script: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(server_script)], env={"HOME": "/tmp"})
    big = "Grüße, 東京 ✓ " * (4 * 1024 * 1024 // 20)  # several MB each way, non-ASCII throughout
    async with Client(params) as client:
        threads = await client.call_tool("threads", {})  # first: sync tools leave an idle worker thread behind
        assert threads.structured_content == {"result": 1}  # the SDK's transport has two more, for stdin and stdout
        assert len(big.encode()) > 3 * 1024 * 1024
        result = await client.call_tool("echo", {"text": big})
        assert result.structured_content == {"result": big}
        result = await client.call_tool("echo", {"text": "héllo ✓"})
        assert result.structured_content == {"result": "héllo ✓"}
        chatty = await client.call_tool("chatty", {})
        assert chatty.structured_content == {"result": "ok"}  # the stray print went to stderr, not the wire


async def test_a_malformed_line_is_skipped_and_end_of_input_ends_the_server(server_script: Path) -> None:
    process = await anyio.open_process([sys.executable, str(server_script)], stderr=None)
    assert process.stdin is not None and process.stdout is not None
    answers = BufferedByteReceiveStream(process.stdout)
    with anyio.fail_after(30):
        await process.stdin.send(b"this is not json\n" + b'{"jsonrpc": "2.0", "id": \n' + line(INITIALIZE))
        first = json.loads(await answers.receive_until(b"\n", 1 << 20))
        assert first["id"] == 1 and "result" in first
        await process.stdin.send(line(INITIALIZED) + b"\xff\xfe not UTF-8 either\n" + line(echo_call(2, "still here")))
        second = json.loads(await answers.receive_until(b"\n", 1 << 20))
        assert second["id"] == 2 and second["result"]["structuredContent"] == {"result": "still here"}
        await process.stdin.aclose()
        assert await process.wait() == 0


async def test_stdin_from_a_file_falls_back_to_the_sdk_transport(server_script: Path, tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(line(INITIALIZE))
    with open(requests, "rb") as stdin:  # noqa: ASYNC230 (a file handed to the child, not read here)
        process = await anyio.open_process([sys.executable, str(server_script)], stdin=stdin, stderr=None)
    assert process.stdout is not None
    with anyio.fail_after(30):
        output = b"".join([chunk async for chunk in process.stdout])
        assert await process.wait() == 0
    assert json.loads(output.splitlines()[0])["id"] == 1


async def test_lines_of_any_length_and_a_last_line_without_newline() -> None:
    reader = asyncio.StreamReader(limit=LINE_CHUNK)
    long = b"x" * (5 * LINE_CHUNK + 17)
    reader.feed_data(b"short\n" + long + b"\n")
    reader.feed_data(b"\n" + b"tail")
    reader.feed_eof()
    assert await _next_line(reader) == b"short\n"
    assert await _next_line(reader) == long + b"\n"
    assert await _next_line(reader) == b"\n"
    assert await _next_line(reader) == b"tail"
    assert await _next_line(reader) == b""
