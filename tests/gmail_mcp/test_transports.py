"""The real `gmail-mcp` process over stdio and Streamable HTTP, on a Maildir and on Gmail (the emulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox, sandbox_files
from support_testing.gmail_emulator import GmailEmulator, serve_emulator
from tests.processes import http_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **extra}


def maildir_env(tmp_path: Path) -> dict[str, str]:
    root = tmp_path / "maildir"
    install_sandbox_mailbox(root)
    return base_env(tmp_path, GMAIL_BACKEND="maildir", GMAIL_MAILDIR=str(root))


async def test_stdio_on_a_maildir(tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "gmail_mcp"], env=maildir_env(tmp_path))
    async with Client(params) as client:
        result = await client.call_tool("list_new_messages", {})
        assert not result.is_error and result.structured_content is not None
        assert len(result.structured_content["messages"]) == len(sandbox_files()[0])


async def test_stdio_on_gmail_with_the_original_token_format(tmp_path: Path) -> None:
    emulator = GmailEmulator()
    emulator.deliver(b"From: a@example.com\r\nSubject: Hi\r\nMessage-ID: <x@example.com>\r\n\r\nHello\r\n")
    async with serve_emulator(emulator) as url:
        token = {
            "token": "",
            "refresh_token": "1//r",
            "token_uri": f"{url}/token",
            "client_id": "c",
            "client_secret": "s",
        }
        env = base_env(tmp_path, GOOGLE_TOKEN_JSON=json.dumps(token), GMAIL_API_ENDPOINT=url)
        params = StdioServerParameters(command=sys.executable, args=["-m", "gmail_mcp"], env=env)
        async with Client(params) as client:
            result = await client.call_tool("search_messages", {"query": "subject:Hi"})
            assert not result.is_error and result.structured_content is not None
            assert result.structured_content["messages"][0]["subject"] == "Hi"
    assert emulator.tokens.refreshes == 1


async def test_streamable_http_on_a_maildir(tmp_path: Path) -> None:
    async with http_server("gmail_mcp", maildir_env(tmp_path)) as server, Client(f"{server.url}/mcp") as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "create_reply_draft" in tools and not any("send" in t for t in tools)


async def test_streamable_http_believes_no_forwarded_headers(tmp_path: Path) -> None:
    """The shared transport serves gmail-mcp too: X-Forwarded-Proto from 127.0.0.1 changes nothing (uvicorn by
    itself would believe it and redirect to https)."""
    async with http_server("gmail_mcp", maildir_env(tmp_path)) as server, httpx.AsyncClient() as http:
        redirect = await http.get(f"{server.url}/mcp/", headers={"X-Forwarded-Proto": "https"})
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{server.url}/mcp"


async def test_streamable_http_believes_the_proxies_it_is_told_to(tmp_path: Path) -> None:
    """GMAIL_MCP_FORWARDED_ALLOW_IPS names the proxy (here 127.0.0.1): its X-Forwarded-Proto then counts."""
    env = {**maildir_env(tmp_path), "GMAIL_MCP_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    async with http_server("gmail_mcp", env) as server, httpx.AsyncClient() as http:
        redirect = await http.get(f"{server.url}/mcp/", headers={"X-Forwarded-Proto": "https"})
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{server.url.replace('http://', 'https://', 1)}/mcp"


def test_missing_gmail_token_is_a_readable_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gmail_mcp"],
        env=base_env(tmp_path, GMAIL_BACKEND="gmail"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "gmail-mcp auth" in result.stderr and "Traceback" not in result.stderr


def test_a_public_bind_without_a_token_names_the_gmail_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gmail_mcp", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "0"],
        env=base_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "set GMAIL_MCP_BEARER_TOKEN" in result.stderr and "SHOPIFY" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        (["--limit-concurrency", "abc"], {}, "argument --limit-concurrency: invalid int value: 'abc'"),
        (["--forwarded-allow-ips", "10.0.0.1/8"], {}, "'10.0.0.1/8' is not an IP address or network"),
        ([], {"GMAIL_MCP_FORWARDED_ALLOW_IPS": "proxy.internal"}, "'proxy.internal' is not an IP address"),
    ],
    ids=["not-a-number", "network-with-host-bits", "setting-not-an-address"],
)
def test_bad_http_limits_exit_with_one_line(
    tmp_path: Path, flags: list[str], env: dict[str, str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gmail_mcp", "--transport", "streamable-http", "--port", "1", *flags],
        env={**maildir_env(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("gmail-mcp: ") and expected in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
