"""The Gmail backend against the emulator: retries that back off, re-authorisation, token write-back, quota."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from gmail_mcp.credentials import save_credentials
from gmail_mcp.emulator import GmailEmulator, serve_emulator
from gmail_mcp.errors import MailboxUnavailableError, MessageNotFoundError, ReauthorizationRequired
from gmail_mcp.gmail_api import GmailApiBackend
from shopify_mcp.backoff import Backoff

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
MAIL = (
    b"From: a@example.com\r\nTo: support@aurora-activewear.example\r\nSubject: Hi\r\n"
    b"Message-ID: <m1@example.com>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nHello\r\n"
)


@pytest.fixture
async def emulator_url() -> AsyncIterator[tuple[GmailEmulator, str]]:
    emulator = GmailEmulator()
    emulator.deliver(MAIL)
    async with serve_emulator(emulator) as url:
        yield emulator, url


def backend(
    url: str, *, token: str | None = None, refresh: str = "refresh-1", path: Path | None = None
) -> GmailApiBackend:
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=token, refresh_token=refresh, token_uri=f"{url}/token", client_id="c", client_secret="s"
    )
    return GmailApiBackend(credentials, token_path=path, api_endpoint=url, backoff=Backoff(0.01, 0.05, 4))


async def test_rate_limits_and_server_errors_are_retried(emulator_url: tuple[GmailEmulator, str]) -> None:
    emulator, url = emulator_url
    emulator.faults.too_many_requests(1, retry_after=0)
    emulator.faults.rate_limited(1, reason="userRateLimitExceeded")
    emulator.faults.server_error(503, 1)
    gmail = backend(url)
    try:
        assert await gmail.address() == emulator.address
    finally:
        await gmail.aclose()
    assert emulator.faults.served_total == 3


async def test_persistent_failure_is_reported_after_retries(emulator_url: tuple[GmailEmulator, str]) -> None:
    emulator, url = emulator_url
    emulator.faults.server_error(500, 10)
    gmail = backend(url)
    try:
        with pytest.raises(MailboxUnavailableError, match="after 4 attempts"):
            await gmail.address()
    finally:
        await gmail.aclose()


async def test_dead_refresh_token_asks_for_reauthorisation_once(emulator_url: tuple[GmailEmulator, str]) -> None:
    emulator, url = emulator_url
    emulator.tokens.revoke("refresh-dead")
    gmail = backend(url, refresh="refresh-dead")
    try:
        with pytest.raises(ReauthorizationRequired, match="gmail-mcp auth"):
            await gmail.address()
    finally:
        await gmail.aclose()
    token_calls = [r for r in emulator.requests if r.path == "/token"]
    assert len(token_calls) == 1, "a dead token is not retried in a loop"


async def test_refreshed_token_is_written_back(emulator_url: tuple[GmailEmulator, str], tmp_path: Path) -> None:
    _, url = emulator_url
    path = tmp_path / "token.json"
    gmail = backend(url, path=path)
    save_credentials(gmail._credentials, path)
    try:
        await gmail.address()
    finally:
        await gmail.aclose()
    saved = json.loads(path.read_text())
    assert saved["token"] and saved["token"].startswith("ya29.")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_missing_message_is_not_found(emulator_url: tuple[GmailEmulator, str]) -> None:
    _, url = emulator_url
    gmail = backend(url)
    try:
        with pytest.raises(MessageNotFoundError):
            await gmail.fetch("nope")
    finally:
        await gmail.aclose()


async def test_label_changes_use_one_batch_for_many_messages(emulator_url: tuple[GmailEmulator, str]) -> None:
    emulator, url = emulator_url
    ids = [emulator.deliver(MAIL.replace(b"<m1@", f"<m{n}x@".encode())) for n in range(12)]
    gmail = backend(url)
    try:
        created = await gmail.modify(ids, add=["support/processed"], remove=["UNREAD"])
    finally:
        await gmail.aclose()
    assert created == ["support/processed"]
    assert emulator.units_by_method().get("users.messages.batchModify") == 50
    assert "users.messages.modify" not in emulator.units_by_method()
    assert all("UNREAD" not in emulator.message(i).label_ids for i in ids)
