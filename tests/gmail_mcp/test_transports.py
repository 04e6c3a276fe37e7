"""The real `gmail-mcp` process over stdio and Streamable HTTP, on a Maildir and on Gmail (the emulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from gmail_mcp.emulator import GmailEmulator, serve_emulator
from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox, sandbox_files
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
