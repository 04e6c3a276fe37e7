"""Query cost (requested and actual), the leaky bucket, THROTTLED and MAX_COST_EXCEEDED answers."""

from __future__ import annotations

from typing import Any

import graphql
import httpx
import pytest

from shopify_mcp.catalog import HEAD_VARIANTS, SEARCH_VARIANTS
from shopify_mcp.emulator import CostBucket
from shopify_mcp.emulator.cost import CostCalculator
from shopify_mcp.emulator.resolvers import executable_schema
from shopify_mcp.order_pages import MAX_LINES, MAX_RETURNS, MAX_SHIPPED
from shopify_mcp.queries import ALL_OPERATIONS, SEARCH_SLOTS
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.emulator.conftest import FakeClock, gql

pytestmark = pytest.mark.anyio


def requested(query: str, variables: dict[str, Any] | None = None, name: str | None = None) -> int:
    document = graphql.parse(query)
    operation = graphql.get_operation_ast(document, name)
    assert operation is not None
    return CostCalculator(executable_schema(), document, operation, variables).requested()


def test_documented_examples() -> None:
    assert requested("{ shop { name currencyCode } }") == 1
    # Shopify's own example: 2 + 10 * (1 + 2 + 5 * 1)
    assert (
        requested(
            "{ products(first: 10) { edges { node { title variants(first: 5) { edges { node { price } } } } } } }"
        )
        == 82
    )


def test_documented_rules_by_hand() -> None:
    """Shopify's table: scalars and enums 0, objects 1, connections 2 + first x (1 + the node's own cost)."""
    assert requested("{ shop { name currencyCode myshopifyDomain } }") == 1  # an object; scalars and an enum free
    assert requested("{ shop { name primaryDomain { url host } } }") == 1 + 1  # an object inside an object
    assert requested("{ orders(first: 5) { nodes { name } } }") == 2 + 5 * 1
    money = "totalPriceSet { shopMoney { amount currencyCode } }"  # MoneyBag + MoneyV2: two objects
    assert requested(f"{{ orders(first: 5) {{ nodes {{ {money} }} }} }}") == 2 + 5 * (1 + 2)
    nested = "{ orders(first: 3) { nodes { lineItems(first: 10) { nodes { title } } } } }"
    assert requested(nested) == 2 + 3 * (1 + 2 + 10 * 1)  # nested connections multiply
    assert requested("{ orders(first: 3) { nodes { name } pageInfo { hasNextPage endCursor } } }") == 2 + 3


async def test_actual_cost_of_what_came_back_by_hand(http: httpx.AsyncClient) -> None:
    """Actual cost: the same rules over the answer, each connection sized by the nodes it returned."""
    lines = "lineItems(first: 10) { nodes { title } }"
    body = await gql(http, f'{{ orders(first: 10, query: "email:ana@example.com") {{ nodes {{ name {lines} }} }} }}')
    orders = body["data"]["orders"]["nodes"]
    returned = sum(len(o["lineItems"]["nodes"]) for o in orders)
    assert len(orders) >= 2 and returned >= 2
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * (1 + 2 + 10)
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + len(orders) * (1 + 2) + returned


async def test_an_object_that_comes_back_null_still_costs_its_point(http: httpx.AsyncClient) -> None:
    """Shopify answered `product(id:)` for a missing product with actualQueryCost 1 (community.shopify.dev t/23101)."""
    body = await gql(
        http, '{ product(id: "gid://shopify/Product/999999") { title variants(first: 5) { nodes { sku } } } }'
    )
    assert body["data"]["product"] is None
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 2 + 5
    assert body["extensions"]["cost"]["actualQueryCost"] == 1


def test_a_list_without_first_costs_one_element() -> None:
    """Not in Shopify's table: a plain list asked without `first` (`shopPolicies`, `Fulfillment.trackingInfo`) is
    charged as one object here, as the emulator has always done."""
    assert requested("{ shop { shopPolicies { title body } } }") == 1 + 1
    plain = '{ order(id: "gid://shopify/Order/1") { fulfillments { trackingInfo { number } } } }'
    assert requested(plain) == 1 + 1 + 1


def test_sizes_come_from_variables_and_directives_count() -> None:
    query = """query Q($n: Int!, $deep: Boolean!) {
      products(first: $n) { nodes { title variants(first: 4) @include(if: $deep) { nodes { sku } } } }
    }"""
    assert requested(query, {"n": 3, "deep": False}) == 2 + 3 * 1
    assert requested(query, {"n": 3, "deep": True}) == 2 + 3 * (1 + 2 + 4)


def test_unions_cost_their_most_expensive_member_and_plain_lists_are_sized() -> None:
    union = """{ codeDiscountNodeByCode(code: "X") { codeDiscount {
        ... on DiscountCodeBasic { codes(first: 3) { nodes { code } } } ... on DiscountCodeApp { title } } } }"""
    assert requested(union) == 1 + 1 + (2 + 3)
    plain = """{ order(id: "gid://shopify/Order/1") {
        fulfillments(first: 4) { trackingInfo(first: 2) { number } } } }"""
    assert requested(plain) == 1 + 2 + 4 * (1 + 2 + 2 * 1)


