"""`support-agent mcp-config`: the `mcpServers` JSON that Claude Desktop and other MCP hosts read, for this install.

Over stdio each entry names the absolute path of the server's command in the environment this program runs from
(a virtual environment, a `pipx` or `uv tool` install), so it works whatever directory the host starts it in. The
host passes the server almost no environment, so every `SHOPIFY_*` / `GMAIL_*` setting found in this process's
environment or in `./.env` is written into `env`, with relative paths made absolute. Secret values are replaced by a
placeholder naming the variable unless `--show-secrets` is given: the output is often pasted into chats and issues.

Over HTTP each entry is the server's `/mcp` URL (the server is started separately; the note on standard error says
how) with the bearer token header when one is configured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from orchestrator.config import read_env_file, server_environment
from orchestrator.errors import ConfigError

__all__ = ["SERVERS", "add_mcp_config_parser", "mcp_config", "run_mcp_config"]

# name in the host's config -> (command, module, variable prefixes, default HTTP port)
SERVERS: dict[str, tuple[str, str, tuple[str, ...], int]] = {
    "shopify": ("shopify-mcp", "shopify_mcp", ("SHOPIFY_",), 8000),
    "support-mail": ("gmail-mcp", "gmail_mcp", ("GMAIL_", "GOOGLE_TOKEN_JSON"), 8001),
}
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY")
_PATH_SUFFIXES = ("_FILE", "_DB", "_DIR", "_MAILDIR", "_PATH")
_HTTP_ONLY = ("_MCP_",)  # SHOPIFY_MCP_BEARER_TOKEN and friends configure the HTTP transport, not a stdio server


def add_mcp_config_parser(add_parser: Any, common: argparse.ArgumentParser) -> None:
    parser = add_parser(
        "mcp-config",
        parents=[common],
        help="print the mcpServers JSON for Claude Desktop and other MCP hosts (absolute paths of this install)",
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default: stdio")
    parser.add_argument(
        "--server", choices=sorted(SERVERS), action="append", help="only this server (repeatable; default: both)"
    )
    parser.add_argument(
        "--url",
        metavar="BASE",
        help="with --transport http: the servers' base URL per name, e.g. shopify=https://mcp.example.com "
        "(repeatable; default http://127.0.0.1:8000 and :8001)",
        action="append",
        default=[],
    )
    parser.add_argument(
        "--show-secrets", action="store_true", help="write secret values (tokens, passwords) instead of placeholders"
    )


def run_mcp_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = _settings(Path(".env"))
    urls = _urls(args.url)
    document = mcp_config(
        args.server or sorted(SERVERS), args.transport, settings, show_secrets=args.show_secrets, urls=urls
    )
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    hidden = sorted(
        {value[1:-1] for entry in document["mcpServers"].values() for value in _values(entry) if _placeholder(value)}
    )
    if hidden:
        err.write(
            f"support-agent: replace the placeholders for {', '.join(hidden)} with their values "
            "(or run again with --show-secrets).\n"
        )
    if args.transport == "http":
        for name in document["mcpServers"]:
            command, _, _, port = SERVERS[name]
            err.write(f"support-agent: start it with `{command} --transport streamable-http --port {port}`.\n")
    return 0


def mcp_config(
    names: list[str],
    transport: str,
    settings: Mapping[str, str],
    *,
    show_secrets: bool = False,
    urls: Mapping[str, str] | None = None,
    bin_dir: Path | None = None,
) -> dict[str, Any]:
    """`{"mcpServers": {name: entry}}` for `names` over `transport` ("stdio" or "http"); `settings` are the
    variables to pass on (the environment and `.env`), `bin_dir` where the console scripts are."""
    servers: dict[str, Any] = {}
    for name in names:
        command, module, prefixes, port = SERVERS[name]
        own = {key: value for key, value in sorted(settings.items()) if key.startswith(prefixes)}
        if transport == "http":
            base = (urls or {}).get(name) or f"http://127.0.0.1:{port}"
            entry: dict[str, Any] = {"type": "http", "url": base.rstrip("/") + "/mcp"}
            token_name = f"{prefixes[0]}MCP_BEARER_TOKEN"
            if token_name in own:
                token = own[token_name] if show_secrets else f"<{token_name}>"
                entry["headers"] = {"Authorization": f"Bearer {token}"}
        else:
            entry = _stdio_entry(command, module, bin_dir)
            entry["env"] = {
                key: _value(key, value, show_secrets) for key, value in own.items() if not _http_only(key, prefixes)
            }
        servers[name] = entry
    return {"mcpServers": servers}


def _stdio_entry(command: str, module: str, bin_dir: Path | None) -> dict[str, Any]:
    """The console script beside this interpreter (not resolved: a venv's python is a symlink out of the venv),
    else this interpreter with `-m`."""
    scripts = bin_dir or Path(os.path.abspath(sys.executable)).parent
    for candidate in (scripts / command, scripts / f"{command}.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return {"command": str(candidate), "args": []}
    return {"command": os.path.abspath(sys.executable), "args": ["-m", module]}


def _value(key: str, value: str, show_secrets: bool) -> str:
    if _secret(key) and not show_secrets:
        return f"<{key}>"
    if key.endswith(_PATH_SUFFIXES) and value and "://" not in value:
        return str(Path(value).expanduser().absolute())
    return value


def _secret(key: str) -> bool:
    return any(word in key for word in _SECRET_WORDS) and not key.endswith(_PATH_SUFFIXES)


def _http_only(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key.startswith(prefix.rstrip("_") + marker) for prefix in prefixes for marker in _HTTP_ONLY)


def _placeholder(value: str) -> bool:
    return value.startswith("<") and value.endswith(">") and value[1:-1].isupper()


def _values(entry: Mapping[str, Any]) -> list[str]:
    found = list(entry.get("env", {}).values())
    found += [value.removeprefix("Bearer ") for value in entry.get("headers", {}).values()]
    return found


def _settings(env_file: Path) -> dict[str, str]:
    """The servers' variables in this process's environment over those of `env_file` (the servers read `.env` the
    same way: the environment wins)."""
    from_file = read_env_file(env_file) if env_file.is_file() else {}
    return {**from_file, **{key: value for key, value in server_environment().items() if value}}


def _urls(pairs: list[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for pair in pairs:
        name, equals, url = pair.partition("=")
        if not equals or name not in SERVERS or not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--url {pair!r}: expected NAME=http(s)://host[:port] with NAME one of {', '.join(sorted(SERVERS))}"
            )
        urls[name] = url
    return urls
