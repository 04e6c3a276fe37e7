"""The Admin GraphQL API client: one POST per operation, cost-aware throttling, retries, readable errors."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from shopify_mcp.auth import TokenProvider
from shopify_mcp.errors import (
    AccessDeniedError,
    AuthenticationError,
    QueryError,
    SearchFilterError,
    ShopifyAPIError,
    ThrottledError,
    UpstreamUnavailableError,
)
from shopify_mcp.queries import ALL_OPERATIONS
from shopify_mcp.throttle import CostThrottle
from support_core.retry import (
    RetriesExhausted,
    RetryNotice,
    RetryPolicy,
    TransientError,
    call_with_retries,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

_SCOPE_IN_MESSAGE = re.compile(r"`(\w+)` access scope")
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 520, 522, 524})
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_RETRYABLE_CODES = ("THROTTLED", "INTERNAL_SERVER_ERROR")
"""GraphQL error codes (in an HTTP 200 answer) worth another attempt, in order of precedence."""

SCOPE_HINTS = {
    "read_all_orders": "orders older than 60 days are invisible",
    "read_orders": "orders cannot be looked up",
    "read_customers": "customer profiles cannot be read",
    "read_products": "products cannot be searched",
    "read_inventory": "stock levels cannot be read",
    "read_locations": "stock per location cannot be read",
    "read_discounts": "discount codes cannot be checked",
    "read_legal_policies": "store policies cannot be read",
    "read_locales": "the shop's languages are unknown, so policy translations may be missed",
    "read_translations": "policies are only given in the shop's own language, never translated",
}


@dataclass
class ClientStats:
    """Counters for health checks and benchmarks."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    requested_cost: float = 0.0
    actual_cost: float = 0.0
    last_status: int | None = None


