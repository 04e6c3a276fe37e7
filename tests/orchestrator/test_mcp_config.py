"""`support-agent mcp-config`: what it prints is started exactly as an MCP host would start it, and answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from orchestrator.mcp_config import mcp_config
from tests.processes import http_server

pytestmark = [pytest.mark.anyio]
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
TOKEN = "mcp-config-test-token-0123456789"
EXPECTED_TOOLS = {"shopify": "lookup_order", "support-mail": "create_reply_draft"}


def print_config(tmp_path: Path, *args: str, **env: str) -> tuple[dict[str, Any], str]:
    """Run the real entry point in `tmp_path` with only `env` (and PATH); its JSON and its standard error."""
    command = [str(Path(sys.executable).with_name("support-agent")), "mcp-config", *args]
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env}
    done = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_stdio_entries_name_this_install_and_make_paths_absolute(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SHOPIFY_TICKET_DB=tickets.sqlite3\nSHOPIFY_ACCESS_TOKEN=shpat_from_env_file\n")
    config, err = print_config(tmp_path, GMAIL_MAILDIR="mail", SHOPIFY_STORE="my-shop.myshopify.com")
    shopify, mail = config["mcpServers"]["shopify"], config["mcpServers"]["support-mail"]
    assert shopify["command"] == str(Path(sys.executable).with_name("shopify-mcp"))
    assert Path(shopify["command"]).is_absolute() and mail["command"].endswith("gmail-mcp")
    assert shopify["env"] == {
        "SHOPIFY_ACCESS_TOKEN": "<SHOPIFY_ACCESS_TOKEN>",
        "SHOPIFY_STORE": "my-shop.myshopify.com",
        "SHOPIFY_TICKET_DB": str(tmp_path / "tickets.sqlite3"),
    }
    assert mail["env"] == {"GMAIL_MAILDIR": str(tmp_path / "mail")}
    assert "SHOPIFY_ACCESS_TOKEN" in err and "--show-secrets" in err
    shown, _ = print_config(tmp_path, "--show-secrets", "--server", "shopify")
    assert list(shown["mcpServers"]) == ["shopify"]
    assert shown["mcpServers"]["shopify"]["env"]["SHOPIFY_ACCESS_TOKEN"] == "shpat_from_env_file"


def test_http_only_settings_stay_out_of_a_stdio_entry_and_the_token_goes_into_the_http_headers() -> None:
    settings = {"SHOPIFY_MCP_BEARER_TOKEN": "t0k", "SHOPIFY_TIMEOUT": "20", "OPENAI_API_KEY": "sk-x"}
    stdio = mcp_config(["shopify"], "stdio", settings)["mcpServers"]["shopify"]
    assert stdio["env"] == {"SHOPIFY_TIMEOUT": "20"}, "neither the HTTP token nor another program's key"
    http = mcp_config(["shopify"], "http", settings, urls={"shopify": "https://mcp.example.com/"})
    assert http["mcpServers"]["shopify"] == {
        "type": "http",
        "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": "Bearer <SHOPIFY_MCP_BEARER_TOKEN>"},
    }


def test_a_console_script_that_is_missing_is_replaced_by_this_interpreter(tmp_path: Path) -> None:
    entry = mcp_config(["shopify"], "stdio", {}, bin_dir=tmp_path)["mcpServers"]["shopify"]
    assert entry["command"] == os.path.abspath(sys.executable)
    assert entry["args"] == ["-m", "shopify_mcp"]


def test_a_bad_url_is_one_line(tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("support-agent")), "mcp-config", "--transport", "http"]
    done = subprocess.run([*command, "--url", "shopify=ftp://x"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "expected NAME=http(s)://" in done.stderr


@pytest.mark.integration
async def test_each_printed_stdio_entry_starts_and_lists_its_tools(tmp_path: Path) -> None:
    config, _ = print_config(
        tmp_path, SHOPIFY_TICKET_DB="tickets.sqlite3", GMAIL_MAILDIR="mail", GMAIL_ADDRESS="support@shop.example"
    )
    for name, entry in config["mcpServers"].items():
        params = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry["env"])
        async with Client(params) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
        assert EXPECTED_TOOLS[name] in tools, name


@pytest.mark.integration
async def test_the_printed_http_entry_reaches_a_server_with_a_bearer_token(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "SHOPIFY_MCP_BEARER_TOKEN": TOKEN}
    env["SHOPIFY_TICKET_DB"] = str(tmp_path / "tickets.sqlite3")
    async with http_server("shopify_mcp", env) as server:
        args = ("--transport", "http", "--server", "shopify", "--url", f"shopify={server.url}", "--show-secrets")
        config, err = print_config(tmp_path, *args, SHOPIFY_MCP_BEARER_TOKEN=TOKEN)
        entry = config["mcpServers"]["shopify"]
        assert "shopify-mcp --transport streamable-http" in err
        async with (
            httpx2.AsyncClient(headers=entry["headers"]) as http,
            Client(streamable_http_client(entry["url"], http_client=http)) as client,
        ):
            assert "lookup_order" in {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.integration
@pytest.mark.needs_node
def test_the_mcp_inspector_starts_the_printed_config(tmp_path: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx (Node.js) is not installed: the MCP Inspector CLI cannot run here")
    config, _ = print_config(tmp_path, SHOPIFY_TICKET_DB="tickets.sqlite3", GMAIL_MAILDIR="mail")
    (tmp_path / "claude_desktop_config.json").write_text(json.dumps(config))
    env = {**os.environ, "MCP_STORAGE_DIR": str(tmp_path / "inspector"), "npm_config_yes": "true"}
    for name in config["mcpServers"]:
        command = [npx, "-y", INSPECTOR, "--cli", "--config", "claude_desktop_config.json", "--server", name]
        done = subprocess.run(
            [*command, "--method", "tools/list"], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert EXPECTED_TOOLS[name] in {tool["name"] for tool in json.loads(done.stdout)["tools"]}
