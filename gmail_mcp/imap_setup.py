"""Opening the IMAP backend from the settings, and checking an IMAP account (for `auth --imap` and `diagnose`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmail_mcp.config import GmailSettings
from gmail_mcp.errors import ConfigError, MailError
from gmail_mcp.imap import ImapBackend
from gmail_mcp.imap_connection import ImapConnection, ImapEndpoint
from support_core.addresses import AddressError, normalise_address
from support_core.diagnosis import Check, bounded, failed, passed, skipped
from support_core.retry import RetryPolicy

__all__ = [
    "AccountReport",
    "check_account",
    "endpoint_of",
    "imap_address",
    "imap_checks",
    "open_imap_backend",
    "write_env_file",
]


def endpoint_of(settings: GmailSettings, *, timeout: float | None = None) -> ImapEndpoint:
    """Where and how to log in, from GMAIL_IMAP_* (the password read now: a bad password file fails here)."""
    if not settings.imap_host or not settings.imap_user:
        raise ConfigError("GMAIL_BACKEND=imap needs GMAIL_IMAP_HOST and GMAIL_IMAP_USER: run `gmail-mcp auth --imap`")
    return ImapEndpoint(
        host=settings.imap_host,
        port=settings.imap_port_number,
        user=settings.imap_user,
        password=settings.imap_secret(),
        tls=settings.imap_tls,
        timeout=timeout or settings.timeout,
    )


def imap_address(settings: GmailSettings) -> str:
    """The mailbox's own address: GMAIL_ADDRESS when set, else the login user when it is an address."""
    if "address" in settings.model_fields_set:
        return settings.address
    try:
        return normalise_address(settings.imap_user or "")
    except AddressError:
        raise ConfigError(
            "The IMAP login user is not an email address: set GMAIL_ADDRESS to the mailbox's own address"
        ) from None


def open_imap_backend(settings: GmailSettings) -> ImapBackend:
    policy = RetryPolicy(
        base=settings.retry_base_delay, max_delay=settings.retry_max_delay, attempts=settings.max_retries + 1
    )
    folders = {"drafts": settings.imap_drafts_folder, "sent": settings.imap_sent_folder}
    return ImapBackend(
        ImapConnection(endpoint_of(settings), policy),
        address=imap_address(settings),
        folders=folders,
        idle_wait=settings.imap_idle_wait,
    )


@dataclass(frozen=True)
class AccountReport:
    """What one login to an IMAP account showed."""

    capabilities: frozenset[str]
    folders: dict[str, str]
    inbox_messages: int
    enabled: frozenset[str] = frozenset()
    """CONDSTORE/QRESYNC as ENABLEd on the working connection."""

    @property
    def idle(self) -> bool:
        return "IDLE" in self.capabilities

    @property
    def gmail(self) -> bool:
        return "X-GM-EXT-1" in self.capabilities


async def check_account(backend: ImapBackend) -> AccountReport:
    """Log in (once, no retry beyond the backend's policy), list the folders and count INBOX."""
    folders = await backend.folders()

    def count(client: Any) -> int:
        status = client.folder_status("INBOX", [b"MESSAGES"])
        return int(status.get(b"MESSAGES", 0))

    inbox = await backend.connection.run(count, label="STATUS INBOX")
    connection = backend.connection
    return AccountReport(connection.capabilities, folders, inbox, enabled=connection.enabled)


def describe(endpoint: ImapEndpoint) -> str:
    tls = {"implicit": "TLS", "starttls": "STARTTLS", "none": "no TLS, loopback"}.get(endpoint.tls, endpoint.tls)
    return f"IMAP {endpoint.host}:{endpoint.port} ({tls})"


