"""OAuth against the emulator: google-auth refreshes through `/token`, invalid_grant, and 401 on bad tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import httplib2
import pytest
from google.auth.exceptions import RefreshError

from support_testing.gmail_emulator import EMULATOR_TOKEN, TOKEN_METHOD, GmailEmulator
from tests.gmail_mcp.emulator.conftest import CLIENT_ID, REFRESH_TOKEN, Gmail, make_credentials

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


async def raw_get(url: str, headers: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """A plain httplib2 GET (no google-auth in the way), run in a worker thread."""

    def get() -> tuple[Any, dict[str, Any]]:
        http = httplib2.Http(timeout=10)
        try:
            response, content = http.request(url, "GET", headers=headers)
        finally:
            http.close()
        return response, json.loads(content)

    return await anyio.to_thread.run_sync(get)


@pytest.mark.parametrize("emulator", [{"access_tokens": ()}], indirect=True)
async def test_google_auth_refreshes_through_the_token_endpoint(emulator: GmailEmulator, gmail: Gmail) -> None:
    gmail.credentials = make_credentials(gmail.url, token=None)
    profile = await gmail.call(lambda u: u.getProfile(userId="me"))
    assert profile["emailAddress"] == emulator.address
    token = gmail.credentials.token
    assert token is not None and token.startswith("ya29.") and emulator.tokens.refreshes == 1
    expiry = gmail.credentials.expiry.replace(tzinfo=UTC)
    assert timedelta(minutes=55) < expiry - datetime.now(UTC) <= timedelta(seconds=3599)
    await gmail.call(lambda u: u.labels().list(userId="me"))
    assert emulator.tokens.refreshes == 1 and gmail.credentials.token == token
    assert [r.method for r in emulator.requests] == [TOKEN_METHOD, "users.getProfile", "users.labels.list"]


@pytest.mark.parametrize("emulator", [{"access_tokens": (), "clock": Clock()}], indirect=True)
async def test_a_token_the_server_expired_is_refreshed_after_a_401(emulator: GmailEmulator, gmail: Gmail) -> None:
    gmail.credentials = make_credentials(gmail.url, token=None)
    await gmail.call(lambda u: u.getProfile(userId="me"))
    clock = emulator.clock
    assert isinstance(clock, Clock)
    clock.now += 3600  # the server's clock passes the token's expiry; the client still believes it valid
    await gmail.call(lambda u: u.getProfile(userId="me"))
    assert emulator.tokens.refreshes == 2
    assert [(r.method, r.status) for r in emulator.requests] == [
        (TOKEN_METHOD, 200),
        ("users.getProfile", 200),
        ("users.getProfile", 401),
        (TOKEN_METHOD, 200),
        ("users.getProfile", 200),
    ]


@pytest.mark.parametrize("emulator", [{"access_tokens": (), "revoked_refresh_tokens": {REFRESH_TOKEN}}], indirect=True)
async def test_a_revoked_refresh_token_raises_refresh_error(emulator: GmailEmulator, gmail: Gmail) -> None:
    gmail.credentials = make_credentials(gmail.url, token=None)
    with pytest.raises(RefreshError, match=r"invalid_grant: Token has been expired or revoked\.") as refused:
        await gmail.call(lambda u: u.getProfile(userId="me"), num_retries=2)
    assert refused.value.retryable is False
    assert [(r.method, r.status) for r in emulator.requests] == [(TOKEN_METHOD, 400)]  # google-auth did not retry


async def test_revoking_mid_session_surfaces_on_the_next_refresh(emulator: GmailEmulator, gmail: Gmail) -> None:
    await gmail.call(lambda u: u.getProfile(userId="me"))
    emulator.tokens.revoke(REFRESH_TOKEN)
    emulator.tokens.expire_all()
    with pytest.raises(RefreshError, match="invalid_grant"):
        await gmail.call(lambda u: u.getProfile(userId="me"))
    assert [r.status for r in emulator.requests] == [200, 401, 400]


@pytest.mark.parametrize("emulator", [{"access_tokens": (), "clients": {CLIENT_ID: "another secret"}}], indirect=True)
async def test_a_wrong_client_secret_is_invalid_client(emulator: GmailEmulator, gmail: Gmail) -> None:
    gmail.credentials = make_credentials(gmail.url, token=None)
    with pytest.raises(RefreshError, match="invalid_client"):
        await gmail.call(lambda u: u.getProfile(userId="me"))


async def test_missing_and_unknown_tokens_get_googles_401(emulator: GmailEmulator, gmail: Gmail) -> None:
    url = f"{gmail.url}/gmail/v1/users/me/profile"
    response, body = await raw_get(url, {})
    assert response.status == 401 and response["www-authenticate"].startswith("Bearer")
    assert body["error"]["status"] == "UNAUTHENTICATED" and body["error"]["errors"][0]["reason"] == "required"
    response, body = await raw_get(url, {"Authorization": "Bearer ya29.not-issued-here"})
    assert response.status == 401 and body["error"]["errors"][0]["reason"] == "authError"
    response, body = await raw_get(url, {"Authorization": f"Bearer {EMULATOR_TOKEN}"})
    assert response.status == 200 and body["emailAddress"] == emulator.address
    assert emulator.total_units == 1  # refused requests cost nothing


async def test_token_endpoint_faults_are_retried_by_google_auth(emulator: GmailEmulator, gmail: Gmail) -> None:
    emulator.faults.server_error(503, method=TOKEN_METHOD)
    emulator.tokens.expire_all()
    await gmail.call(lambda u: u.getProfile(userId="me"))
    assert [(r.method, r.status) for r in emulator.requests] == [
        ("users.getProfile", 401),
        (TOKEN_METHOD, 503),
        (TOKEN_METHOD, 200),
        ("users.getProfile", 200),
    ]
