"""The emulator as an ASGI app: Shopify's Admin GraphQL endpoint and token exchange, with faults and a request log."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shopify_mcp.emulator.cost import DEFAULT_BUCKET_SIZE, DEFAULT_RESTORE_RATE, MAX_QUERY_COST, CostBucket
from shopify_mcp.emulator.execution import Outcome, requested_cost, run_graphql, throttled_payload
from shopify_mcp.emulator.faults import Fault, FaultPlan
from shopify_mcp.emulator.store import Store
from shopify_mcp.emulator.transport import EmulatorTransport

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "shpat_sandbox"
ALL_SCOPES = frozenset(
    {
        "read_orders",
        "read_all_orders",
        "read_customers",
        "read_products",
        "read_inventory",
        "read_locations",
        "read_discounts",
        "read_legal_policies",
        "read_locales",
        "read_translations",
    }
)
SUPPORTED_VERSIONS = ("2025-07", "2025-10", "2026-01", "2026-04", "2026-07")
TOKEN_TTL = 86399.0
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


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


class ShopifyEmulator:
    """A loopback Admin API over `store`. Mutable state for tests: `faults`, `scopes`, `requests`, `issued_tokens`.

    `clock` (monotonic seconds) drives the cost bucket, token expiry and log timestamps, so tests can move time.
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
        self.store = store
        self.access_tokens: set[str] = set(access_tokens)
        self.client_credentials: dict[str, str] = dict(client_credentials or {})
        self.scopes: set[str] = set(scopes)
        self.max_query_cost = max_query_cost
        self.token_ttl = token_ttl
        self.api_versions: tuple[str, ...] = tuple(sorted(api_versions))
        self.clock = clock
        self.bucket = CostBucket(bucket_size, restore_rate, clock=clock)
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self.issued_tokens: dict[str, IssuedToken] = {}
        self.app = Starlette(
            routes=[
                Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"]),
                Route("/admin/oauth/access_token", self._access_token, methods=["POST"]),
            ]
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process httpx transport to this emulator that enforces the client's read timeout."""
        return EmulatorTransport(self.app)

    def served_version(self, requested: str) -> str:
        """Shopify serves a supported version as asked, and anything else as the oldest supported one."""
        return requested if requested in self.api_versions else self.api_versions[0]

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        if token in self.access_tokens:
            return True
        issued = self.issued_tokens.get(token)
        return issued is not None and self.clock() < issued.expires_at

    # --- GraphQL endpoint ---

    async def _graphql(self, request: Request) -> Response:
        started = self.clock()
        version = self.served_version(request.path_params["version"])
        token = request.headers.get("x-shopify-access-token")
        fault = self.faults.next()
        parsed = await _read_body(request)
        if fault is not None and fault.kind == "delay":
            await anyio.sleep(fault.seconds)
        response, outcome = self._answer(parsed, token, fault)
        response.headers["X-Shopify-API-Version"] = version
        variables = None if isinstance(parsed, Response) else parsed[1]
        self._log(request, version, outcome, variables, response.status_code, token, fault, started)
        return response

    def _answer(self, parsed: _Body | Response, token: str | None, fault: Fault | None) -> tuple[Response, Outcome]:
        """Faults replace the answer first (as infrastructure would), then the token is checked, then the body."""
        asked = Outcome(operation=None if isinstance(parsed, Response) else parsed[2])
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = fault.body if fault.body is not None else {"errors": _REASONS.get(fault.status, "Error")}
            return JSONResponse(body, status_code=fault.status, headers=headers), asked
        if not self.token_valid(token):
            return JSONResponse({"errors": INVALID_TOKEN}, status_code=401), asked
        if isinstance(parsed, Response):
            return parsed, asked
        query, variables, operation_name = parsed
        if fault is not None and fault.kind == "throttle":
            outcome = requested_cost(query, variables, operation_name)
            outcome.throttled = True
            return JSONResponse(throttled_payload(self.bucket, outcome.requested_cost or 0)), outcome
        outcome = run_graphql(
            query,
            variables,
            operation_name,
            store=self.store,
            scopes=frozenset(self.scopes),
            bucket=self.bucket,
            max_cost=self.max_query_cost,
        )
        return JSONResponse(outcome.payload), outcome

    def _log(
        self,
        request: Request,
        version: str | None,
        outcome: Outcome,
        variables: dict[str, Any] | None,
        status: int,
        token: str | None,
        fault: Fault | None,
        started: float,
    ) -> None:
        record = RequestRecord(
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
            fault=None if fault is None else fault.describe(),
            duration=self.clock() - started,
        )
        self.requests.append(record)
        logger.debug(
            "%s %s -> %s (cost %s/%s)", record.path, record.operation, status, record.actual_cost, record.requested_cost
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
        self._log(request, None, Outcome(), None, response.status_code, None, None, started)
        return response


_REASONS = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


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


_Body = tuple[str, dict[str, Any] | None, str | None]


async def _read_body(request: Request) -> _Body | Response:
    """`(query, variables, operationName)`, or the 400 answer Shopify gives to a malformed body."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/graphql"):
        return raw.decode("utf-8", errors="replace"), None, None
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JSONResponse({"errors": f"Invalid JSON in request body: {exc}"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"errors": "The request body must be a JSON object."}, status_code=400)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, status_code=400)
    variables = body.get("variables")
    if isinstance(variables, str) and variables.strip():
        try:
            variables = json.loads(variables)
        except json.JSONDecodeError:
            variables = None
    if variables is not None and not isinstance(variables, dict):
        return JSONResponse({"errors": {"variables": "must be a JSON object"}}, status_code=400)
    operation = body.get("operationName")
    return query, variables or None, operation if isinstance(operation, str) and operation else None
