"""The Admin API client against the emulator over HTTP: retries, throttling, auth, scopes and search warnings."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx
import pytest

from shopify_mcp.auth import ClientCredentialsToken, StaticToken, TokenProvider
from shopify_mcp.client import AdminClient
from shopify_mcp.emulator import SANDBOX_TOKEN, load_sandbox_store
from shopify_mcp.errors import (
    AccessDeniedError,
    AuthenticationError,
    QueryError,
    SearchFilterError,
    ThrottledError,
    UpstreamUnavailableError,
)
from support_core.retry import RetryPolicy
from support_testing.shopify_emulator import FaultPlan, ShopifyEmulator, serve_emulator
from support_testing.shopify_emulator.faults import Fault

pytestmark = pytest.mark.anyio
BASE = "https://aurora-activewear.myshopify.com"
SEARCH = {"query": '"leggings" status:active', "first": 3, "withLocations": False, "variants": 10}


class Sleeps:
    """Records requested sleeps and returns at once, so retry timing is asserted without waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture
async def http(emulator: ShopifyEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), timeout=5) as client:
        yield client


def make_client(
    http: httpx.AsyncClient, sleeps: Sleeps, tokens: TokenProvider | None = None, attempts: int = 4
) -> AdminClient:
    return AdminClient(
        http,
        base_url=BASE,
        api_version="2026-07",
        tokens=tokens or StaticToken(SANDBOX_TOKEN),
        backoff=RetryPolicy(base=0.5, max_delay=8, attempts=attempts),
        sleep=sleeps,
    )


async def test_one_request_per_lookup_with_its_cost_recorded(
    http: httpx.AsyncClient, emulator: ShopifyEmulator
) -> None:
    client = make_client(http, Sleeps())
    data = await client.execute("ProductsSearch", SEARCH)
    assert data["products"]["nodes"]
    assert len(emulator.requests) == 1 and emulator.requests[0].operation == "ProductsSearch"
    assert client.stats.requested_cost > 0 and client.served_version == "2026-07"


