"""OAuth for the emulator: the refresh-token grant at `/token` and the bearer-token check on every API call."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

GMAIL_MODIFY_SCOPE = "https://www.googleapis.com/auth/gmail.modify"
EMULATOR_TOKEN = "ya29.emulator-static-token"
"""The static access token a fresh emulator accepts (besides the ones it issues at `/token`)."""
TOKEN_TTL = 3599


class TokenAuthority:
    """Issues access tokens for refresh tokens and checks bearer tokens. All sets are mutable for tests.

    `refresh_tokens=None` accepts any refresh token that is not in `revoked_refresh_tokens`; `clients=None`
    accepts any client id/secret pair. `clock` is wall-clock seconds; issued tokens live `ttl` seconds.
    """

    def __init__(
        self,
        *,
        access_tokens: Iterable[str] = (EMULATOR_TOKEN,),
        refresh_tokens: Iterable[str] | None = None,
        revoked_refresh_tokens: Iterable[str] = (),
        clients: Mapping[str, str] | None = None,
        scope: str = GMAIL_MODIFY_SCOPE,
        ttl: int = TOKEN_TTL,
        clock: Callable[[], float],
    ) -> None:
        self.access_tokens: set[str] = set(access_tokens)
        self.refresh_tokens: set[str] | None = None if refresh_tokens is None else set(refresh_tokens)
        self.revoked_refresh_tokens: set[str] = set(revoked_refresh_tokens)
        self.clients: dict[str, str] | None = None if clients is None else dict(clients)
        self.scope = scope
        self.ttl = ttl
        self._clock = clock
        self.issued: dict[str, float] = {}
        """Issued access token -> expiry (wall-clock seconds)."""
        self.refreshes = 0
        """How many access tokens `/token` has issued."""
        self.authorization_codes: set[str] = set()
        """Codes a simulated consent screen handed out; each can be exchanged once (authorization_code grant)."""

    def valid(self, token: str) -> bool:
        if token in self.access_tokens:
            return True
        expires = self.issued.get(token)
        return expires is not None and self._clock() < expires

    def expire_all(self) -> None:
        """Every issued and static access token stops working (clients must refresh)."""
        self.access_tokens.clear()
        self.issued = dict.fromkeys(self.issued, 0.0)

    def revoke(self, refresh_token: str) -> None:
        """The refresh token stops working and the access tokens issued so far are dropped."""
        self.revoked_refresh_tokens.add(refresh_token)
        self.issued.clear()

    def exchange(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a token request: `(200, token response)` or `(4xx, {"error", "error_description"})`."""
        grant = form.get("grant_type", "")
        if not grant:
            return _oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
        if grant == "authorization_code":
            return self._exchange_code(form)
        if grant != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        for name in ("client_id", "refresh_token"):
            if not form.get(name):
                return _oauth_error(400, "invalid_request", f"Missing required parameter: {name}")
        client_id, refresh_token = form["client_id"], form["refresh_token"]
        if self.clients is not None and self.clients.get(client_id) != form.get("client_secret"):
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        known = self.refresh_tokens is None or refresh_token in self.refresh_tokens
        if refresh_token in self.revoked_refresh_tokens or not known:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        token = f"ya29.{secrets.token_urlsafe(24)}"
        self.issued[token] = self._clock() + self.ttl
        self.refreshes += 1
        return 200, {"access_token": token, "expires_in": self.ttl, "scope": self.scope, "token_type": "Bearer"}

    def grant_code(self) -> str:
        """A one-time authorization code, as Google's consent screen would put on the redirect URL."""
        code = f"4/{secrets.token_urlsafe(16)}"
        self.authorization_codes.add(code)
        return code

    def _exchange_code(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        code = form.get("code", "")
        if code not in self.authorization_codes:
            return _oauth_error(400, "invalid_grant", "Malformed auth code.")
        if not form.get("redirect_uri", "").startswith(("http://127.0.0.1:", "http://localhost:")):
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        self.authorization_codes.discard(code)
        refresh_token = f"1//{secrets.token_urlsafe(24)}"
        if self.refresh_tokens is not None:
            self.refresh_tokens.add(refresh_token)
        token = f"ya29.{secrets.token_urlsafe(24)}"
        self.issued[token] = self._clock() + self.ttl
        self.refreshes += 1
        return 200, {
            "access_token": token,
            "refresh_token": refresh_token,
            "expires_in": self.ttl,
            "scope": self.scope,
            "token_type": "Bearer",
        }


def _oauth_error(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "error_description": description}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
