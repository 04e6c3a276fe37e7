"""Every Shopify tool through the SDK's in-memory client over the sandbox store: answers, refusals, errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from shopify_mcp.context import open_context
from shopify_mcp.emulator import build_store
from shopify_mcp.server import create_server
from support_core.categories import TICKET_CATEGORIES
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.conftest import ClientFactory
from tests.shopify_mcp.emulator.store_data import NOW, store_document
from tests.shopify_mcp.support import OWNER, error_text, make_settings, ok

pytestmark = pytest.mark.anyio

READ_ONLY_TOOLS = {
    "lookup_order",
    "list_customer_orders",
    "get_customer_profile",
    "search_products",
    "get_product",
    "check_discount_code",
    "list_promotions",
    "get_policies",
    "list_tickets",
    "diagnose",
}


async def test_tools_are_listed_with_schemas_and_honest_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == READ_ONLY_TOOLS | {"escalate_ticket"}
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 80, f"{name} needs a prompt-quality description"
        assert tool.output_schema, f"{name} must declare structured output"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in READ_ONLY_TOOLS), name
    assert tools["escalate_ticket"].annotations is not None
    assert tools["escalate_ticket"].annotations.destructive_hint is False
    assert set(tools["lookup_order"].input_schema["required"]) == {"order_number", "customer_email"}


# --- lookup_order ---------------------------------------------------------------------------------------------


async def test_owner_sees_a_split_shipment_with_both_carriers(client: Client) -> None:
    order = ok(await client.call_tool("lookup_order", {"order_number": "1021", "customer_email": OWNER}))
    assert order["order_number"] == "#1021"
    assert order["state"] == "partially_shipped"
    carriers = {t["carrier"] for s in order["shipments"] for t in s["tracking"]}
    assert len(order["shipments"]) == 2 and len(carriers) == 2
    for shipment in order["shipments"]:
        for tracking in shipment["tracking"]:
            assert tracking["number"] and tracking["url"].startswith("https://")
        assert shipment["items"], "each shipment lists what it carries"
    assert any(item["unfulfilled_quantity"] > 0 for item in order["items"])
    assert order["status_page_url"].startswith("https://")
    assert order["totals"]["total"]["currency"] == "EUR"


async def test_email_match_ignores_case_and_surrounding_space(client: Client) -> None:
    for email in (OWNER, "  MARIA.GARCIA@example.COM "):
        order = ok(await client.call_tool("lookup_order", {"order_number": "#1016", "customer_email": email}))
        assert order["order_number"] == "#1016"


async def test_capitalised_address_owns_the_order(client: Client, emulator: ShopifyEmulator) -> None:
    order = ok(
        await client.call_tool("lookup_order", {"order_number": "1021", "customer_email": "MARIA.GARCIA@Example.com"})
    )
    assert order["order_number"] == "#1021"
    [request] = emulator.requests
    assert request.variables == {"query": 'name:"#1021" AND email:"maria.garcia@example.com"'}


async def test_wrong_email_and_missing_order_get_the_same_answer(client: Client, emulator: ShopifyEmulator) -> None:
    wrong = error_text(
        await client.call_tool("lookup_order", {"order_number": "#1021", "customer_email": "mallory@example.net"})
    )
    not_hers = emulator.requests.copy()
    emulator.requests.clear()
    missing = error_text(await client.call_tool("lookup_order", {"order_number": "#9999", "customer_email": OWNER}))
    assert "No order" in wrong
    assert wrong.replace("#1021", "#N") == missing.replace("#9999", "#N")
    # The same single request, with the same cost and answer size: nothing tells "not yours" from "no such order".
    assert len(not_hers) == len(emulator.requests) == 1
    [first], [second] = not_hers, emulator.requests
    assert (first.operation, first.status, first.actual_cost) == (second.operation, second.status, second.actual_cost)
    assert first.variables == {"query": 'name:"#1021" AND email:"mallory@example.net"'}
    assert second.variables == {"query": f'name:"#9999" AND email:"{OWNER}"'}


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("\u212aate@example.com", "confusable"),  # KELVIN SIGN: casefold() made it kate@example.com
        ("\uff4daria.garcia@example.com", "confusable"),  # FULLWIDTH m imitating the owner's address
        ("maria.garcia@example.com <x@y>", "no spaces"),
        ("Maria <maria.garcia@example.com>", "no spaces"),
    ],
)
async def test_look_alike_and_decorated_addresses_are_refused_before_any_request(
    client: Client, emulator: ShopifyEmulator, email: str, reason: str
) -> None:
    for tool, args in [
        ("lookup_order", {"order_number": "#1021", "customer_email": email}),
        ("list_customer_orders", {"customer_email": email}),
        ("get_customer_profile", {"customer_email": email}),
    ]:
        text = error_text(await client.call_tool(tool, args))
        assert "customer_email must be one email address" in text and reason in text, (tool, text)
    assert emulator.requests == []


async def test_similar_email_is_not_an_owner(client: Client) -> None:
    result = await client.call_tool(
        "lookup_order", {"order_number": "#1021", "customer_email": "maria.garcia@example.co"}
    )
    assert "No order" in error_text(result)


async def test_guest_checkout_order_belongs_to_its_contact_email(client: Client) -> None:
    order = ok(
        await client.call_tool("lookup_order", {"order_number": "#1022", "customer_email": "lotte.devries@example.net"})
    )
    assert order["state"] == "delivered"


@pytest.mark.parametrize(
    ("number", "email", "state"),
    [
        ("#1018", "oliver.bennett@example.net", "cancelled"),
        ("#1011", "j.nunez@example.org", "refunded"),
        ("#1008", OWNER, "returned"),
        ("#1017", "zoe.dubois@example.net", "return_in_progress"),
        ("#1027", "joao.silva@example.com", "awaiting_payment"),
        ("#1026", "emily.carter@example.com", "on_hold"),
        ("#1029", OWNER, "processing"),
        ("#1024", "giulia.rossi@example.com", "in_transit"),
        ("#1025", "nuria.puig@example.net", "out_for_delivery"),
        ("#1019", "oliver.bennett@example.net", "delivery_problem"),
        ("#1012", OWNER, "delivered"),
    ],
)
async def test_every_order_state_is_summarised(client: Client, number: str, email: str, state: str) -> None:
    order = ok(await client.call_tool("lookup_order", {"order_number": number, "customer_email": email}))
    assert order["state"] == state


async def test_cancelled_and_refunded_orders_carry_their_details(client: Client) -> None:
    order = ok(
        await client.call_tool(
            "lookup_order", {"order_number": "#1018", "customer_email": "oliver.bennett@example.net"}
        )
    )
    assert order["cancel_reason"] == "INVENTORY" and order["cancelled_at"]
    assert order["refunds"] and order["totals"]["refunded"]["amount"] == order["totals"]["total"]["amount"]


async def test_orders_older_than_60_days_need_read_all_orders(client: Client, emulator: ShopifyEmulator) -> None:
    old = {"order_number": "#1001", "customer_email": OWNER}
    assert ok(await client.call_tool("lookup_order", old))["order_number"] == "#1001"
    emulator.scopes.discard("read_all_orders")
    assert "read_all_orders" in error_text(await client.call_tool("lookup_order", old))


@pytest.mark.parametrize("number", ["10 21", "#1021 OR name:*", "", "x" * 50])
async def test_malformed_order_numbers_are_refused_before_any_request(
    client: Client, emulator: ShopifyEmulator, number: str
) -> None:
    result = await client.call_tool("lookup_order", {"order_number": number, "customer_email": OWNER})
    assert "order_number" in error_text(result)
    assert emulator.requests == []


async def test_missing_email_is_refused_by_the_schema(client: Client) -> None:
    result = await client.call_tool("lookup_order", {"order_number": "#1021"})
    assert "customer_email" in error_text(result)


async def test_merchant_mode_makes_the_email_optional_but_still_checks_a_given_one(
    client_with: ClientFactory, emulator: ShopifyEmulator
) -> None:
    async with client_with(verify_customer_email=False) as merchant:
        schema = {t.name: t for t in (await merchant.list_tools()).tools}["lookup_order"].input_schema
        assert schema["required"] == ["order_number"]
        assert ok(await merchant.call_tool("lookup_order", {"order_number": "#1021"}))["order_number"] == "#1021"
        wrong = await merchant.call_tool("lookup_order", {"order_number": "#1021", "customer_email": "x@example.net"})
        assert "No order" in error_text(wrong)
    assert [r.variables for r in emulator.requests] == [{"query": 'name:"#1021"'}] * 2, "merchant mode: by name only"


# --- internationalised addresses ---------------------------------------------------------------------------------


@pytest.fixture
async def idn_client(tmp_path: Path) -> AsyncIterator[tuple[Client, ShopifyEmulator]]:
    """A store whose customer Ana has an address at an IDN domain, stored in its ASCII (punycode) form."""
    document = store_document()
    for record in (*document["customers"], *document["orders"]):
        record["email"] = str(record["email"]).replace("ana@example.com", "ana@xn--mller-kva.example")
    emulator = ShopifyEmulator(store=build_store(document, now=NOW))
    async with open_context(make_settings(tmp_path), emulator=emulator) as ctx, Client(create_server(ctx)) as client:
        yield client, emulator


async def test_an_idn_address_owns_its_orders_in_either_form(idn_client: tuple[Client, ShopifyEmulator]) -> None:
    client, emulator = idn_client
    for email in ("Ana@Müller.example", "ana@XN--MLLER-KVA.example"):
        order = ok(await client.call_tool("lookup_order", {"order_number": "#1002", "customer_email": email}))
        assert order["order_number"] == "#1002"
        listed = ok(await client.call_tool("list_customer_orders", {"customer_email": email}))
        assert [o["order_number"] for o in listed["orders"]] == ["#1003", "#1002", "#1001"]
        assert listed["customer_email"] == "ana@müller.example"
    assert emulator.requests[0].variables == {
        "query": 'name:"#1002" AND (email:"ana@müller.example" OR email:"ana@xn--mller-kva.example")'
    }
    other = await client.call_tool("lookup_order", {"order_number": "#1002", "customer_email": "ana@muller.example"})
    assert "No order" in error_text(other)


# --- list_customer_orders and get_customer_profile --------------------------------------------------------------


async def test_customer_orders_are_newest_first_and_only_theirs(client: Client) -> None:
    result = ok(await client.call_tool("list_customer_orders", {"customer_email": OWNER, "limit": 10}))
    numbers = [o["order_number"] for o in result["orders"]]
    assert "#1016" in numbers, "the order placed with different capitalisation is still hers"
    assert "#1022" not in numbers
    dates = [o["processed_at"] for o in result["orders"]]
    assert dates == sorted(dates, reverse=True)
    assert len(ok(await client.call_tool("list_customer_orders", {"customer_email": OWNER}))["orders"]) == 5


async def test_unknown_customer_has_no_orders(client: Client) -> None:
    result = ok(await client.call_tool("list_customer_orders", {"customer_email": "nobody@example.net"}))
    assert result["orders"] == []


async def test_vip_profile(client: Client) -> None:
    profile = ok(await client.call_tool("get_customer_profile", {"customer_email": OWNER}))
    assert profile["vip"] is True
    assert any("VIP" in reason for reason in profile["vip_reasons"])
    assert profile["order_count"] == 7
    assert profile["first_order"]["order_number"] == "#1001"
    assert profile["rfm_group"] == "CHAMPIONS"


async def test_ordinary_profile_and_missing_profile(client: Client) -> None:
    profile = ok(await client.call_tool("get_customer_profile", {"customer_email": "emily.carter@example.com"}))
    assert profile["vip"] is False and profile["vip_reasons"] == []
    missing = await client.call_tool("get_customer_profile", {"customer_email": "lotte.devries@example.net"})
    assert "No customer" in error_text(missing)


# --- products ---------------------------------------------------------------------------------------------------


async def test_search_finds_products_with_variant_stock(client: Client) -> None:
    result = ok(await client.call_tool("search_products", {"query": "compression leggings"}))
    leggings = next(p for p in result["products"] if p["handle"] == "pro-compression-leggings")
    statuses = {v["title"]: v["stock_status"] for v in leggings["variants"]}
    assert statuses["L / Deep Navy"] == "sold_out"
    assert "care_instructions" in leggings["details"]
    assert leggings["details"]["materials"] == "78% recycled polyamide, 22% elastane", "list metafields read as text"
    assert "internal_cost_note" not in leggings["details"], "only configured metafields reach customers"
    assert leggings["url"].startswith("https://shop.aurora-activewear.example/products/")


async def test_search_by_sku_and_unpublished_products(client: Client) -> None:
    by_sku = ok(await client.call_tool("search_products", {"query": "AUR-LEG-M-BLK"}))
    assert [p["handle"] for p in by_sku["products"]] == ["pro-compression-leggings"]
    drafts = ok(await client.call_tool("search_products", {"query": "arm sleeves"}))
    assert all(p["status"] == "ACTIVE" for p in drafts["products"])
    assert ok(await client.call_tool("search_products", {"query": "submarine"}))["products"] == []


async def test_product_with_locations_untracked_and_backorder(client: Client) -> None:
    leggings = ok(
        await client.call_tool("get_product", {"handle": "pro-compression-leggings", "include_locations": True})
    )
    locations = {loc["location"] for v in leggings["variants"] for loc in v["locations"]}
    assert len(locations) >= 2
    for variant in leggings["variants"]:
        assert sum(loc["available"] for loc in variant["locations"]) == variant["stock"]
    gift = ok(await client.call_tool("get_product", {"handle": "aurora-gift-card"}))
    assert all(v["stock"] is None and v["available"] and v["stock_status"] == "not_tracked" for v in gift["variants"])
    assert gift["total_stock"] is None
    top = ok(await client.call_tool("get_product", {"handle": "thermal-half-zip-running-top"}))
    assert "backorder" in {v["stock_status"] for v in top["variants"]}


async def test_get_product_argument_errors(client: Client) -> None:
    assert "exactly one" in error_text(await client.call_tool("get_product", {}))
    both = await client.call_tool("get_product", {"handle": "cork-yoga-mat", "product_id": "109"})
    assert "exactly one" in error_text(both)
    assert "No product" in error_text(await client.call_tool("get_product", {"handle": "no-such-thing"}))
    by_id = ok(await client.call_tool("get_product", {"product_id": "109"}))
    assert by_id["handle"] == "cork-yoga-mat" and len(by_id["variants"]) == 1


# --- discounts and promotions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exists", "usable", "reason"),
    [
        ("welcome10", True, True, r"active.*minimum purchase"),
        ("SUMMER25", True, False, r"expired"),
        ("FLASH100", True, False, r"usage limit"),
        ("LAUNCH15", True, False, r"not active yet"),
        ("NOPE-NOT-A-CODE", False, False, r"No discount"),
    ],
)
async def test_discount_codes_explain_themselves(
    client: Client, code: str, exists: bool, usable: bool, reason: str
) -> None:
    check = ok(await client.call_tool("check_discount_code", {"code": code}))
    assert (check["exists"], check["usable_now"]) == (exists, usable)
    assert re.search(reason, check["reason"], re.IGNORECASE), check["reason"]


async def test_promotions_list_only_automatic_and_public_codes(client: Client) -> None:
    promotions = ok(await client.call_tool("list_promotions", {}))
    assert len(promotions["automatic"]) == 2
    codes = {p["code"] for p in promotions["public_codes"]}
    assert codes == {"WELCOME10", "SOCKS3X2"}
    assert all(p["status"] == "ACTIVE" for p in promotions["public_codes"] + promotions["automatic"])


async def test_promotions_are_cached(client: Client, emulator: ShopifyEmulator) -> None:
    await client.call_tool("list_promotions", {})
    fetched = [r.operation for r in emulator.requests]
    # the newest active discount with the count of all, then exactly the rest (the sandbox runs 7)
    assert fetched.count("ActiveDiscounts") == 2
    await client.call_tool("list_promotions", {})
    assert [r.operation for r in emulator.requests] == fetched


# --- policies -----------------------------------------------------------------------------------------------------


async def test_policies_are_plain_text(client: Client) -> None:
    everything = ok(await client.call_tool("get_policies", {}))
    assert len(everything["policies"]) == 5
    refund = ok(await client.call_tool("get_policies", {"kind": "returns"}))["policies"]
    assert [p["type"] for p in refund] == ["REFUND_POLICY"]
    assert "<" not in refund[0]["text"] and "30" in refund[0]["text"]
    assert "Unknown policy" in error_text(await client.call_tool("get_policies", {"kind": "weather"}))


async def test_policies_are_resources_too(client: Client) -> None:
    result = await client.read_resource("shopify://policies/shipping")
    text = result.contents[0].text  # type: ignore[union-attr]
    assert text.startswith("Shipping") and "https://" in text


# --- escalation ------------------------------------------------------------------------------------------------


async def test_escalated_tickets_are_listed(client: Client) -> None:
    ticket = ok(
        await client.call_tool(
            "escalate_ticket",
            {
                "category": "PaymentBilling",
                "customer_email": OWNER,
                "summary": "Charged twice for #1021",
                "priority": "high",
                "order_number": "1021",
            },
        )
    )
    assert ticket["order_number"] == "#1021" and ticket["sink"] == "local"
    listed = ok(await client.call_tool("list_tickets", {"customer_email": OWNER}))
    assert [t["id"] for t in listed["tickets"]] == [ticket["id"]]


async def test_bad_ticket_arguments_are_refused(client: Client) -> None:
    bad_email = await client.call_tool(
        "escalate_ticket", {"category": "Other", "customer_email": "not-an-email", "summary": "x"}
    )
    assert "customer_email must be one email address" in error_text(bad_email)
    look_alike = await client.call_tool(
        "escalate_ticket", {"category": "Other", "customer_email": "\u212aate@example.com", "summary": "x"}
    )
    assert "confusable" in error_text(look_alike)
    invented = await client.call_tool(
        "escalate_ticket", {"category": "Weather", "customer_email": OWNER, "summary": "x"}
    )
    assert "InternalAlert" in error_text(invented), "the refusal lists the categories"


async def test_ticket_category_is_an_enum_in_both_schemas(client: Client) -> None:
    tool = {t.name: t for t in (await client.list_tools()).tools}["escalate_ticket"]
    assert tool.input_schema["properties"]["category"]["enum"] == list(TICKET_CATEGORIES)
    assert tool.output_schema is not None
    assert tool.output_schema["properties"]["category"]["enum"] == list(TICKET_CATEGORIES)
    assert len(TICKET_CATEGORIES) == 11 and {"InternalAlert", "Other", "ShippingDelivery"} <= set(TICKET_CATEGORIES)


@pytest.mark.parametrize("category", TICKET_CATEGORIES)
async def test_every_category_makes_a_ticket(client: Client, category: str) -> None:
    ticket = ok(
        await client.call_tool("escalate_ticket", {"category": category, "customer_email": OWNER, "summary": "x"})
    )
    assert ticket["category"] == category


async def test_tickets_are_listed_only_for_a_given_customer(client: Client) -> None:
    for email in (OWNER, "emily.carter@example.com"):
        await client.call_tool("escalate_ticket", {"category": "Other", "customer_email": email, "summary": "x"})
    for args in ({}, {"customer_email": "  "}, {"status": "open"}):
        text = error_text(await client.call_tool("list_tickets", args))
        assert "customer_email is required" in text, args
    listed = ok(await client.call_tool("list_tickets", {"customer_email": "Maria.Garcia@EXAMPLE.com"}))
    assert [t["customer_email"] for t in listed["tickets"]] == [OWNER]
    bad = await client.call_tool("list_tickets", {"customer_email": "\u212aate@example.com"})
    assert "customer_email must be one email address" in error_text(bad)


async def test_merchant_mode_lists_every_ticket(client_with: ClientFactory) -> None:
    async with client_with(verify_customer_email=False) as merchant:
        for email in (OWNER, "emily.carter@example.com"):
            await merchant.call_tool("escalate_ticket", {"category": "Other", "customer_email": email, "summary": "x"})
        listed = ok(await merchant.call_tool("list_tickets", {}))
        assert listed["total"] == 2
        assert ok(await merchant.call_tool("list_tickets", {"customer_email": OWNER}))["total"] == 1


# --- upstream failures -----------------------------------------------------------------------------------------


async def test_missing_scope_is_named(client: Client, emulator: ShopifyEmulator) -> None:
    emulator.scopes.discard("read_customers")
    text = error_text(await client.call_tool("get_customer_profile", {"customer_email": OWNER}))
    assert "read_customers" in text


async def test_shopify_outage_is_reported_after_retries(client: Client, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(503, 10)
    text = error_text(await client.call_tool("search_products", {"query": "leggings"}))
    assert "did not answer" in text and "3 attempts" in text
    assert len(emulator.requests) == 3


async def test_a_passing_error_is_retried_transparently(client: Client, emulator: ShopifyEmulator) -> None:
    emulator.faults.http_status(502, 1)
    emulator.faults.throttle(1)
    assert ok(await client.call_tool("search_products", {"query": "leggings"}))["products"]


async def test_buy_x_get_y_discount_says_what_the_customer_gets(client: Client) -> None:
    check = ok(await client.call_tool("check_discount_code", {"code": "SOCKS3X2"}))
    assert check["discount"]["kind"] == "buy_x_get_y"
    assert check["discount"]["percentage"] == 100.0 and check["discount"]["get_quantity"] == 1
