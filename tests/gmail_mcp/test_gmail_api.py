"""The Gmail backend against the emulator: retries that back off, re-authorisation, token write-back, quota."""

from __future__ import annotations

import json
import logging
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gmail_mcp.credentials import save_credentials
from gmail_mcp.errors import (
    ConfigError,
    MailboxUnavailableError,
    MailError,
    MessageNotFoundError,
    ReauthorizationRequired,
)
from gmail_mcp.gmail_api import GmailApiBackend
from support_core.embedded import serve_on_loopback
from support_core.retry import RetryPolicy
from support_testing.gmail_emulator import TOKEN_METHOD, GmailEmulator, serve_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
MAIL = (
    b"From: a@example.com\r\nTo: support@aurora-activewear.example\r\nSubject: Hi\r\n"
    b"Message-ID: <m1@example.com>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nHello\r\n"
)


FAST = RetryPolicy(0.01, 0.05, 4)


@pytest.fixture
async def emulator_url() -> AsyncIterator[tuple[GmailEmulator, str]]:
    emulator = GmailEmulator()
    emulator.deliver(MAIL)
    async with serve_emulator(emulator) as url:
        yield emulator, url


def backend(
    url: str,
    *,
    token: str | None = None,
    refresh: str = "refresh-1",
    path: Path | None = None,
    api: str | None = None,
    retry: RetryPolicy = FAST,
) -> GmailApiBackend:
    """A backend on the emulator at `url` (token endpoint included); `api` sends the API calls elsewhere."""
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=token, refresh_token=refresh, token_uri=f"{url}/token", client_id="c", client_secret="s"
    )
    return GmailApiBackend(credentials, token_path=path, api_endpoint=api or url, backoff=retry)


GOOGLE_404 = (
    "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error 404 (Not Found)!!1</title><p><b>404.</b> "
    "<ins>That's an error.</ins><p>The requested URL <code>{path}</code> was not found on this server. "
    "<ins>That's all we know.</ins>"
)


async def not_an_api(request: Request) -> HTMLResponse:
    """What Google's front end answers for a path that is no API: an HTML page, not Gmail's JSON error."""
    return HTMLResponse(GOOGLE_404.format(path=request.url.path), status_code=404)


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
        with pytest.raises(
            MailboxUnavailableError, match=r"after 4 attempts \(HTTP 500 backendError\)\. Try again later"
        ):
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


async def test_a_failing_token_endpoint_is_an_outage_not_a_dead_token(emulator_url: tuple[GmailEmulator, str]) -> None:
    """Google's token endpoint answering 503 (after google-auth's own three tries) says nothing about the token."""
    emulator, url = emulator_url
    emulator.faults.server_error(503, 10, method=TOKEN_METHOD)
    gmail = backend(url, retry=RetryPolicy(0.01, 0.05, 1))
    try:
        with pytest.raises(MailboxUnavailableError, match=r"after 1 attempt \(the token refresh failed\)"):
            await gmail.address()
    finally:
        await gmail.aclose()


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
        with pytest.raises(MessageNotFoundError, match=r"no such message \(messages.get\): it may have been deleted"):
            await gmail.fetch("nope")
        with pytest.raises(MessageNotFoundError, match=r"no such thread \(threads.get\): it may have been deleted"):
            await gmail.fetch_thread("nope")
    finally:
        await gmail.aclose()


async def test_a_history_cursor_gone_from_gmail_gives_a_full_sync(emulator_url: tuple[GmailEmulator, str]) -> None:
    """history.list answers 404 for a start id older than Gmail keeps: a full sync, not an error."""
    emulator, url = emulator_url
    cursor = str(emulator.history_id)
    emulator.deliver(MAIL.replace(b"<m1@", b"<m2@"))
    emulator.expire_history()
    gmail = backend(url)
    try:
        changes = await gmail.changes(cursor, fallback_query="in:inbox", limit=10)
    finally:
        await gmail.aclose()
    assert changes.full_sync and len(changes.message_ids) == 2
    assert [r.status for r in emulator.requests if r.method == "users.history.list"] == [404]


