"""The HTTP surface: tokens, versions, malformed requests, scopes, old orders, token exchange, faults, the log."""

from __future__ import annotations

import httpx
import pytest

from shopify_mcp.emulator import SANDBOX_TOKEN
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.emulator.conftest import ENDPOINT, FakeClock, gql

pytestmark = pytest.mark.anyio
AUTH = {"X-Shopify-Access-Token": SANDBOX_TOKEN}
SHOP = {"query": "{ shop { name } }"}


async def test_a_bad_or_missing_token_is_401(http: httpx.AsyncClient, emu: ShopifyEmulator) -> None:
    for headers in ({"X-Shopify-Access-Token": "shpat_wrong"}, {}):
        response = await http.post(ENDPOINT, json=SHOP, headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
    assert [r.token for r in emu.requests] == ["shpat_…", None]


async def test_unsupported_versions_are_served_as_the_oldest_supported(http: httpx.AsyncClient) -> None:
    current = await http.post(ENDPOINT, json=SHOP, headers=AUTH)
    assert current.headers["X-Shopify-API-Version"] == "2026-07"
    old = await http.post("/admin/api/2023-01/graphql.json", json=SHOP, headers=AUTH)
    assert old.status_code == 200 and old.headers["X-Shopify-API-Version"] == "2025-07"
    assert old.json()["data"]["shop"]["name"] == "Test Outfitters"
    denied = await http.post("/admin/api/2023-01/graphql.json", json=SHOP)
    assert denied.headers["X-Shopify-API-Version"] == "2025-07"


async def test_malformed_bodies_are_400(http: httpx.AsyncClient) -> None:
    response = await http.post(ENDPOINT, content=b'{"query": ', headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and "Invalid JSON" in response.json()["errors"]
    response = await http.post(ENDPOINT, json={"variables": {}}, headers=AUTH)
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


async def test_graphql_errors_are_200_without_data(http: httpx.AsyncClient) -> None:
    syntax = await gql(http, "{ shop { name }")
    assert "data" not in syntax and syntax["errors"][0]["locations"]
    unknown = await gql(http, "{ shop { nam } }")
    assert "data" not in unknown and "Cannot query field 'nam' on type 'Shop'" in unknown["errors"][0]["message"]
    bad_variable = await gql(http, "query($n: Int!) { orders(first: $n) { nodes { name } } }", {"n": "five"})
    assert "data" not in bad_variable and "$n" in bad_variable["errors"][0]["message"]


async def test_raw_graphql_bodies_are_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        ENDPOINT, content=b"{ shop { currencyCode } }", headers={**AUTH, "Content-Type": "application/graphql"}
    )
    assert response.json()["data"] == {"shop": {"currencyCode": "EUR"}}


async def test_a_missing_scope_denies_the_field_and_names_the_scope(
    http: httpx.AsyncClient, emu: ShopifyEmulator
) -> None:
    emu.scopes.discard("read_orders")
    body = await gql(http, "{ orders(first: 1) { nodes { name } } shop { name } }")
    assert body["data"] is None  # `orders` is non-null, so the whole answer is
    assert body["errors"] == [
        {
            "message": "Access denied for orders field. Required access: `read_orders` access scope.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["orders"],
            "extensions": {
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": "`read_orders` access scope.",
            },
        }
    ]


async def test_nested_fields_have_their_own_scopes(http: httpx.AsyncClient, emu: ShopifyEmulator) -> None:
    emu.scopes -= {"read_locations", "read_customers"}
    query = """{ product(id: "gid://shopify/Product/10") { title variants(first: 1) { nodes {
        inventoryItem { inventoryLevels(first: 1) { nodes { location { name } } } } } } }
        order(id: "gid://shopify/Order/1002") { name customer { displayName } } }"""
    body = await gql(http, query)
    messages = sorted(e["message"] for e in body["errors"])
    assert messages == [
        "Access denied for customer field. Required access: `read_customers` access scope.",
        "Access denied for location field. Required access: `read_locations` access scope.",
    ]
    assert body["data"]["order"] == {"name": "#1002", "customer": None}
    assert body["data"]["product"] is None  # the null bubbles up through non-null fields


async def test_orders_older_than_60_days_need_read_all_orders(http: httpx.AsyncClient, emu: ShopifyEmulator) -> None:
    query = """{ orders(first: 10, query: "email:ana@example.com") { nodes { name } }
        old: order(id: "gid://shopify/Order/1001") { name }
        customerByIdentifier(identifier: {emailAddress: "ana@example.com"}) {
          numberOfOrders orders(first: 10) { nodes { name } } } }"""
    every = (await gql(http, query))["data"]
    assert [o["name"] for o in every["orders"]["nodes"]] == ["#1001", "#1002", "#1003"]
    emu.scopes.discard("read_all_orders")
    recent = (await gql(http, query))["data"]
    assert [o["name"] for o in recent["orders"]["nodes"]] == ["#1002", "#1003"]
    assert recent["old"] is None
    assert [o["name"] for o in recent["customerByIdentifier"]["orders"]["nodes"]] == ["#1002", "#1003"]


async def test_client_credentials_exchange_and_expiry(
    http: httpx.AsyncClient, emu: ShopifyEmulator, clock: FakeClock
) -> None:
    form = {"client_id": "app-id", "client_secret": "app-secret", "grant_type": "client_credentials"}
    response = await http.post("/admin/oauth/access_token", data=form)
    assert response.status_code == 200
    grant = response.json()
    assert grant["access_token"].startswith("shpat_") and grant["expires_in"] == 86399
    assert set(grant["scope"].split(",")) == emu.scopes
    assert grant["access_token"] in emu.issued_tokens
    as_json = await http.post("/admin/oauth/access_token", json=form)
    assert as_json.status_code == 200 and as_json.json()["access_token"] != grant["access_token"]
    token = grant["access_token"]
    assert (await gql(http, "{ shop { name } }", token=token))["data"]["shop"]["name"] == "Test Outfitters"
    clock.advance(86400)
    expired = await http.post(ENDPOINT, json=SHOP, headers={"X-Shopify-Access-Token": token})
    assert expired.status_code == 401


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_id": "app-id", "client_secret": "nope", "grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"client_id": "other", "client_secret": "app-secret", "grant_type": "client_credentials"},
            401,
            "invalid_client",
        ),
        (
            {"client_id": "app-id", "client_secret": "app-secret", "grant_type": "password"},
            400,
            "unsupported_grant_type",
        ),
        ({"client_id": "app-id", "grant_type": "client_credentials"}, 400, "invalid_request"),
    ],
)
async def test_token_exchange_failures(http: httpx.AsyncClient, form: dict[str, str], status: int, error: str) -> None:
    response = await http.post("/admin/oauth/access_token", data=form)
    assert response.status_code == status and response.json()["error"] == error
    assert response.json()["error_description"]


