"""Shopify's up-front charge for each lookup (requested cost) stays within twice what it returns (actual cost).

Shopify takes the requested cost from the bucket before running a query and gives back the difference afterwards,
so a burst of lookups needs `requested` points each, while the sustained rate depends on `actual`. These tests run
the real lookups over the sandbox store and read both costs from the emulator's request log (Shopify's documented
cost rules, see `shopify_mcp.emulator.cost`). Documented exceptions, each pinned below: an answer that finds nothing
(the query was sized for a record; the answer holds none), product search (see the test), and stock per location of
a product that tracks no inventory.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from shopify_mcp.context import ShopifyContext, open_context
from shopify_mcp.emulator import build_store, load_sandbox_store
from shopify_mcp.errors import NotFoundError
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.support import OWNER, make_settings

pytestmark = pytest.mark.anyio

BUDGET = 2.0


def _costs(emulator: ShopifyEmulator, since: int = 0) -> list[tuple[str, int, int]]:
    return [
        (r.operation, r.requested_cost or 0, r.actual_cost or 0)
        for r in emulator.requests[since:]
        if r.operation is not None
    ]


def _over_budget(costs: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    return [(name, requested, actual) for name, requested, actual in costs if requested > BUDGET * actual]


async def test_every_sandbox_order_lookup_reserves_at_most_twice_what_it_returns(
    ctx: ShopifyContext, emulator: ShopifyEmulator
) -> None:
    for order in emulator.store.orders:
        await ctx.orders.lookup(order.name, order.email)
    costs = _costs(emulator)
    assert [name for name, *_ in costs] == ["OrderByName"] * len(emulator.store.orders)  # one request each
    assert _over_budget(costs) == []
    # 53 points reserved for 27 to 47 used: the worst is an unfulfilled one-item order
    assert {requested for _, requested, _ in costs} == {53}
    assert min(actual for *_, actual in costs) == 27


async def test_an_order_that_is_not_found_is_the_worst_case(ctx: ShopifyContext, emulator: ShopifyEmulator) -> None:
    with pytest.raises(NotFoundError):
        await ctx.orders.lookup("#9999", OWNER)
    assert _costs(emulator) == [("OrderByName", 53, 2)]  # sized for one order; the answer is an empty page


async def test_customer_order_lists_ask_for_exactly_the_orders_there_are(
    ctx: ShopifyContext, emulator: ShopifyEmulator
) -> None:
    emails = sorted({o.email.casefold() for o in emulator.store.orders if o.email})
    for email in emails:
        everything = [o.order_number for o in (await ctx.orders.list_for_customer(email, 10)).orders]
        for limit in (1, 5):
            listed = await ctx.orders.list_for_customer(email, limit)
            assert [o.order_number for o in listed.orders] == everything[:limit]  # newest first, none missing
    assert _over_budget(_costs(emulator)) == []
    since = len(emulator.requests)
    listed = await ctx.orders.list_for_customer(OWNER, 5)  # more than five orders: the newest one with the count,
    assert len(listed.orders) == 5  # then exactly four more
    assert [(name, first) for name, first in _firsts(emulator, since)] == [("OrdersByEmail", 1), ("OrdersByEmail", 4)]


def _firsts(emulator: ShopifyEmulator, since: int) -> list[tuple[str | None, Any]]:
    return [(r.operation, (r.variables or {}).get("first")) for r in emulator.requests[since:] if r.operation]


async def test_product_lookups_reserve_at_most_twice_what_they_return(
    ctx: ShopifyContext, emulator: ShopifyEmulator
) -> None:
    untracked = {p.handle for p in emulator.store.products if not p.tracks_inventory}
    for product in emulator.store.products:
        plain = await ctx.catalog.get(handle=product.handle)
        assert len(plain.variants) == len(product.variants) and not plain.more_variants
        since = len(emulator.requests)
        located = await ctx.catalog.get(handle=product.handle, include_locations=True)
        assert [v.id for v in located.variants] == [v.id for v in plain.variants]
        over = _over_budget(_costs(emulator, since))
        if product.handle in untracked:  # stock per location asked of a product that tracks none: 35 for 14
            assert [(name, requested) for name, requested, _ in over] in ([], [("ProductByHandle", 35)])
        else:
            assert over == []


async def test_discounts_promotions_and_policies(ctx: ShopifyContext, emulator: ShopifyEmulator) -> None:
    codes = [str(c["code"]) for d in emulator.store.discounts for c in d.codes]
    for code in codes:
        assert (await ctx.discounts.check(code)).exists
    await ctx.discounts.promotions()
    await ctx.policies.get()
    await ctx.policies.get(language="de")
    assert _over_budget(_costs(emulator)) == []
    since = len(emulator.requests)
    assert not (await ctx.discounts.check("NO-SUCH-CODE")).exists
    assert _costs(emulator, since) == [("DiscountByCode", 9, 1)]  # not found: the null node still costs 1


async def test_product_search_is_not_within_budget_yet(ctx: ShopifyContext, emulator: ShopifyEmulator) -> None:
    """Search asks for `limit` products of up to 20 variants each, in one request: Shopify reserves that much
    whatever the search finds. Meeting the budget needs the count first (2+ requests per search): not done yet."""
    await ctx.catalog.search("leggings", 5)
    ((name, requested, actual),) = _costs(emulator)
    assert name == "ProductsSearch" and requested == 2 + 5 * 74 and actual < requested / 2


def _big_order_store() -> Any:
    """The sandbox store plus order #1099 of the owner: 60 line items, 45 of them in one shipment, 3 returns."""
    text = resources.files("shopify_mcp").joinpath("sandbox/store.json").read_text(encoding="utf-8")
    document = json.loads(text)
    variants = [v["id"] for p in document["products"] if p.get("status", "ACTIVE") == "ACTIVE" for v in p["variants"]]
    template = next(o for o in document["orders"] if o["number"] == 1021)
    order = copy.deepcopy(template)
    lines = [variants[i % len(variants)] for i in range(60)]
    distinct = list(dict.fromkeys(lines))[:45]
    order.update(
        number=1099,
        fulfillment_status="PARTIALLY_FULFILLED",
        return_status="RETURN_REQUESTED",
        line_items=[{"variant_id": v, "quantity": 1} for v in lines],
        fulfillments=[
            {**template["fulfillments"][0], "line_items": [{"variant_id": v, "quantity": 1} for v in distinct]}
        ],
        returns=[{"name": f"#1099-R{i}", "status": "OPEN", "days_ago": 1, "closed_days_ago": None} for i in (1, 2, 3)],
    )
    document["orders"].append(order)
    return build_store(document, now=load_sandbox_store().now)


async def test_an_order_with_60_line_items_comes_back_whole(tmp_path: Path) -> None:
    emulator = ShopifyEmulator(store=_big_order_store())
    async with open_context(make_settings(tmp_path), emulator=emulator) as ctx:
        order = await ctx.orders.lookup("#1099", OWNER)
    assert len(order.items) == 60
    (shipment,) = order.shipments
    assert len(shipment.items) == 45
    assert [r.name for r in order.returns] == ["#1099-R1", "#1099-R2", "#1099-R3"]
    costs = _costs(emulator)
    # the first answer (5 lines, 4 shipped items, 1 return), then one follow-up sized from what was left
    assert [name for name, *_ in costs] == ["OrderByName", "OrderPage"]
    assert _over_budget(costs) == []