async def imap_checks(backend: ImapBackend, call_timeout: float) -> list[Check]:
    """`diagnose` for an IMAP mailbox: the server and login, its capabilities, the Drafts folder, INBOX's size."""
    endpoint = backend.connection.endpoint
    checks = [
        passed("Gmail backend", describe(endpoint)),
        skipped("Gmail token", "not used: IMAP backend (password login)"),
        skipped("Gmail scopes", "not used: IMAP backend"),
    ]
    fix = "check GMAIL_IMAP_HOST, GMAIL_IMAP_PORT, GMAIL_IMAP_TLS, GMAIL_IMAP_USER and the password"
    try:
        report = await bounded(call_timeout * 2 + 1, check_account(backend))
    except TimeoutError:
        checks.append(failed("IMAP login", f"no answer within {call_timeout:g}s", fix))
        return checks + [skipped(name, "skipped: no login") for name in ("IMAP drafts folder", "Gmail mailbox")]
    except MailError as exc:
        checks.append(failed("IMAP login", str(exc)[:300], fix))
        return checks + [skipped(name, "skipped: no login") for name in ("IMAP drafts folder", "Gmail mailbox")]
    features = ["IDLE (new mail in seconds)" if report.idle else "no IDLE (new mail at the next poll)"]
    features += ["Gmail extensions (X-GM-THRID, X-GM-LABELS)"] if report.gmail else []
    if "QRESYNC" in report.enabled:
        features.append("QRESYNC (only changed flags are read; deletions are reported)")
    elif "CONDSTORE" in report.enabled:
        features.append("CONDSTORE (only changed flags are read)")
    checks.append(passed("IMAP login", f"logged in; {', '.join(features)}"))
    if "drafts" in report.folders:
        checks.append(passed("IMAP drafts folder", report.folders["drafts"]))
    else:
        checks.append(
            failed(
                "IMAP drafts folder",
                "no folder marked \\Drafts and none named Drafts",
                "create a Drafts folder in the mail client, or name it with GMAIL_IMAP_DRAFTS_FOLDER",
            )
        )
    address = await backend.address()
    checks.append(passed("Gmail mailbox", f"{address} (INBOX holds {report.inbox_messages} messages)"))
    return checks


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Write `KEY=value` lines to `path`, readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key}={_quoted(value)}\n" for key, value in values.items())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def _quoted(value: str) -> str:
    """A value as a .env file reads it back: single quotes when it holds anything but plain characters."""
    if value and all(char.isalnum() or char in "@._-:/+" for char in value):
        return value
    if "'" in value or "\n" in value:
        raise ConfigError("A setting holds a quote or a line break, which an env file cannot hold safely")
    return f"'{value}'"


async def set_up_account(settings: GmailSettings, env_file: Path) -> tuple[AccountReport, dict[str, str]]:
    """`gmail-mcp auth --imap`: log in with `settings`, find the folders, then write the settings to `env_file`
    (0600). Nothing is written when the login or the Drafts folder fails."""
    backend = open_imap_backend(settings.model_copy(update={"max_retries": 0}))
    try:
        report = await check_account(backend)
    finally:
        await backend.aclose()
    if "drafts" not in report.folders:
        raise ConfigError(
            "Logged in, but the mailbox has no Drafts folder (none marked \\Drafts, none named Drafts): create one in "
            "your mail client, or name it with --drafts-folder"
        )
    values = {
        "GMAIL_BACKEND": "imap",
        "GMAIL_IMAP_HOST": settings.imap_host or "",
        "GMAIL_IMAP_PORT": str(settings.imap_port_number),
        "GMAIL_IMAP_TLS": settings.imap_tls,
        "GMAIL_IMAP_USER": settings.imap_user or "",
    }
    if settings.imap_password_file is not None:
        values["GMAIL_IMAP_PASSWORD_FILE"] = str(settings.imap_password_file)
    else:
        values["GMAIL_IMAP_PASSWORD"] = settings.imap_secret()
    if "address" in settings.model_fields_set:
        values["GMAIL_ADDRESS"] = settings.address
    if settings.imap_drafts_folder:
        values["GMAIL_IMAP_DRAFTS_FOLDER"] = settings.imap_drafts_folder
    write_env_file(env_file, values)
    return report, values
