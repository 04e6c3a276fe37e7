"""The emulator as an ASGI app: Shopify's Admin GraphQL endpoint over a store, with its tokens, scopes and cost bucket.

This is what the sandbox store needs. The test peer (`support_testing.shopify_emulator.ShopifyEmulator`) extends it
with fault injection, a request log and the client-credentials token exchange, which stay out of the wheel."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shopify_mcp.emulator.cost import DEFAULT_BUCKET_SIZE, DEFAULT_RESTORE_RATE, MAX_QUERY_COST, CostBucket
from shopify_mcp.emulator.execution import Outcome, run_graphql
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
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class ShopifyEmulator:
    """A loopback Admin API over `store`: the access tokens it accepts, the scopes they grant, the API versions it
    serves and a cost bucket. `clock` (monotonic seconds) drives the bucket, so tests can move time."""

    def __init__(
        self,
        *,
        store: Store,
        access_tokens: Iterable[str] = (SANDBOX_TOKEN,),
        scopes: Iterable[str] = ALL_SCOPES,
        bucket_size: float = DEFAULT_BUCKET_SIZE,
        restore_rate: float = DEFAULT_RESTORE_RATE,
        max_query_cost: int | None = MAX_QUERY_COST,
        api_versions: Iterable[str] = SUPPORTED_VERSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.access_tokens: set[str] = set(access_tokens)
        self.scopes: set[str] = set(scopes)
        self.max_query_cost = max_query_cost
        self.api_versions: tuple[str, ...] = tuple(sorted(api_versions))
        self.clock = clock
        self.bucket = CostBucket(bucket_size, restore_rate, clock=clock)
        self.app = Starlette(routes=self.routes())

    def routes(self) -> list[Route]:
        """The endpoints served: the Admin GraphQL endpoint of every version."""
        return [Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"])]

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process httpx transport to this emulator that enforces the client's read timeout."""
        return EmulatorTransport(self.app)

    def served_version(self, requested: str) -> str:
        """Shopify serves a supported version as asked, and anything else as the oldest supported one."""
        return requested if requested in self.api_versions else self.api_versions[0]

    def token_valid(self, token: str | None) -> bool:
        return bool(token) and token in self.access_tokens

    # --- GraphQL endpoint ---

    async def _graphql(self, request: Request) -> Response:
        started = self.clock()
        version = self.served_version(request.path_params["version"])
        token = request.headers.get("x-shopify-access-token")
        parsed = await _read_body(request)
        response, outcome = await self.answer(parsed, token)
        response.headers["X-Shopify-API-Version"] = version
        variables = None if isinstance(parsed, Response) else parsed[1]
        self.observe(request, version, outcome, variables, response.status_code, token, started)
        return response

    async def answer(self, parsed: Body | Response, token: str | None) -> tuple[Response, Outcome]:
        """The token is checked first, then the body is run against the store and the cost bucket."""
        asked = Outcome(operation=None if isinstance(parsed, Response) else parsed[2])
        if not self.token_valid(token):
            return JSONResponse({"errors": INVALID_TOKEN}, status_code=401), asked
        if isinstance(parsed, Response):
            return parsed, asked
        query, variables, operation_name = parsed
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
        """Called after each answer (the test peer keeps a request log); here only a DEBUG line."""
        logger.debug("%s %s -> %s (cost %s)", request.url.path, outcome.operation, status, outcome.actual_cost)


Body = tuple[str, dict[str, Any] | None, str | None]
"""A GraphQL request body: `(query, variables, operationName)`."""


async def _read_body(request: Request) -> Body | Response:
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