class AdminClient:
    """Sends the operations of `shopify_mcp.queries` to `{base_url}/admin/api/{version}/graphql.json`.

    Retries (with jittered, capped backoff, `support_core.retry`) THROTTLED and INTERNAL_SERVER_ERROR answers,
    429 (honouring Retry-After), 5xx and timeouts; never 4xx auth or scope errors, which become
    `AuthenticationError` / `AccessDeniedError` naming the fix. A 401 with renewable credentials gets one fresh
    token within the same attempt. Ignored search filters (`extensions.search` warnings) raise `SearchFilterError`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_version: str,
        tokens: TokenProvider,
        backoff: RetryPolicy | None = None,
        throttle: CostThrottle | None = None,
        sleep: Callable[[float], Any] = anyio.sleep,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self.api_version = api_version
        self._endpoint = httpx.URL(f"{self._base_url}/admin/api/{api_version}/graphql.json")  # parsed once
        self._tokens = tokens
        self._retry = backoff or RetryPolicy()
        self._throttle = throttle or CostThrottle(sleep=sleep)
        self._sleep = sleep
        self.stats = ClientStats()
        self.served_version: str | None = None

    @property
    def throttle(self) -> CostThrottle:
        return self._throttle

    async def execute(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a named operation and return its `data`; raise a `ShopifyAPIError` subclass on failure."""
        document = ALL_OPERATIONS[operation]
        body = {"query": document, "variables": variables or {}, "operationName": operation}
        try:
            return await call_with_retries(
                lambda: self._attempt(operation, body),
                self._retry,
                label=f"Shopify {operation}",
                logger=logger,
                sleep=self._sleep,
                on_retry=self._count_retry,
            )
        except RetriesExhausted as exhausted:
            if exhausted.problem == "THROTTLED":
                raise ThrottledError(
                    f"Shopify kept throttling {operation} after {exhausted.attempts_text}; the store's API budget is "
                    "exhausted by other apps or load. Try again in a minute.",
                    operation=operation,
                ) from None
            raise UpstreamUnavailableError(
                f"Shopify did not answer {operation} after {exhausted.attempts_text} ({exhausted.problem}). "
                "Shopify may be degraded (status.shopify.com) or the store URL is unreachable.",
                operation=operation,
            ) from None

    def _count_retry(self, notice: RetryNotice) -> None:
        self.stats.retries += 1

    async def _attempt(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """One attempt: the operation's data, or `TransientError` when worth another; other failures raise."""
        await self._throttle.acquire(operation)
        try:
            response = await self._send(operation, body)
            if response.status_code == 401 and self._tokens.renewable:
                self._tokens.invalidate()  # revoked or expired early: exchange the credentials once more
                response = await self._send(operation, body)
            return self._read(operation, response)
        finally:
            self._throttle.settle(operation)

    async def _send(self, operation: str, body: dict[str, Any]) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._post(body)
        except httpx.TimeoutException:
            raise TransientError("the request timed out") from None
        except httpx.TransportError as exc:
            raise TransientError(f"the connection failed ({type(exc).__name__})") from None
        self.stats.last_status = response.status_code
        elapsed = (time.perf_counter() - started) * 1000
        logger.debug("Shopify %s -> HTTP %s in %.0f ms", operation, response.status_code, elapsed)
        return response

    def _read(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code in _RETRYABLE_STATUS:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientError(f"HTTP {response.status_code}", retry_after=retry_after)
        payload = self._decode(operation, response)
        self._throttle.observe(operation, _dig(payload, "extensions", "cost"))
        code = _retryable_code(payload)
        if code == "THROTTLED":
            self.stats.throttled += 1
            raise TransientError(code, retry_after=self._throttle.wait_after_throttle(operation))
        if code is not None:
            raise TransientError(code)
        return self._data(operation, payload)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        token = await self._tokens.token()
        self.stats.requests += 1
        headers = {"X-Shopify-Access-Token": token, **_JSON_HEADERS}
        response = await self._http.post(self._endpoint, content=json.dumps(body), headers=headers)
        self.served_version = response.headers.get("X-Shopify-API-Version", self.served_version)
        return response

    def _decode(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 401:
            raise AuthenticationError(
                "Shopify rejected the access token (HTTP 401). Check SHOPIFY_ACCESS_TOKEN is the Admin API token "
                "of an app installed on this store, or that the Dev-Dashboard app is still installed.",
                operation=operation,
                status=status,
            )
        if status == 402:
            raise ShopifyAPIError("The store is frozen for non-payment (HTTP 402).", operation=operation, status=status)
        if status == 403:
            raise AccessDeniedError(
                "Shopify refused the request (HTTP 403): the app is not allowed to use the Admin API on this store.",
                operation=operation,
            )
        if status == 404:
            raise QueryError(
                f"Shopify answered 404 for the GraphQL endpoint: check SHOPIFY_STORE (your-shop.myshopify.com) "
                f"and SHOPIFY_API_VERSION ({self.api_version}).",
                operation=operation,
                status=status,
            )
        if status == 423:
            raise ShopifyAPIError("The store is locked (HTTP 423).", operation=operation, status=status)
        try:
            payload = response.json()
        except ValueError:
            raise QueryError(
                f"Shopify answered HTTP {status} with a body that is not JSON.", operation=operation, status=status
            ) from None
        if status >= 400:
            detail = payload.get("errors") if isinstance(payload, dict) else None
            raise QueryError(f"Shopify answered HTTP {status}: {detail}", operation=operation, status=status)
        if not isinstance(payload, dict):
            raise QueryError("Shopify answered with an unexpected JSON shape.", operation=operation, status=status)
        return payload

    def _data(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        errors = payload.get("errors")
        if errors:
            raise _error_from_graphql(operation, errors)
        extensions = payload.get("extensions") or {}
        cost = extensions.get("cost") or {}
        if isinstance(cost.get("requestedQueryCost"), int | float):
            self.stats.requested_cost += float(cost["requestedQueryCost"])
        if isinstance(cost.get("actualQueryCost"), int | float):
            self.stats.actual_cost += float(cost["actualQueryCost"])
        warnings = [w for entry in extensions.get("search") or [] for w in entry.get("warnings") or []]
        if warnings:
            fields = ", ".join(sorted({str(w.get("field", "?")) for w in warnings}))
            raise SearchFilterError(
                f"Shopify ignored part of the search for {operation} (unsupported filter: {fields}); the results "
                "would not be reliable, so none are returned.",
                operation=operation,
            )
        data = payload.get("data")
        if not isinstance(data, dict):
            raise QueryError("Shopify answered without data.", operation=operation)
        return data


def _dig(payload: dict[str, Any], *keys: str) -> Any:
    node: Any = payload
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _retryable_code(payload: dict[str, Any]) -> str | None:
    """THROTTLED or INTERNAL_SERVER_ERROR when the answer's errors say so, unless one is a scope refusal."""
    errors = payload.get("errors")
    if not isinstance(errors, list):
        return None
    codes = {_dig(e, "extensions", "code") for e in errors if isinstance(e, dict)}
    if "ACCESS_DENIED" in codes:
        return None
    return next((code for code in _RETRYABLE_CODES if code in codes), None)


def _error_from_graphql(operation: str, errors: Any) -> ShopifyAPIError:
    if not isinstance(errors, list):
        return QueryError(f"Shopify reported an error: {errors}", operation=operation)
    for error in errors:
        if isinstance(error, dict) and _dig(error, "extensions", "code") == "ACCESS_DENIED":
            text = f"{error.get('message', '')} {_dig(error, 'extensions', 'requiredAccess') or ''}"
            match = _SCOPE_IN_MESSAGE.search(text)
            scope = match.group(1) if match else None
            return AccessDeniedError(_scope_message(scope), scope=scope, operation=operation)
    messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:3])
    codes = {_dig(e, "extensions", "code") for e in errors if isinstance(e, dict)}
    if "MAX_COST_EXCEEDED" in codes:
        return QueryError(f"The query for {operation} costs more than Shopify allows: {messages}", operation=operation)
    return QueryError(f"Shopify refused {operation}: {messages}", operation=operation)


def _scope_message(scope: str | None) -> str:
    if scope is None:
        return "Shopify refused: the app lacks an access scope this lookup needs (see `support-agent doctor`)."
    hint = SCOPE_HINTS.get(scope, "this lookup is not allowed")
    return (
        f"Shopify refused: the app lacks the `{scope}` scope, so {hint}. Add it to the app's Admin API scopes and "
        "reinstall or re-authorise the app."
    )
