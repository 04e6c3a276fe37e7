"""Shopify's up-front charge for each lookup (requested cost) stays within twice what it returns (actual cost).

Shopify takes the requested cost from the bucket before running a query and gives back the difference afterwards,
so a burst of lookups needs `requested` points each, while the sustained rate depends on `actual`. These tests run
the real lookups over the sandbox store and read both costs from the emulator's request log (Shopify's documented
cost rules, see `shopify_mcp.emulator.cost`). Documented exceptions, each pinned below: an answer that finds nothing
(the query was sized for a record, or a search for its first product; the answer holds none), and stock per location
of a product that tracks no inventory.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from shopify_mcp.catalog import SEARCH_VARIANTS
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


SEARCHES = ("leggings", "jacket", "compression", "running", "recovery", "yoga mat", "gift card", "AUR-LEG-M-BLK")
"""Typical searches: several products, one multi-variant product, a one-variant product, a SKU."""


async def test_product_searches_reserve_at_most_twice_what_they_return(tmp_path: Path) -> None:
    emulator = ShopifyEmulator(store=load_sandbox_store(), bucket_size=1e9, restore_rate=1e9)  # costs, not waits
    words = sorted({p.title.split()[0] for p in emulator.store.products if p.status == "ACTIVE"})
    over = []
    async with open_context(make_settings(tmp_path), emulator=emulator) as ctx:
        for query in (*SEARCHES, *words):
            for limit in (1, 5, 10):
                since = len(emulator.requests)
                assert (await ctx.catalog.search(query, limit)).products, query
                costs = _costs(emulator, since)
                # the first product whole with every product's variant count, then the others exactly: no N+1
                assert [name for name, *_ in costs] in (["ProductsSearch"], ["ProductsSearch", "ProductsFound"])
                over += [(query, limit, *cost) for cost in _over_budget(costs)]
        since = len(emulator.requests)
        await ctx.catalog.search("leggings")  # two products of 8 and 3 variants
        leggings = _costs(emulator, since)
        since = len(emulator.requests)
        await ctx.catalog.search("yoga mat")  # one product of one variant: one request
        yoga_mat = _costs(emulator, since)
    # the one exception: a limit of 10 and a single product found, with none of the six facts (the gift card)
    assert over == [("gift card", 10, "ProductsSearch", 42, 18)]
    assert leggings == [("ProductsSearch", 32, 25), ("ProductsFound", 47, 46)]  # was 372 reserved for 61 used
    assert yoga_mat == [("ProductsSearch", 32, 21)]  # was 372 for 16


async def test_a_search_returns_each_product_as_get_product_does(ctx: ShopifyContext) -> None:
    for word in ("running", "compression", "recovery"):
        found = await ctx.catalog.search(word, 10)
        assert len(found.products) >= 3
        for product in found.products:
            assert product == await ctx.catalog.get(handle=product.handle)  # every variant, every field


async def test_a_search_that_finds_nothing_is_the_worst_case(ctx: ShopifyContext, emulator: ShopifyEmulator) -> None:
    assert (await ctx.catalog.search("submarine")).products == []
    # sized for the first product and five counts (was 372); the answer is two empty pages
    assert _costs(emulator) == [("ProductsSearch", 32, 4)]


def _store_with_big_products() -> Any:
    """The sandbox store plus three 'Trail' products of 30, 18 and 1 variants."""
    text = resources.files("shopify_mcp").joinpath("sandbox/store.json").read_text(encoding="utf-8")
    document = json.loads(text)
    template = document["products"][0]
    for product_id, size in ((201, 30), (202, 18), (203, 1)):
        variants = [
            {
                **template["variants"][0],
                "id": product_id * 100 + i,
                "title": f"Size {i}",
                "options": {"Size": str(i)},
                "sku": f"TRL-{product_id}-{i}",
                "stock": {"1": i},
            }
            for i in range(1, size + 1)
        ]
        title = f"Trail {size}-Variant Tights"
        handle = f"trail-{size}-variant-tights"
        document["products"].append(
            {**template, "id": product_id, "handle": handle, "title": title, "options": ["Size"], "variants": variants}
        )
    return build_store(document, now=load_sandbox_store().now)


async def test_search_returns_the_variants_of_products_with_many(tmp_path: Path) -> None:
    emulator = ShopifyEmulator(store=_store_with_big_products())
    async with open_context(make_settings(tmp_path), emulator=emulator) as ctx:
        found = await ctx.catalog.search("trail tights")
        eighteen = await ctx.catalog.search("trail 18-variant tights")
        whole = await ctx.catalog.get(handle="trail-30-variant-tights")
    big, middle, _ = found.products
    assert [len(p.variants) for p in found.products] == [SEARCH_VARIANTS, 18, 1]  # as before: 20 at most,
    assert [p.more_variants for p in found.products] == [True, False, False]  # the rest via get_product
    assert [v.title for v in big.variants] == [f"Size {i}" for i in range(1, 21)]
    assert [v.stock for v in middle.variants] == list(range(1, 19))
    assert [len(whole.variants), whole.more_variants] == [30, False]
    assert eighteen.products == [middle]  # the first product found: 1 variant first, then exactly the other 17
    costs = _costs(emulator)
    assert [name for name, *_ in costs][:4] == ["ProductsSearch", "ProductsFound"] * 2
    assert _over_budget(costs) == []
    assert [r.variables["rest"] for r in emulator.requests if r.operation == "ProductsFound"] == [19, 17]


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
