"""A third-party MCP client, the MCP Inspector CLI (Node.js), drives the real server over stdio."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.needs_node]
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"


def inspector(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx (Node.js) is not installed: the MCP Inspector CLI cannot run here")
    server = Path(sys.executable).with_name("shopify-mcp")
    env = {
        **os.environ,
        "MCP_STORAGE_DIR": str(tmp_path / "inspector"),
        "MCP_CATALOG_PATH": str(tmp_path / "inspector" / "mcp.json"),
        "npm_config_yes": "true",
    }
    command = [npx, "-y", INSPECTOR, "--cli", "-e", f"SHOPIFY_TICKET_DB={tmp_path / 't.sqlite3'}"]
    command += ["-e", f"HOME={tmp_path}", str(server), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


def test_inspector_lists_the_tools_with_portable_schemas(tmp_path: Path) -> None:
    result = inspector(tmp_path, "--method", "tools/list", "--strict")
    assert result.returncode == 0, result.stderr[-2000:]
    tools = {tool["name"] for tool in json.loads(result.stdout)["tools"]}
    assert {"lookup_order", "search_products", "escalate_ticket"} <= tools


def test_inspector_calls_lookup_order(tmp_path: Path) -> None:
    result = inspector(
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "lookup_order",
        "--tool-arg",
        "order_number=#1021",
        "customer_email=maria.garcia@example.com",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout)
    assert payload.get("isError") is not True
    assert payload["structuredContent"]["order_number"] == "#1021"
