"""Fixtures for the Gmail emulator tests: an emulator, and the real Google client pointed at it over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from support_testing.gmail_emulator import EMULATOR_TOKEN, GMAIL_MODIFY_SCOPE, GmailEmulator, serve_emulator

REFRESH_TOKEN = "1//emulator-refresh-token"
CLIENT_ID = "emulator-client.apps.googleusercontent.com"
CLIENT_SECRET = "emulator-secret"
RETRY_RANDOM = 0.05
"""What `random()` returns to googleapiclient's retries here. It waits `random() * 2**n` seconds before retry n (up
to 2 s before the first), which says nothing about the emulator; it keeps that function on each request (`_rand`,
beside `_sleep`: its own tests set them), so here a retry really waits, but 0.1 s (0.2 s before a second one)."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> GmailEmulator:
    """A fresh emulator; `@pytest.mark.parametrize("emulator", [{...}], indirect=True)` passes constructor kwargs."""
    return GmailEmulator(**getattr(request, "param", {}))


def make_credentials(url: str, token: str | None = EMULATOR_TOKEN, refresh_token: str = REFRESH_TOKEN) -> Credentials:
    """Credentials that refresh against the emulator's `/token` (from_authorized_user_info would use Google's)."""
    return Credentials(
        token=token,
        refresh_token=refresh_token,
        token_uri=f"{url}/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=[GMAIL_MODIFY_SCOPE],
    )


class Gmail:
    """The real google-api-python-client against a served emulator; every call runs in a worker thread.

    The emulator shares the test's event loop, so a blocking `execute()` on the loop would deadlock. Each call
    gets its own `AuthorizedHttp` over its own `httplib2.Http` (httplib2 is not thread-safe), closed afterwards.
    """

    def __init__(self, url: str, credentials: Credentials) -> None:
        self.url = url
        self.credentials = credentials
        self.service = build(
            "gmail",
            "v1",
            credentials=credentials,
            client_options={"api_endpoint": f"{url}/"},
            static_discovery=True,
            cache_discovery=False,
        )

    async def call(self, make: Callable[[Any], Any], *, num_retries: int = 0, http_timeout: float = 10) -> Any:
        """`make(service.users())` builds the request; returns what `execute()` returns."""

        def execute() -> Any:
            http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=httplib2.Http(timeout=http_timeout))
            request = make(self.service.users())
            request._rand = lambda: RETRY_RANDOM
            try:
                return request.execute(http=http, num_retries=num_retries)
            finally:
                http.close()

        return await anyio.to_thread.run_sync(execute)

    def close(self) -> None:
        self.service.close()


@pytest.fixture
async def gmail(emulator: GmailEmulator) -> AsyncIterator[Gmail]:
    async with serve_emulator(emulator) as url:
        client = Gmail(url, make_credentials(url))
        try:
            yield client
        finally:
            client.close()
