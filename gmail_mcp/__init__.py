"""Gmail MCP server: read mail and threads, create in-thread reply drafts, mark read, manage labels. It never sends."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from gmail_mcp.config import GmailSettings, load_settings
from gmail_mcp.errors import ConfigError, MailError
from support_core.http_limits import HttpLimits, add_http_flags, http_limits
from support_core.transport import OneLineErrorParser, Transport, add_stateful_flag
from support_core.version import __version__

if TYPE_CHECKING:
    from gmail_mcp.backend import MailBackend
    from gmail_mcp.mailbox import Mailbox

__all__ = ["__version__", "main", "open_mailbox", "serve"]

logger = logging.getLogger(__name__)
FORWARDED_ENV = "GMAIL_MCP_FORWARDED_ALLOW_IPS"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog="gmail-mcp",
        description="MCP server for a support mailbox (Gmail, or a local Maildir when no Google token is set).",
    )
    parser.add_argument("--transport", choices=["stdio", "streamable-http", "sse"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="HTTP port (default 8001)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_http_flags(parser, forwarded_env=FORWARDED_ENV)
    add_stateful_flag(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    auth = commands.add_parser("auth", help="authorise access to a Gmail mailbox and save the token file")
    auth.add_argument(
        "--client-secrets", type=str, help="OAuth 'Desktop app' client JSON (or GMAIL_CLIENT_SECRETS_FILE)"
    )
    auth.add_argument("--token-file", type=str, help="where to write the token (default: GMAIL_TOKEN_FILE)")
    auth.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    sandbox = commands.add_parser(
        "sandbox", help="install the demo mailbox (mail that matches the sandbox store) into a Maildir folder"
    )
    sandbox.add_argument("maildir", help="the Maildir folder (created when missing; left alone if it holds mail)")
    return parser.parse_args(argv)


@asynccontextmanager
async def open_mailbox(settings: GmailSettings) -> AsyncIterator[tuple[Mailbox, str]]:
    """The configured backend wrapped in a `Mailbox`, and the backend's name ('gmail' or 'maildir')."""
    from support_core.retry import RetryPolicy

    backend: MailBackend
    if settings.use_gmail:
        from gmail_mcp.credentials import load_credentials
        from gmail_mcp.gmail_api import GmailApiBackend

        credentials, token_path = load_credentials(settings)
        backoff = RetryPolicy(
            base=settings.retry_base_delay, max_delay=settings.retry_max_delay, attempts=settings.max_retries + 1
        )
        backend = GmailApiBackend(
            credentials,
            token_path=token_path,
            api_endpoint=settings.api_endpoint,
            user_id=settings.user_id,
            timeout=settings.timeout,
            backoff=backoff,
        )
        name = "gmail"
    else:
        from gmail_mcp.maildir import MaildirBackend

        backend = MaildirBackend(settings.maildir, address=settings.address)
        name = "maildir"
    from gmail_mcp.mailbox import Mailbox

    mailbox = Mailbox(
        backend,
        fallback_query=settings.fallback_query,
        max_body_chars=settings.max_body_chars,
        authserv_ids=settings.trusted_authserv_ids,
    )
    try:
        yield mailbox, name
    finally:
        await mailbox.backend.aclose()


async def serve(
    settings: GmailSettings,
    transport: Transport,
    host: str,
    port: int,
    log_level: str,
    limits: HttpLimits | None = None,
    *,
    stateless: bool = True,
) -> None:
    """Open the mailbox and run the server on the chosen transport until it is stopped (`limits`: over
    HTTP; `stateless`: Streamable HTTP without sessions, so replicas can share a load balancer)."""
    from gmail_mcp.server import create_server
    from support_core.transport import run_server

    async with open_mailbox(settings) as (mailbox, name):
        logger.info("gmail-mcp ready (%s, %s backend)", transport, name)
        await run_server(
            create_server(mailbox, backend_name=name, settings=settings),
            transport,
            settings,
            host=host,
            port=port,
            log_level=log_level,
            limits=limits,
            stateless=stateless,
        )


def main(argv: list[str] | None = None) -> None:
    from pathlib import Path

    from support_core.errors import ConfigError as TransportConfigError

    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "sandbox":
        from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox

        installed = install_sandbox_mailbox(Path(args.maildir))
        print(f"Installed {installed} sandbox messages in {args.maildir}.", file=sys.stderr)
        return
    try:
        settings = load_settings()
        if args.command == "auth":
            from gmail_mcp.auth import authorise

            secrets = args.client_secrets or settings.client_secrets_file
            if not secrets:
                raise ConfigError("Give --client-secrets PATH (the OAuth 'Desktop app' client JSON from Google Cloud).")
            token_file = Path(args.token_file) if args.token_file else settings.token_file
            authorise(Path(secrets), token_file, open_browser=not args.no_browser)
            print(f"Saved the Gmail token to {token_file} (readable by you only).", file=sys.stderr)
            return
        limits = http_limits(args, settings.mcp_forwarded_allow_ips)
        run = functools.partial(serve, stateless=not args.stateful)
        anyio.run(run, settings, args.transport, args.host, args.port, args.log_level, limits)
    except (ConfigError, TransportConfigError, MailError) as exc:
        print(f"gmail-mcp: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
