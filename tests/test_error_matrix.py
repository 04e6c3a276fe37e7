"""Every bad input gets one clear line and exit code 2, through the real entry points: no traceback, and a
setting's error names the variable the user set (not pydantic's field name).

The one allowed second line: when a tool server refuses its settings, the server's own line comes first and
support-agent adds which server did not start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrator.config import DEFAULT_CONFIG

pytestmark = [pytest.mark.integration]
BIN = Path(sys.executable).parent


@dataclass
class Case:
    command: list[str]
    expected: str
    env: dict[str, str] = field(default_factory=dict)
    lines: int = 1
    files: dict[str, str] = field(default_factory=dict)


SERVER_REFUSED = 2  # the server's line, then support-agent's
CASES = {
    "timeout not a number (once)": Case(
        ["support-agent", "once"], "SHOPIFY_TIMEOUT: Input should be a valid number", {"SHOPIFY_TIMEOUT": "abc"}, 2
    ),
    "timeout not a number (run)": Case(
        ["support-agent", "run"], "SHOPIFY_TIMEOUT: Input should be a valid number", {"SHOPIFY_TIMEOUT": "abc"}, 2
    ),
    "boolean that is not one (chat)": Case(
        ["support-agent", "chat", "hi"],
        "SHOPIFY_VERIFY_CUSTOMER_EMAIL: Input should be a valid boolean",
        {"SHOPIFY_VERIFY_CUSTOMER_EMAIL": "maybe"},
        SERVER_REFUSED,
    ),
    "negative retries": Case(
        ["support-agent", "once"],
        "GMAIL_MAX_RETRIES: Input should be greater than or equal to 0",
        {"GMAIL_MAX_RETRIES": "-1"},
        SERVER_REFUSED,
    ),
    "missing token file": Case(
        ["support-agent", "once"],
        "GMAIL_TOKEN_FILE names /nope/token.json, which does not exist",
        {"GMAIL_TOKEN_FILE": "/nope/token.json"},
        SERVER_REFUSED,
    ),
    "Maildir under a file": Case(
        ["support-agent", "once"], "Cannot open the Maildir", {"GMAIL_MAILDIR": "afile/mail"}, files={"afile": "x"}
    ),
    "mailbox address": Case(
        ["support-agent", "once"], "SUPPORT_AGENT_MAILBOX: must be one email address", {"SUPPORT_AGENT_MAILBOX": "x"}
    ),
    "orchestrator number": Case(
        ["support-agent", "once"],
        "SUPPORT_AGENT_LLM_TIMEOUT: Input should be a valid number",
        {"SUPPORT_AGENT_LLM_TIMEOUT": "soon"},
    ),
    "ledger under a file": Case(
        ["support-agent", "once"],
        "Cannot create the ledger",
        {"SUPPORT_AGENT_LEDGER": "afile/l.sqlite3"},
        files={"afile": "x"},
    ),
    "port out of range": Case(["support-agent", "serve", "--port", "99999"], "99999 is not a port number"),
    "serve without a secret": Case(["support-agent", "serve"], "No API secret: set SUPPORT_AGENT_SECRET"),
    "config is a folder": Case(["support-agent", "--config", ".", "once"], "is a folder"),
    "config value out of range": Case(
        ["support-agent", "--config", "bad.toml", "once"],
        "daemon.concurrency: Input should be greater than",
        files={"bad.toml": DEFAULT_CONFIG.read_text("utf-8").replace("concurrency = 4", "concurrency = 0")},
    ),
    "config not TOML": Case(["support-agent", "--config", "c.toml", "once"], "not valid TOML", files={"c.toml": "[x"}),
    "bad .env line": Case(
        ["support-agent", "once"], ".env, line 2: not a NAME=value line", files={".env": "A=1\nnot an assignment\n"}
    ),
    "concurrency flag": Case(["support-agent", "run", "--concurrency", "0"], "--concurrency: Input should be"),
    "customer email": Case(["support-agent", "chat", "hi", "--email", "nobody"], "--email: 'nobody' is not"),
    "stats report folder": Case(["support-agent", "stats", "--html", "/missing/dir/r.html"], "Cannot write the HTML"),
    "stats ledger": Case(["support-agent", "stats", "--ledger", "nope.sqlite3"], "There is no ledger at nope.sqlite3"),
    "unknown command": Case(["support-agent", "nosuch"], "invalid choice: 'nosuch'"),
    "mcp-config url": Case(["support-agent", "mcp-config", "--url", "x"], "expected NAME=http(s)://"),
    "shopify setting": Case(
        ["shopify-mcp"], "SHOPIFY_TIMEOUT: Input should be a valid number", {"SHOPIFY_TIMEOUT": "x"}
    ),
    "shopify port": Case(["shopify-mcp", "--port", "70000"], "70000 is not a port number"),
    "shopify public bind": Case(
        ["shopify-mcp", "--transport", "streamable-http", "--host", "0.0.0.0"], "set SHOPIFY_MCP_BEARER_TOKEN"
    ),
    "gmail public bind names its own token": Case(
        ["gmail-mcp", "--transport", "streamable-http", "--host", "0.0.0.0"], "set GMAIL_MCP_BEARER_TOKEN"
    ),
    "gmail setting": Case(["gmail-mcp"], "GMAIL_TIMEOUT: Input should be a valid number", {"GMAIL_TIMEOUT": "x"}),
    "gmail auth without a client": Case(["gmail-mcp", "auth", "--no-browser"], "Give --client-secrets PATH"),
}


def run(case: Case, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **case.env}
    command = [str(BIN / case.command[0]), *case.command[1:], *extra]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_input_is_one_clear_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    done = run(case, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "ExceptionGroup" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert 1 <= len(lines) <= case.lines, done.stderr
    assert case.expected in done.stderr, done.stderr
    assert lines[-1].startswith((f"{case.command[0]}:", f"{case.command[0]} ")), "the last line is the command's own"


def test_a_busy_port_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        for command in (["shopify-mcp", "--transport", "streamable-http"], ["support-agent", "serve"]):
            done = run(Case(command, "", {"SUPPORT_AGENT_SECRET": "s" * 32}), tmp_path, "--port", port)
            assert done.returncode == 2
            assert (
                done.stderr.strip()
                .splitlines()[-1]
                .endswith(
                    f"Cannot listen on 127.0.0.1:{port}: another program is using that port. "
                    "Choose another with --port (or --host)."
                )
            ), done.stderr
            assert "ready" not in done.stderr, "nothing was started before the port was taken"


def test_debug_keeps_configuration_errors_to_one_line(tmp_path: Path) -> None:
    done = run(CASES["config is a folder"], tmp_path, "--debug")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
