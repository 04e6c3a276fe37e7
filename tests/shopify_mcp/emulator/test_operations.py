"""Every operation the project sends, answered over HTTP with the data a Shopify store would return."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopify_mcp.emulator import ALL_SCOPES, Store, load_sandbox_store
from shopify_mcp.queries import ALL_OPERATIONS
from support_testing.shopify_emulator import ShopifyEmulator, load_tau_store
from tests.shopify_mcp.emulator.conftest import gql

pytestmark = pytest.mark.anyio
SANDBOX = Path(__file__).resolve().parents[3] / "shopify_mcp" / "sandbox" / "store.json"
TAU = Path(__file__).resolve().parents[3].parent / "shared" / "store" / "tau-retail"


@pytest.fixture
async def api(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    emulator = ShopifyEmulator(store=store)
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="https://x.myshopify.com") as client:
        yield client


async def run(api: httpx.AsyncClient, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = await gql(api, ALL_OPERATIONS[name], variables, operation=name)
    assert "errors" not in body, body.get("errors")
    data: dict[str, Any] = body["data"]
    return data


async def test_order_by_name_returns_exactly_that_order_with_its_parcels(api: httpx.AsyncClient) -> None:
    orders = (await run(api, "OrderByName", {"query": 'name:"#1002"'}))["orders"]["nodes"]
    assert [o["name"] for o in orders] == ["#1002"]
    order = orders[0]
    assert order["id"] == "gid://shopify/Order/1002"
    assert order["createdAt"] == "2026-11-10T12:00:00Z" and order["processedAt"] == order["createdAt"]
    assert order["displayFinancialStatus"] == "PAID" and order["displayFulfillmentStatus"] == "FULFILLED"
    assert order["totalPriceSet"] == {"shopMoney": {"amount": "109.9", "currencyCode": "EUR"}}
    assert order["totalTaxSet"]["shopMoney"]["amount"] == "19.07"
    assert order["customer"]["defaultEmailAddress"] == {"emailAddress": "ana@example.com"}
    assert order["subtotalLineItemsQuantity"] == 3  # what a follow-up page is sized from
    assert order["statusPageUrl"].startswith("https://test-outfitters.myshopify.com/")
    assert [(li["sku"], li["quantity"], li["unfulfilledQuantity"]) for li in order["lineItems"]["nodes"]] == [
        ("TEE-S", 2, 0),
        (None, 1, 1),
    ]
    assert order["lineItems"]["nodes"][1]["variantTitle"] is None  # "Default Title" variants have none
    (parcel,) = order["fulfillments"]
    assert parcel["displayStatus"] == "IN_TRANSIT" and parcel["status"] == "SUCCESS"
    assert parcel["estimatedDeliveryAt"] == "2026-11-22T12:00:00Z" and parcel["deliveredAt"] is None
    assert parcel["trackingInfo"] == [
        {"company": "DHL Express", "number": "JD0146", "url": "https://dhl.example/JD0146"}
    ]
    assert parcel["fulfillmentLineItems"]["nodes"] == [
        {"quantity": 2, "lineItem": {"title": "Merino Running Tee", "variantTitle": "S"}}
    ]


async def test_order_by_name_without_hash_and_refunds_and_returns(api: httpx.AsyncClient) -> None:
    (order,) = (await run(api, "OrderByName", {"query": "name:1003"}))["orders"]["nodes"]
    assert order["refunds"] == [
        {
            "createdAt": "2026-11-19T12:00:00Z",
            "note": "Late delivery",
            "totalRefundedSet": {"shopMoney": {"amount": "10.0", "currencyCode": "EUR"}},
        }
    ]
    assert order["returns"]["nodes"] == [
        {"name": "#1003-R1", "status": "OPEN", "createdAt": "2026-11-19T12:00:00Z", "closedAt": None}
    ]
    assert order["returnStatus"] == "IN_PROGRESS"
    assert (await run(api, "OrderByName", {"query": 'name:"#9999"'}))["orders"]["nodes"] == []


async def test_orders_by_email_come_newest_first(api: httpx.AsyncClient) -> None:
    orders = (await run(api, "OrdersByEmail", {"query": 'email:"ana@example.com"', "first": 5}))["orders"]["nodes"]
    assert [o["name"] for o in orders] == ["#1003", "#1002", "#1001"]
    assert orders[2]["fulfillments"][0]["displayStatus"] == "DELIVERED"
    two = (await run(api, "OrdersByEmail", {"query": 'email:"ana@example.com"', "first": 2}))["orders"]["nodes"]
    assert [o["name"] for o in two] == ["#1003", "#1002"]


async def test_customer_profile(api: httpx.AsyncClient) -> None:
    customer = (await run(api, "CustomerProfile", {"email": "Ana@Example.com"}))["customerByIdentifier"]
    assert customer["displayName"] == "Ana Ruiz" and customer["locale"] == "es" and customer["state"] == "ENABLED"
    assert customer["numberOfOrders"] == "3"
    assert customer["amountSpent"] == {"amount": "189.9", "currencyCode": "EUR"}
    assert customer["statistics"] == {"rfmGroup": "CHAMPIONS", "predictedSpendTier": "HIGH"}
    assert customer["lastOrder"]["name"] == "#1003"
    assert customer["firstOrders"]["nodes"] == [{"name": "#1001", "processedAt": "2026-05-04T12:00:00Z"}]
    assert (await run(api, "CustomerProfile", {"email": "nobody@example.com"}))["customerByIdentifier"] is None


async def test_product_search_by_sku_title_and_words(api: httpx.AsyncClient) -> None:
    async def handles(query: str) -> list[str]:
        data = await run(api, "ProductsSearch", {"query": query, "first": 5, "withLocations": False, "variants": 20})
        return [p["handle"] for p in data["products"]["nodes"]]

    assert await handles('sku:"TEE-M" status:active') == ["merino-running-tee"]
    assert await handles('"merino" "tee" status:active') == ["merino-running-tee"]
    assert await handles('title:"rain jacket"') == ["preorder-jacket"]
    assert await handles('"socks" status:active') == []  # a draft
    assert await handles('"socks"') == ["trail-socks"]


async def test_per_location_stock_only_when_asked(api: httpx.AsyncClient) -> None:
    variables = {"query": "sku:TEE-S", "first": 1, "withLocations": False, "variants": 20}
    (product,) = (await run(api, "ProductsSearch", variables))["head"]["nodes"]
    assert "inventoryLevels" not in product["variants"]["nodes"][0]["inventoryItem"]
    (product,) = (await run(api, "ProductsSearch", {**variables, "withLocations": True}))["head"]["nodes"]
    small, medium = product["variants"]["nodes"]
    assert small["inventoryQuantity"] == 5 and small["availableForSale"] is True
    assert medium["inventoryQuantity"] == 0 and medium["availableForSale"] is False
    assert small["inventoryItem"]["inventoryLevels"]["nodes"] == [
        {"location": {"name": "Madrid warehouse"}, "quantities": [{"name": "available", "quantity": 3}]},
        {"location": {"name": "Lisbon store"}, "quantities": [{"name": "available", "quantity": 2}]},
    ]


async def test_a_search_counts_variants_and_the_follow_up_answers_only_the_slots_asked_for(
    api: httpx.AsyncClient,
) -> None:
    variables = {"query": "status:active", "first": 5, "withLocations": False, "variants": 1}
    first = await run(api, "ProductsSearch", variables)
    (head,) = first["head"]["nodes"]
    assert head["handle"] == "merino-running-tee" and head["variantsCount"] == {"count": 2}
    assert [v["sku"] for v in head["variants"]["nodes"]] == ["TEE-S"] and head["variants"]["pageInfo"]["hasNextPage"]
    found = [(p["handle"], p["variantsCount"]["count"]) for p in first["products"]["nodes"]]
    assert found == [("merino-running-tee", 2), ("gift-card", 1), ("preorder-jacket", 1)]
    jacket = first["products"]["nodes"][2]["id"]
    follow_up = {
        **{f"id{i}": head["id"] for i in range(1, 10)},
        "head": head["id"],
        "after": head["variants"]["pageInfo"]["endCursor"],
        "rest": 1,
        "withRest": True,
        "id1": jacket,
        "variants1": 1,
        "with1": True,
    }
    rest = await run(api, "ProductsFound", follow_up)
    assert sorted(rest) == ["p1", "rest"]  # the slots not asked for are skipped
    assert [v["sku"] for v in rest["rest"]["variants"]["nodes"]] == ["TEE-M"]
    assert rest["p1"]["handle"] == "preorder-jacket" and [v["sku"] for v in rest["p1"]["variants"]["nodes"]] == [
        "JKT-L"
    ]


async def test_product_by_handle_and_by_id(api: httpx.AsyncClient) -> None:
    product = (
        await run(api, "ProductByHandle", {"handle": "merino-running-tee", "withLocations": False, "variants": 40})
    )["productByIdentifier"]
    assert product["id"] == "gid://shopify/Product/10"
    assert product["description"] == "Soft merino tee & more. Odour resistant"
    assert product["onlineStoreUrl"] == "https://shop.test-outfitters.example/products/merino-running-tee"
    assert product["priceRangeV2"]["minVariantPrice"] == {"amount": "45.0", "currencyCode": "EUR"}
    assert (
        product["variants"]["nodes"][0]["price"] == "45.00"
        and product["variants"]["nodes"][0]["compareAtPrice"] == "55.00"
    )
    assert product["variants"]["nodes"][0]["selectedOptions"] == [{"name": "Size", "value": "S"}]
    assert {m["key"] for m in product["metafields"]["nodes"]} == {"materials", "care_instructions"}
    assert product["totalInventory"] == 5 and product["tracksInventory"] is True
    by_id = (await run(api, "ProductById", {"id": "gid://shopify/Product/11", "withLocations": True, "variants": 40}))[
        "product"
    ]
    assert by_id["handle"] == "gift-card" and by_id["tracksInventory"] is False
    assert by_id["variants"]["nodes"][0]["inventoryItem"] == {"tracked": False, "inventoryLevels": {"nodes": []}}
    draft = (await run(api, "ProductByHandle", {"handle": "trail-socks", "withLocations": False, "variants": 40}))[
        "productByIdentifier"
    ]
    assert draft["status"] == "DRAFT" and draft["onlineStoreUrl"] is None
    missing = await run(api, "ProductById", {"id": "gid://shopify/Product/404", "withLocations": False, "variants": 40})
    assert missing["product"] is None


async def test_metafields_without_a_namespace_are_empty_and_descriptions_truncate(api: httpx.AsyncClient) -> None:
    query = """{ product(id: "gid://shopify/Product/10") {
        description(truncateAt: 12) private: metafields(first: 5) { nodes { key } }
        one: metafield(namespace: "custom", key: "materials") { value } } }"""
    product = (await gql(api, query))["data"]["product"]
    assert product == {"description": "Soft meri...", "private": {"nodes": []}, "one": {"value": '["100% merino"]'}}


async def test_discount_by_code_is_case_insensitive(api: httpx.AsyncClient) -> None:
    node = (await run(api, "DiscountByCode", {"code": "welcome10"}))["codeDiscountNodeByCode"]
    assert node["id"] == "gid://shopify/DiscountCodeNode/1"
    discount = node["codeDiscount"]
    assert discount["__typename"] == "DiscountCodeBasic" and discount["status"] == "ACTIVE"
    assert discount["customerGets"]["value"] == {"__typename": "DiscountPercentage", "percentage": 0.1}
    assert discount["minimumRequirement"] == {
        "__typename": "DiscountMinimumSubtotal",
        "greaterThanOrEqualToSubtotal": {"amount": "40.0", "currencyCode": "EUR"},
    }
    assert discount["tags"] == ["public"] and discount["endsAt"] is None
    expired = (await run(api, "DiscountByCode", {"code": "Summer25"}))["codeDiscountNodeByCode"]["codeDiscount"]
    assert expired["status"] == "EXPIRED"
    bxgy = (await run(api, "DiscountByCode", {"code": "socks3x2"}))["codeDiscountNodeByCode"]["codeDiscount"]
    assert bxgy["__typename"] == "DiscountCodeBxgy"
    value = bxgy["customerGets"]["value"]  # Shopify answers BXGY values as DiscountOnQuantity
    assert value["__typename"] == "DiscountOnQuantity" and value["quantity"] == {"quantity": "1"}
    assert value["effect"] == {"__typename": "DiscountPercentage", "percentage": 1.0}
    assert (await run(api, "DiscountByCode", {"code": "NOPE"}))["codeDiscountNodeByCode"] is None


async def test_active_discounts_lists_only_active_ones(api: httpx.AsyncClient) -> None:
    nodes = (await run(api, "ActiveDiscounts", {"first": 50}))["discountNodes"]["nodes"]
    titles = {n["discount"]["title"] for n in nodes}
    assert titles == {"Welcome 10%", "Autumn 20% off", "Free shipping over 60", "Socks 3x2"}
    assert all(n["discount"]["status"] == "ACTIVE" for n in nodes)
    by_type = {n["discount"]["__typename"]: n for n in nodes}
    assert by_type["DiscountCodeBasic"]["discount"]["codes"]["nodes"] == [{"code": "WELCOME10"}]
    free = by_type["DiscountAutomaticFreeShipping"]
    assert free["id"] == "gid://shopify/DiscountAutomaticNode/6"
    assert free["discount"]["maximumShippingPrice"] == {"amount": "10.0", "currencyCode": "EUR"}


async def test_shop_policies_and_info(api: httpx.AsyncClient) -> None:
    shop = (await run(api, "ShopPolicies"))["shop"]
    assert shop["primaryDomain"] == {
        "url": "https://shop.test-outfitters.example",
        "host": "shop.test-outfitters.example",
    }
    refund = shop["shopPolicies"][0]
    assert refund["type"] == "REFUND_POLICY" and refund["body"] == "<p>30 days.</p>"
    assert refund["url"] == "https://shop.test-outfitters.example/policies/refund-policy"
    info = (await run(api, "ShopInfo"))["shop"]
    assert info == {
        "name": "Test Outfitters",
        "myshopifyDomain": "test-outfitters.myshopify.com",
        "primaryDomain": shop["primaryDomain"],
        "currencyCode": "EUR",
        "contactEmail": "help@test-outfitters.example",
    }


async def test_access_scopes(api: httpx.AsyncClient) -> None:
    scopes = (await run(api, "AccessScopes"))["currentAppInstallation"]["accessScopes"]
    assert [s["handle"] for s in scopes] == sorted(ALL_SCOPES)


async def test_pagination_with_cursors(api: httpx.AsyncClient) -> None:
    query = """query($after: String) { orders(first: 2, after: $after, sortKey: ORDER_NUMBER) {
        edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    seen, after = [], None
    while True:
        page = (await gql(api, query, {"after": after}))["data"]["orders"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["#1001", "#1002", "#1003", "#1004", "#1005"]
    body = await gql(api, '{ orders(query: "x") { nodes { name } } }')
    assert body["errors"][0]["message"] == "you must provide one of first or last"


async def test_every_operation_over_the_sandbox_store() -> None:
    store = load_sandbox_store()
    order = store.orders[-1]
    customer = next(c for c in store.customers if c.orders)
    product = next(p for p in store.products if p.status == "ACTIVE")
    code = next(str(d.codes[0]["code"]) for d in store.discounts if d.codes)
    variables: dict[str, dict[str, Any]] = {
        "OrderByName": {"query": f'name:"{order.name}"'},
        "OrdersByEmail": {"query": f'email:"{customer.email}"', "first": 5},
        "CustomerProfile": {"email": customer.email},
        "ProductsSearch": {
            "query": f'"{product.title.split()[0]}" status:active',
            "first": 5,
            "withLocations": False,
            "variants": 20,
        },
        "ProductsFound": {
            "head": product.id,
            "after": "eyJvZmZzZXQiOiAwfQ",
            "withRest": True,
            **{f"id{i}": product.id for i in range(1, 10)},
            "with1": True,
            "variants1": 3,
        },
        "ProductByHandle": {"handle": product.handle, "withLocations": True, "variants": 40},
        "ProductById": {"id": product.id, "withLocations": False, "variants": 40},
        "ProductVariants": {"id": product.id, "after": "eyJvZmZzZXQiOiAwfQ", "variants": 5, "withLocations": True},
        "OrderPage": {
            "id": order.id,
            "after": None,
            "lines": 2,
            "withLines": True,
            "shipped": 2,
            "withShipped": True,
            "returns": 2,
            "withReturns": True,
        },
        "DiscountByCode": {"code": code.lower()},
        "ActiveDiscounts": {"first": 50},
        "ShopPolicyTranslations": {"locale": "de"},
    }
    emulator = ShopifyEmulator(store=store)
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="https://x.myshopify.com") as api:
        for name in ALL_OPERATIONS:
            data = await run(api, name, variables.get(name))
            assert all(value is not None for value in data.values()), name
        assert (await run(api, "OrderByName", variables["OrderByName"]))["orders"]["nodes"][0]["name"] == order.name
        profile = await run(api, "CustomerProfile", variables["CustomerProfile"])
        assert profile["customerByIdentifier"]["numberOfOrders"] == str(len(customer.orders))


@pytest.fixture
def tau_store() -> Store:
    if not TAU.is_dir():
        pytest.skip(f"../shared is absent: {TAU} holds the tau-retail dataset (present in CI)")
    return load_tau_store(TAU)


async def test_the_tau_retail_store_answers_lookups_over_http(tau_store: Store) -> None:
    emulator = ShopifyEmulator(store=tau_store)
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="https://x.myshopify.com") as api:
        (order,) = (await run(api, "OrderByName", {"query": 'name:"#1500"'}))["orders"]["nodes"]
        assert order["name"] == "#1500" and order["customer"] is not None
        email = order["email"]
        mine = (await run(api, "OrdersByEmail", {"query": f'email:"{email}"', "first": 10}))["orders"]["nodes"]
        assert "#1500" in [o["name"] for o in mine]
        assert [o["processedAt"] for o in mine] == sorted((o["processedAt"] for o in mine), reverse=True)
    assert emulator.requests[0].requested_cost is not None and emulator.requests[0].requested_cost <= 1000