async def test_fault_plan_statuses_in_order(http: httpx.AsyncClient, emu: ShopifyEmulator) -> None:
    emu.faults.http_status(429, 1, retry_after=2)
    emu.faults.http_status(500, 1)
    emu.faults.http_status(503, 1, body={"errors": "maintenance"})
    first = await http.post(ENDPOINT, json=SHOP, headers=AUTH)
    assert first.status_code == 429 and first.headers["Retry-After"] == "2" and "errors" in first.json()
    assert (await http.post(ENDPOINT, json=SHOP, headers=AUTH)).status_code == 500
    third = await http.post(ENDPOINT, json=SHOP, headers=AUTH)
    assert third.status_code == 503 and third.json() == {"errors": "maintenance"}
    assert (await http.post(ENDPOINT, json=SHOP, headers=AUTH)).status_code == 200
    assert [r.fault for r in emu.requests] == ["HTTP 429", "HTTP 500", "HTTP 503", None]
    assert len(emu.faults) == 0


async def test_forced_throttle_and_clear(http: httpx.AsyncClient, emu: ShopifyEmulator) -> None:
    emu.faults.throttle(2)
    body = await gql(http, "{ shop { name } }")
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    emu.faults.clear()
    assert "data" in await gql(http, "{ shop { name } }")


async def test_delays_answer_late_and_time_out_like_a_socket(emu: ShopifyEmulator) -> None:
    emu.faults.delay(0.05, 1)
    emu.faults.drop(1)
    async with httpx.AsyncClient(transport=emu.transport(), base_url="https://x.myshopify.com", timeout=1.0) as http:
        slow = await http.post(ENDPOINT, json=SHOP, headers=AUTH)
        assert slow.status_code == 200 and slow.json()["data"]["shop"]["name"] == "Test Outfitters"
    async with httpx.AsyncClient(transport=emu.transport(), base_url="https://x.myshopify.com", timeout=0.05) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(ENDPOINT, json=SHOP, headers=AUTH)


async def test_the_request_log(http: httpx.AsyncClient, emu: ShopifyEmulator, clock: FakeClock) -> None:
    query = "query Named($n: Int!) { orders(first: $n) { nodes { name } } }"
    await gql(http, query, {"n": 2}, operation="Named")
    await http.post("/admin/oauth/access_token", data={"client_id": "x"})
    named, token = emu.requests
    assert (named.operation, named.variables, named.status, named.throttled) == ("Named", {"n": 2}, 200, False)
    assert (named.requested_cost, named.actual_cost) == (4, 4)
    assert named.path == ENDPOINT and named.api_version == "2026-07" and named.token == "shpat_…"
    assert named.timestamp == clock.now
    assert (token.path, token.operation, token.status) == ("/admin/oauth/access_token", None, 400)
