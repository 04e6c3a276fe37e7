"""Admin API access tokens: a static `shpat_` token, or Dev-Dashboard client credentials refreshed before expiry."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import anyio
import httpx

from shopify_mcp.errors import AuthenticationError, UpstreamUnavailableError

logger = logging.getLogger(__name__)

REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a client-credentials token is replaced."""


class TokenProvider(Protocol):
    """Gives the token for the next request; `invalidate` drops a token Shopify refused."""

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...

    @property
    def renewable(self) -> bool: ...


class StaticToken:
    """A legacy custom-app token (`shpat_...`): never refreshed, a 401 means it is wrong or revoked."""

    renewable = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """Nothing to renew: the next 401 reaches the caller."""


class ClientCredentialsToken:
    """Dev-Dashboard app credentials exchanged at `/admin/oauth/access_token` for a ~24 h token.

    The token is fetched on first use and replaced `REFRESH_MARGIN` seconds before it expires; concurrent
    callers share one exchange.
    """

    renewable = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = f"{base_url}/admin/oauth/access_token"
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()
        self.granted_scopes: tuple[str, ...] = ()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN:
                await self._exchange()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        self._token = None

    async def _exchange(self) -> None:
        form = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
        }
        try:
            response = await self._http.post(self._url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamUnavailableError(
                f"Could not reach Shopify to exchange the app's client credentials ({type(exc).__name__})."
            ) from None
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                "Shopify refused the app's client credentials: check SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET "
                "(Dev Dashboard > your app > Settings) and that the app is installed on this store.",
                status=response.status_code,
            )
        if response.status_code >= 300:
            raise UpstreamUnavailableError(
                f"Shopify's token endpoint answered HTTP {response.status_code}; try again shortly.",
                status=response.status_code,
            )
        try:
            payload = response.json()
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in") or 86399)
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError("Shopify's token endpoint answered without an access token.") from None
        self._token = token
        self._expires_at = self._clock() + lifetime
        self.granted_scopes = tuple(s for s in str(payload.get("scope", "")).split(",") if s)
        logger.info("Obtained a Shopify access token from client credentials (valid %.0f s)", lifetime)