async def test_actual_cost_counts_what_came_back(http: httpx.AsyncClient) -> None:
    body = await gql(http, '{ orders(first: 50, query: "email:ben@example.com") { nodes { name } } }')
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 52 and cost["actualQueryCost"] == 3
    assert cost["throttleStatus"] == {"maximumAvailable": 2000.0, "currentlyAvailable": 1997, "restoreRate": 100.0}


def test_bucket_leaks_back_at_the_restore_rate() -> None:
    clock = FakeClock()
    bucket = CostBucket(100, 10, clock=clock)
    assert bucket.spend(80) and not bucket.spend(30)
    clock.advance(1.0)
    assert bucket.spend(30)
    clock.advance(100)
    assert bucket.status()["currentlyAvailable"] == 100


async def test_a_dry_bucket_throttles_until_it_refills(
    http: httpx.AsyncClient, emu: ShopifyEmulator, clock: FakeClock
) -> None:
    query = "{ shop { name } }"
    emu.bucket.drain()
    body = await gql(http, query)
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ]
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    assert emu.requests[-1].throttled
    clock.advance(0.005)  # half a point back: still short of the 1 point `shop` costs
    assert "data" not in await gql(http, query)
    clock.advance(0.01)
    body = await gql(http, query)
    assert body["data"]["shop"]["name"] == "Test Outfitters"
    assert not emu.requests[-1].throttled


async def test_a_query_over_the_single_query_limit_is_refused(http: httpx.AsyncClient, emu: ShopifyEmulator) -> None:
    query = "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { title } } } } }"
    body = await gql(http, query)
    assert "data" not in body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 2 + 250 * (1 + 2 + 250) and error["extensions"]["maxCost"] == 1000
    assert error["message"].startswith(f"Query cost is {error['extensions']['cost']}, which exceeds")
    assert emu.bucket.status()["currentlyAvailable"] == 2000  # nothing was charged


# The largest page sizes the project's lookups send (catalog search limit 10, its follow-up with 9 products of 20
# variants and the first one's other 19, product pages with 40 variants and locations, order lists of 10, 50 active
# discounts). Keep in step with the callers.
PROJECT_VARIABLES: dict[str, dict[str, Any]] = {
    "OrderByName": {"query": 'name:"#1002"'},
    "OrderPage": {
        "id": "gid://shopify/Order/1002",
        "after": None,
        "lines": MAX_LINES,
        "withLines": True,
        "shipped": MAX_SHIPPED,
        "withShipped": True,
        "returns": MAX_RETURNS,
        "withReturns": True,
    },
    "OrdersByEmail": {"query": 'email:"ana@example.com"', "first": 10, "withCount": True},
    "CustomerProfile": {"email": "ana@example.com"},
    "ProductsSearch": {"query": "tee", "first": 10, "withLocations": False, "variants": HEAD_VARIANTS},
    "ProductsFound": {
        "head": "gid://shopify/Product/10",
        "after": "eyJvZmZzZXQiOiAwfQ",
        "rest": SEARCH_VARIANTS - 1,
        "withRest": True,
        **{f"id{i}": "gid://shopify/Product/10" for i in range(1, SEARCH_SLOTS + 1)},
        **{f"variants{i}": SEARCH_VARIANTS for i in range(1, SEARCH_SLOTS + 1)},
        **{f"with{i}": True for i in range(1, SEARCH_SLOTS + 1)},
    },
    "ProductByHandle": {"handle": "merino-running-tee", "withLocations": True, "variants": 40},
    "ProductById": {"id": "gid://shopify/Product/10", "withLocations": True, "variants": 40},
    "ProductVariants": {
        "id": "gid://shopify/Product/10",
        "after": "eyJvZmZzZXQiOiAwfQ",
        "variants": 39,
        "withLocations": True,
    },
    "DiscountByCode": {"code": "WELCOME10"},
    "ActiveDiscounts": {"first": 50, "withCount": True},
    "ShopPolicies": {},
    "ShopLocales": {},
    "ShopPolicyTranslations": {"locale": "de"},
    "ShopInfo": {},
    "AccessScopes": {},
}


@pytest.mark.parametrize("name", sorted(ALL_OPERATIONS))
async def test_project_operations_run_within_shopify_cost_limits(http: httpx.AsyncClient, name: str) -> None:
    """At their largest sizes, the project's operations must stay under Shopify's 1,000-point single-query limit
    (above it Shopify refuses them with MAX_COST_EXCEEDED) and leave room in the 2,000-point bucket."""
    assert set(PROJECT_VARIABLES) == set(ALL_OPERATIONS), "a new operation needs its largest variables here"
    body = await gql(http, ALL_OPERATIONS[name], PROJECT_VARIABLES[name], operation=name)
    assert "errors" not in body, body["errors"]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] <= 1000
    assert 0 < cost["actualQueryCost"] <= cost["requestedQueryCost"]