async def test_429_honours_retry_after(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(429, 1, retry_after=2)
    sleeps = Sleeps()
    await make_client(http, sleeps).execute("ProductsSearch", SEARCH)
    assert sleeps.calls == [2.0]
    assert len(emulator.requests) == 2


async def test_5xx_is_retried_with_capped_jittered_backoff(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(500, 2)
    sleeps = Sleeps()
    await make_client(http, sleeps).execute("ShopInfo")
    assert len(sleeps.calls) == 2 and all(0 <= s <= 8 for s in sleeps.calls)


async def test_retries_end_in_a_readable_error(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(503, 10)
    with pytest.raises(UpstreamUnavailableError, match=r"after 4 attempts \(HTTP 503\)"):
        await make_client(http, Sleeps()).execute("ShopInfo")
    assert len(emulator.requests) == 4


INTERNAL_ERROR = {
    "errors": [
        {
            "message": "Internal error. Looks like something went wrong on our end.\nRequest ID: 6c2f0f3a-1b2c "
            "(include this in support requests).",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "6c2f0f3a-1b2c"},
        }
    ]
}


class GraphQLFaults(FaultPlan):
    """The emulator's fault queue, plus Shopify's INTERNAL_SERVER_ERROR, which comes in an HTTP 200 answer."""

    def internal_error(self, n: int = 1) -> None:
        self._add(Fault("status", status=200, body=INTERNAL_ERROR), n)


@pytest.fixture
def faults(emulator: ShopifyEmulator) -> GraphQLFaults:
    emulator.faults = plan = GraphQLFaults()
    return plan


async def test_internal_server_error_in_a_200_answer_is_retried_like_a_5xx(
    http: httpx.AsyncClient, emulator: ShopifyEmulator, faults: GraphQLFaults
) -> None:
    faults.internal_error(2)
    sleeps = Sleeps()
    client = make_client(http, sleeps)
    data = await client.execute("ShopInfo")
    assert data["shop"]["name"]
    assert len(emulator.requests) == 3 and client.stats.retries == 2
    assert len(sleeps.calls) == 2 and all(0 <= s <= 8 for s in sleeps.calls)


async def test_persistent_internal_errors_end_in_the_readable_error(
    http: httpx.AsyncClient, emulator: ShopifyEmulator, faults: GraphQLFaults
) -> None:
    faults.internal_error(10)
    with pytest.raises(UpstreamUnavailableError, match=r"after 4 attempts \(INTERNAL_SERVER_ERROR\)") as raised:
        await make_client(http, Sleeps()).execute("ShopInfo")
    assert "status.shopify.com" in str(raised.value)
    assert len(emulator.requests) == 4


async def test_retry_after_sets_the_real_wait(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    """A 5 s backoff would be far slower: the server's 0.3 s wins, and is waited for in full."""
    emulator.faults.http_status(429, 1, retry_after=0.3)
    client = AdminClient(
        http,
        base_url=BASE,
        api_version="2026-07",
        tokens=StaticToken(SANDBOX_TOKEN),
        backoff=RetryPolicy(base=5, max_delay=5, attempts=3),
    )
    started = time.monotonic()
    await client.execute("ShopInfo")
    assert 0.3 <= time.monotonic() - started < 2.5
    assert len(emulator.requests) == 2


async def test_retry_after_is_capped_at_the_longest_delay(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(503, 1, retry_after=3600)
    client = AdminClient(
        http,
        base_url=BASE,
        api_version="2026-07",
        tokens=StaticToken(SANDBOX_TOKEN),
        backoff=RetryPolicy(base=0.01, max_delay=0.2, attempts=3),
    )
    started = time.monotonic()
    await client.execute("ShopInfo")
    assert 0.2 <= time.monotonic() - started < 2.5


async def test_retries_are_logged_without_the_token(
    http: httpx.AsyncClient, emulator: ShopifyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="shopify_mcp")
    emulator.faults.http_status(502, 1)
    await make_client(http, Sleeps()).execute("ShopInfo")
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("Shopify ShopInfo failed (HTTP 502); retry 1/3 in ")
    assert SANDBOX_TOKEN not in caplog.text


async def test_a_403_is_not_retried(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(403, 3)
    sleeps = Sleeps()
    with pytest.raises(AccessDeniedError, match="HTTP 403"):
        await make_client(http, sleeps).execute("ShopInfo")
    assert len(emulator.requests) == 1 and sleeps.calls == []


async def test_throttled_answers_wait_for_the_bucket(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.throttle(1)
    sleeps = Sleeps()
    client = make_client(http, sleeps)
    await client.execute("ProductsSearch", SEARCH)
    assert client.stats.throttled == 1 and len(sleeps.calls) == 1


async def test_persistent_throttling_gives_up_with_advice(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.faults.throttle(10)
    with pytest.raises(ThrottledError, match="Try again"):
        await make_client(http, Sleeps()).execute("ShopInfo")


async def test_a_burst_is_spread_out_instead_of_throttled(emulator: ShopifyEmulator) -> None:
    """40 concurrent lookups against a small bucket: the client waits for capacity; Shopify never says THROTTLED."""
    # 41 lookups of 64 points against 300 and a refill of 2,000 points/s: ~0.7 s of waiting, while the burst's own
    # work (~0.1 s of CPU) refills less than a tenth of what is missing, so the client must wait even on a loaded
    # machine.
    small = ShopifyEmulator(store=load_sandbox_store(), bucket_size=300, restore_rate=2000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small.app), timeout=5) as http:
        client = make_client(http, Sleeps())
        client._sleep = anyio.sleep  # real waits: the emulator's bucket refills in real time
        client.throttle._sleep = anyio.sleep
        await client.execute("ProductsSearch", SEARCH)  # learn the cost and the bucket
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(client.execute, "ProductsSearch", SEARCH)
    throttled = [r for r in small.requests if r.throttled]
    assert len(small.requests) - len(throttled) == 41
    assert len(throttled) <= 2, f"{len(throttled)} THROTTLED answers: the client should have waited"
    assert client.throttle.waited_seconds > 0


async def test_bad_token_is_not_retried(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    with pytest.raises(AuthenticationError, match="SHOPIFY_ACCESS_TOKEN") as raised:
        await make_client(http, Sleeps(), tokens=StaticToken("shpat_wrong")).execute("ShopInfo")
    assert "shpat_wrong" not in str(raised.value)
    assert len(emulator.requests) == 1


async def test_missing_scope_names_the_scope(http: httpx.AsyncClient, emulator: ShopifyEmulator) -> None:
    emulator.scopes.discard("read_legal_policies")
    with pytest.raises(AccessDeniedError, match="read_legal_policies") as raised:
        await make_client(http, Sleeps()).execute("ShopPolicies")
    assert raised.value.scope == "read_legal_policies"
    assert len(emulator.requests) == 1


async def test_ignored_search_filter_is_an_error_not_an_empty_result(http: httpx.AsyncClient) -> None:
    variables = {"query": "colour:red", "first": 3, "withLocations": False, "variants": 10}
    with pytest.raises(SearchFilterError, match="colour"):
        await make_client(http, Sleeps()).execute("ProductsSearch", variables)


async def test_invalid_variables_are_a_query_error(http: httpx.AsyncClient) -> None:
    with pytest.raises(QueryError):
        await make_client(http, Sleeps()).execute("ProductsSearch", {"query": "x"})


@pytest.mark.integration
async def test_timeouts_are_retried_then_reported(emulator: ShopifyEmulator) -> None:
    """Over real loopback HTTP (in-process transports have no timeouts): a slow Shopify is a timeout, retried."""
    emulator.faults.delay(2.0, 10)
    async with serve_emulator(emulator) as url, httpx.AsyncClient(timeout=httpx.Timeout(0.2)) as http:
        client = AdminClient(
            http,
            base_url=url,
            api_version="2026-07",
            tokens=StaticToken(SANDBOX_TOKEN),
            backoff=RetryPolicy(0.01, 0.01, 2),
        )
        with pytest.raises(UpstreamUnavailableError, match="timed out"):
            await client.execute("ShopInfo")
    assert client.stats.requests == 2


async def test_client_credentials_are_exchanged_and_refreshed(emulator: ShopifyEmulator) -> None:
    emulator = ShopifyEmulator(store=load_sandbox_store(), client_credentials={"app-id": "app-secret"}, token_ttl=600)
    now = [0.0]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), timeout=5) as http:
        tokens = ClientCredentialsToken(http, BASE, "app-id", "app-secret", clock=lambda: now[0])
        client = make_client(http, Sleeps(), tokens=tokens)
        await client.execute("ShopInfo")
        first = await tokens.token()
        assert "read_orders" in tokens.granted_scopes
        now[0] = 400.0  # within REFRESH_MARGIN of the 600 s lifetime: replaced before it expires
        await client.execute("ShopInfo")
        assert await tokens.token() != first
        assert len(emulator.issued_tokens) == 2


async def test_a_refused_client_credentials_token_is_renewed_once_within_the_attempt() -> None:
    emulator = ShopifyEmulator(store=load_sandbox_store(), client_credentials={"app-id": "app-secret"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), timeout=5) as http:
        tokens = ClientCredentialsToken(http, BASE, "app-id", "app-secret")
        sleeps = Sleeps()
        client = make_client(http, sleeps, tokens=tokens)
        await client.execute("ShopInfo")
        emulator.issued_tokens.clear()  # Shopify forgot the token (app reinstalled): the next call gets a 401
        await client.execute("ShopInfo")
    statuses = [(r.operation, r.status) for r in emulator.requests if r.operation == "ShopInfo"]
    assert statuses == [("ShopInfo", 200), ("ShopInfo", 401), ("ShopInfo", 200)]
    assert len(emulator.issued_tokens) == 1
    assert client.stats.retries == 0 and sleeps.calls == [], "a renewed token is not a retry: no wait"


async def test_wrong_client_secret_is_a_clear_error(emulator: ShopifyEmulator) -> None:
    emulator = ShopifyEmulator(store=load_sandbox_store(), client_credentials={"app-id": "app-secret"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), timeout=5) as http:
        tokens = ClientCredentialsToken(http, BASE, "app-id", "nope")
        with pytest.raises(AuthenticationError, match="SHOPIFY_CLIENT_SECRET"):
            await make_client(http, Sleeps(), tokens=tokens).execute("ShopInfo")
