"""Gmail MCP server: read mail and threads, create in-thread reply drafts, mark read, manage labels. It never sends."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from gmail_mcp.config import GmailSettings, load_settings
from gmail_mcp.errors import ConfigError, MailError
from support_core.errors import ConfigError as CoreConfigError
from support_core.server_main import EXIT_CONFIG, ServerProgram, server_parser
from support_core.version import __version__

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from gmail_mcp.backend import MailBackend
    from gmail_mcp.mailbox import Mailbox

__all__ = ["PROGRAM", "__version__", "main", "open_mailbox", "open_server"]

FORWARDED_ENV = "GMAIL_MCP_FORWARDED_ALLOW_IPS"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server_parser(
        "gmail-mcp",
        "MCP server for a support mailbox (Gmail, or a local Maildir when no Google token is set).",
        default_port=8001,
        forwarded_env=FORWARDED_ENV,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    auth = commands.add_parser("auth", help="authorise access to a Gmail mailbox and save the token file")
    auth.add_argument(
        "--client-secrets", type=str, help="OAuth 'Desktop app' client JSON (or GMAIL_CLIENT_SECRETS_FILE)"
    )
    auth.add_argument("--token-file", type=str, help="where to write the token (default: GMAIL_TOKEN_FILE)")
    auth.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    imap = auth.add_argument_group("IMAP (any mailbox: Gmail app password, Microsoft 365, Fastmail, ...)")
    imap.add_argument("--imap", action="store_true", help="set up an IMAP mailbox instead of the Gmail API")
    imap.add_argument("--host", help="the IMAP server (asked when missing)")
    imap.add_argument("--port", type=int, help="default 993 (143 with --tls starttls or none)")
    imap.add_argument("--tls", choices=("implicit", "starttls", "none"), default="implicit")
    imap.add_argument("--user", help="the login, usually the mailbox address (asked when missing)")
    imap.add_argument("--address", help="the mailbox's own address when the login is not one")
    imap.add_argument(
        "--password-file", help="a file (mode 0600) holding the password; else GMAIL_IMAP_PASSWORD or asked"
    )
    imap.add_argument("--drafts-folder", help="the Drafts folder when the server does not mark it")
    imap.add_argument("--env-file", help="where to write the settings (default ~/.config/support-agent/imap.env)")
    sandbox = commands.add_parser(
        "sandbox", help="install the demo mailbox (mail that matches the sandbox store) into a Maildir folder"
    )
    sandbox.add_argument("maildir", help="the Maildir folder (created when missing; left alone if it holds mail)")
    return parser.parse_args(argv)


@asynccontextmanager
async def open_mailbox(settings: GmailSettings) -> AsyncIterator[tuple[Mailbox, str]]:
    """The configured backend wrapped in a `Mailbox`, and the backend's name ('gmail', 'imap' or 'maildir')."""
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
    elif settings.backend == "imap":
        from gmail_mcp.imap_setup import open_imap_backend

        backend = open_imap_backend(settings)
        name = "imap"
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


@asynccontextmanager
async def open_server(settings: GmailSettings) -> AsyncIterator[tuple[MCPServer, str]]:
    """The configured mailbox and the MCP server over it."""
    from gmail_mcp.server import create_server

    async with open_mailbox(settings) as (mailbox, name):
        yield create_server(mailbox, backend_name=name, settings=settings), f"{name} backend"


READABLE_ERRORS = (CoreConfigError, MailError)
PROGRAM = ServerProgram("gmail-mcp", load_settings, open_server, readable_errors=READABLE_ERRORS)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "sandbox":
        from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox

        installed = install_sandbox_mailbox(Path(args.maildir))
        print(f"Installed {installed} sandbox messages in {args.maildir}.", file=sys.stderr)
    elif args.command == "auth":
        try:
            _auth(args)
        except READABLE_ERRORS as exc:
            print(f"gmail-mcp: {exc}", file=sys.stderr)
            raise SystemExit(EXIT_CONFIG) from None
    else:
        PROGRAM.main(args)


def _auth(args: argparse.Namespace) -> None:
    if args.imap:
        _auth_imap(args)
        return
    from gmail_mcp.auth import authorise

    settings = load_settings(backend="maildir")  # the token file may not exist yet: this command writes it
    secrets = args.client_secrets or settings.client_secrets_file
    if not secrets:
        raise ConfigError("Give --client-secrets PATH (the OAuth 'Desktop app' client JSON from Google Cloud).")
    token_file = Path(args.token_file) if args.token_file else settings.token_file
    authorise(Path(secrets), token_file, open_browser=not args.no_browser)
    print(f"Saved the Gmail token to {token_file} (readable by you only).", file=sys.stderr)


def _auth_imap(args: argparse.Namespace) -> None:
    """Ask for what is missing, check the login and the folders, write the settings (see `imap_setup`)."""
    import getpass

    import anyio

    from gmail_mcp.config import config_dir
    from gmail_mcp.imap_setup import set_up_account

    base = load_settings(backend="maildir")  # GMAIL_IMAP_* from the environment fill what the flags leave out
    host = args.host or base.imap_host or input("IMAP server (e.g. imap.gmail.com): ").strip()
    user = args.user or base.imap_user or input("Login (usually the mailbox address): ").strip()
    overrides: dict[str, object] = {"backend": "imap", "imap_host": host, "imap_user": user, "imap_tls": args.tls}
    if args.port:
        overrides["imap_port"] = args.port
    if args.address:
        overrides["address"] = args.address
    if args.drafts_folder:
        overrides["imap_drafts_folder"] = args.drafts_folder
    if args.password_file:
        overrides["imap_password_file"] = Path(args.password_file)
    elif base.imap_password is None:
        overrides["imap_password"] = getpass.getpass(f"Password or app password for {user}: ")
    else:
        overrides["imap_password"] = base.imap_password
    settings = load_settings(**overrides)
    env_file = Path(args.env_file) if args.env_file else config_dir() / "imap.env"
    report, _ = anyio.run(set_up_account, settings, env_file)
    idle = "IDLE: yes" if report.idle else "IDLE: no (new mail is seen at each poll)"
    print(
        f"Logged in to {host}: INBOX holds {report.inbox_messages} messages, drafts go to "
        f"{report.folders['drafts']!r}; {idle}.\nSaved the settings to {env_file} (readable by you only): load it "
        "as the Gmail server's environment (e.g. copy its lines into .env).",
        file=sys.stderr,
    )