async def test_a_404_from_a_wrong_api_endpoint_names_the_setting(emulator_url: tuple[GmailEmulator, str]) -> None:
    """Gmail's JSON 404 for a call that names no message: the address is wrong, nothing was deleted."""
    _, url = emulator_url
    gmail = backend(url, api=f"{url}/not-gmail/", retry=RetryPolicy(0.01, 0.05, 3))
    try:
        with pytest.raises(ConfigError, match=r"404 for getProfile: there is no Gmail API at .*/not-gmail/") as raised:
            await gmail.address()
    finally:
        await gmail.aclose()
    assert "GMAIL_API_ENDPOINT" in str(raised.value) and "deleted" not in str(raised.value)
    assert gmail.calls == 1, "a wrong address is not retried"


async def test_an_html_404_for_a_thread_is_a_wrong_endpoint_not_a_deleted_thread(
    emulator_url: tuple[GmailEmulator, str],
) -> None:
    _, url = emulator_url
    peer = Starlette(routes=[Route("/{path:path}", not_an_api, methods=["GET", "POST"])])
    async with serve_on_loopback(peer, name="not the Gmail API") as elsewhere:
        gmail = backend(url, api=f"{elsewhere}/")
        try:
            with pytest.raises(ConfigError, match=r"404 for threads.get: there is no Gmail API") as raised:
                await gmail.fetch_thread("18c0a1b2c3d4e5f6")
        finally:
            await gmail.aclose()
    assert "deleted" not in str(raised.value) and gmail.calls == 1


async def test_retry_after_sets_the_real_wait(emulator_url: tuple[GmailEmulator, str]) -> None:
    """With a 5 s backoff, only the server's 0.3 s explains a retry this fast; and it is waited for in full."""
    emulator, url = emulator_url
    gmail = backend(url, retry=RetryPolicy(base=5.0, max_delay=5.0, attempts=3))
    try:
        await gmail.search("in:inbox", limit=1)  # the token is refreshed before the clock starts
        emulator.faults.too_many_requests(1, retry_after=0.3)
        started = time.monotonic()
        await gmail.search("in:inbox", limit=1)
        elapsed = time.monotonic() - started
    finally:
        await gmail.aclose()
    assert 0.3 <= elapsed < 2.5
    assert emulator.faults.served_total == 1


async def test_a_long_retry_after_is_capped(emulator_url: tuple[GmailEmulator, str]) -> None:
    emulator, url = emulator_url
    gmail = backend(url, retry=RetryPolicy(base=0.01, max_delay=0.3, attempts=3))
    try:
        await gmail.search("in:inbox", limit=1)
        emulator.faults.http_status(503, 1, retry_after=3600)
        started = time.monotonic()
        await gmail.search("in:inbox", limit=1)
        elapsed = time.monotonic() - started
    finally:
        await gmail.aclose()
    assert 0.3 <= elapsed < 2.5


async def test_retries_are_logged_at_warning_without_the_token(
    emulator_url: tuple[GmailEmulator, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gmail_mcp")
    emulator, url = emulator_url
    emulator.faults.server_error(503, 1)
    gmail = backend(url)
    try:
        await gmail.address()
    finally:
        await gmail.aclose()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("Gmail getProfile failed (HTTP 503 backendError); retry 1/3 in ")
    assert "ya29." not in caplog.text and "refresh-1" not in caplog.text


async def test_a_missing_scope_is_not_retried(emulator_url: tuple[GmailEmulator, str]) -> None:
    emulator, url = emulator_url
    emulator.faults.http_status(
        403, 5, reason="insufficientPermissions", message="Request had insufficient authentication scopes."
    )
    gmail = backend(url)
    try:
        with pytest.raises(MailError, match=r"Gmail refused getProfile \(HTTP 403, insufficientPermissions\)"):
            await gmail.address()
    finally:
        await gmail.aclose()
    assert emulator.faults.served_total == 1 and gmail.calls == 1


async def test_a_refused_access_token_is_not_retried_by_us(emulator_url: tuple[GmailEmulator, str]) -> None:
    """google-auth refreshes and repeats a 401 itself; when Gmail still refuses, the answer is to re-authorise."""
    emulator, url = emulator_url
    emulator.faults.http_status(401, 10, reason="authError")
    gmail = backend(url)
    try:
        with pytest.raises(ReauthorizationRequired, match="gmail-mcp auth"):
            await gmail.address()
    finally:
        await gmail.aclose()
    assert gmail.calls == 1
    profile_calls = [r for r in emulator.requests if r.method == "users.getProfile"]
    assert len(profile_calls) <= 3, "at most google-auth's own refresh-and-repeat, never our backoff on top"


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
