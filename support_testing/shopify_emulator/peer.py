"""The Shopify emulator as a test peer: the sandbox's emulator plus what only tests and benchmarks need (a queue of
faults, a log of every request with its cost, and the client-credentials token exchange of Dev Dashboard apps)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shopify_mcp.emulator.app import ALL_SCOPES, SANDBOX_TOKEN, SUPPORTED_VERSIONS, Body
from shopify_mcp.emulator.app import ShopifyEmulator as SandboxEmulator
from shopify_mcp.emulator.cost import DEFAULT_BUCKET_SIZE, DEFAULT_RESTORE_RATE, MAX_QUERY_COST
from shopify_mcp.emulator.execution import Outcome, requested_cost, throttled_payload
from shopify_mcp.emulator.store import Store
from support_testing.shopify_emulator.faults import FaultPlan
from support_testing.stall import stall

TOKEN_TTL = 86399.0
_SERVED_FAULT: ContextVar[str | None] = ContextVar("served_fault", default=None)
"""The fault served to the request being answered (each request runs in its own task), for its log record."""
_REQUEST: ContextVar[Request | None] = ContextVar("request", default=None)
"""The request being answered, which a delay fault watches for its client hanging up."""
_ABANDONED: ContextVar[bool] = ContextVar("abandoned", default=False)
"""Whether the client of the request being answered hung up during a delay (it is then not logged)."""
REASONS = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the emulator saw it (tokens masked). `operation` is None for the token endpoint."""

    timestamp: float
    path: str
    api_version: str | None
    operation: str | None
    variables: dict[str, Any] | None
    requested_cost: int | None
    actual_cost: int | None
    status: int
    throttled: bool
    token: str | None
    fault: str | None
    duration: float


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    client_id: str
    expires_at: float


def mask_token(token: str | None) -> str | None:
    """`shpat_…3f9a`: enough to tell tokens apart in a log, never the secret (short tokens keep only the prefix)."""
    if not token:
        return None
    return f"{token[:6]}…{token[-4:]}" if len(token) >= 20 else f"{token[:6]}…"


class ShopifyEmulator(SandboxEmulator):
    """The sandbox's emulator with mutable state for tests: `faults`, `scopes`, `requests`, `issued_tokens`.

    `clock` (monotonic seconds) also drives token expiry and log timestamps, so tests can move time.
    """

    def __init__(
        self,
        *,
        store: Store,
        access_tokens: Iterable[str] = (SANDBOX_TOKEN,),
        client_credentials: dict[str, str] | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
        bucket_size: float = DEFAULT_BUCKET_SIZE,
        restore_rate: float = DEFAULT_RESTORE_RATE,
        max_query_cost: int | None = MAX_QUERY_COST,
        token_ttl: float = TOKEN_TTL,
        api_versions: Iterable[str] = SUPPORTED_VERSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_credentials: dict[str, str] = dict(client_credentials or {})
        self.token_ttl = token_ttl
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self.issued_tokens: dict[str, IssuedToken] = {}
        super().__init__(
            store=store,
            access_tokens=access_tokens,
            scopes=scopes,
            bucket_size=bucket_size,
            restore_rate=restore_rate,
            max_query_cost=max_query_cost,
            api_versions=api_versions,
            clock=clock,
        )

    def routes(self) -> list[Route]:
        return [*super().routes(), Route("/admin/oauth/access_token", self._access_token, methods=["POST"])]

    def token_valid(self, token: str | None) -> bool:
        if super().token_valid(token):
            return True
        issued = self.issued_tokens.get(token or "")
        return issued is not None and self.clock() < issued.expires_at

    async def _graphql(self, request: Request) -> Response:
        _REQUEST.set(request)
        _ABANDONED.set(False)
        return await super()._graphql(request)

    async def answer(self, parsed: Body | Response, token: str | None) -> tuple[Response, Outcome]:
        """Faults replace the answer first (as infrastructure would), then the sandbox's checks and answer.

        A delayed request whose client hangs up (a client timeout) is dropped at once, unanswered and unlogged."""
        fault = self.faults.next()
        _SERVED_FAULT.set(None if fault is None else fault.describe())
        if fault is None:
            return await super().answer(parsed, token)
        asked = Outcome(operation=None if isinstance(parsed, Response) else parsed[2])
        if fault.kind == "delay":
            request = _REQUEST.get()
            if request is None:
                await anyio.sleep(fault.seconds)
            elif not await stall(request, fault.seconds):
                _ABANDONED.set(True)
                return Response(status_code=499), asked  # nginx's "client closed request": nobody reads it
            return await super().answer(parsed, token)
        if fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = fault.body if fault.body is not None else {"errors": REASONS.get(fault.status, "Error")}
            return JSONResponse(body, status_code=fault.status, headers=headers), asked
        if not self.token_valid(token) or isinstance(parsed, Response):
            return await super().answer(parsed, token)
        query, variables, operation_name = parsed  # a throttle fault: the bucket looks empty
        outcome = requested_cost(query, variables, operation_name)
        outcome.throttled = True
        return JSONResponse(throttled_payload(self.bucket, outcome.requested_cost or 0)), outcome

    def observe(
        self,
        request: Request,
        version: str | None,
        outcome: Outcome,
        variables: dict[str, Any] | None,
        status: int,
        token: str | None,
        started: float,
    ) -> None:
        if _ABANDONED.get():
            return
        super().observe(request, version, outcome, variables, status, token, started)
        self.requests.append(
            RequestRecord(
                timestamp=started,
                path=request.url.path,
                api_version=version,
                operation=outcome.operation,
                variables=variables,
                requested_cost=outcome.requested_cost,
                actual_cost=outcome.actual_cost,
                status=status,
                throttled=outcome.throttled,
                token=mask_token(token),
                fault=_SERVED_FAULT.get(),
                duration=self.clock() - started,
            )
        )

    # --- Client-credentials token exchange ---

    async def _access_token(self, request: Request) -> Response:
        started = self.clock()
        form = await _read_form(request)
        client_id, secret, grant = form.get("client_id"), form.get("client_secret"), form.get("grant_type")
        response: Response
        if not client_id or not secret or not grant:
            missing = next(k for k in ("client_id", "client_secret", "grant_type") if not form.get(k))
            response = _oauth_error(400, "invalid_request", f"Missing required parameter: {missing}.")
        elif grant != "client_credentials":
            response = _oauth_error(400, "unsupported_grant_type", f"The grant type {grant!r} is not supported.")
        elif self.client_credentials.get(client_id) != secret:
            response = _oauth_error(
                401, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret."
            )
        else:
            token = f"shpat_{secrets.token_hex(16)}"
            self.issued_tokens[token] = IssuedToken(token, client_id, self.clock() + self.token_ttl)
            body = {"access_token": token, "scope": ",".join(sorted(self.scopes)), "expires_in": int(self.token_ttl)}
            response = JSONResponse(body)
        _SERVED_FAULT.set(None)
        _ABANDONED.set(False)
        self.observe(request, None, Outcome(), None, response.status_code, None, started)
        return response


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _read_form(request: Request) -> dict[str, str]:
    """Form-encoded or JSON parameters (Shopify accepts both); anything unreadable reads as empty."""
    body = (await request.body()).decode("utf-8", errors="replace")
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return dict(parse_qsl(body))
