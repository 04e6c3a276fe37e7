"""Loading stores: validation that names the bad record, relative dates, and every computed value."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from shopify_mcp.emulator import Store, build_store, load_sandbox_store, load_store
from support_testing.shopify_emulator import load_tau_store
from tests.shopify_mcp.emulator.store_data import NOW, store_document

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
TAU = SHARED / "store" / "tau-retail"
SANDBOX = Path(__file__).resolve().parents[3] / "shopify_mcp" / "sandbox" / "store.json"


def test_relative_dates_are_materialised_against_now(store: Store) -> None:
    order = store.order_by_number(1002)
    assert order is not None
    assert order.created_at == NOW - dt.timedelta(days=10)
    assert order.fulfillments[0].estimated_delivery_at == NOW + dt.timedelta(days=2)
    later = build_store(store_document(), now=NOW + dt.timedelta(days=1))
    later_order = later.order_by_number(1002)
    assert later_order is not None and later_order.created_at == order.created_at + dt.timedelta(days=1)


def test_order_totals_and_tax_are_computed(store: Store) -> None:
    order = store.order_by_number(1002)
    assert order is not None
    # 2 x 45.00 + 1 x 20.00 (price override) - 5.00 discount = 105.00; + 4.90 shipping; 21 % included
    assert order.subtotal_price_set["shopMoney"]["amount"] == Decimal("105.00")
    assert order.total_price_set["shopMoney"]["amount"] == Decimal("109.90")
    assert order.total_tax_set["shopMoney"]["amount"] == Decimal("19.07")
    assert order.line_items[1].original_unit_price_set["shopMoney"]["amount"] == Decimal("20.00")
    assert [line.unfulfilled_quantity for line in order.line_items] == [0, 1]


def test_cancelled_orders_keep_no_current_quantity(store: Store) -> None:
    order = store.order_by_number(1004)
    assert order is not None and order.cancel_reason == "CUSTOMER"
    assert [(line.quantity, line.current_quantity, line.unfulfilled_quantity) for line in order.line_items] == [
        (1, 0, 0)
    ]


def test_customer_order_count_and_spend(store: Store) -> None:
    ana = store.customer_by_email("ANA@example.com ")
    assert ana is not None
    assert ana.number_of_orders == 3
    # paid 45.00 (#1001) + 109.90 (#1002) + (45.00 - 10.00 refunded, #1003)
    assert ana.amount_spent == {"amount": Decimal("189.90"), "currencyCode": "EUR"}
    assert [o.number for o in ana.orders] == [1001, 1002, 1003]
    ben = store.customer_by_email("ben@example.com")
    assert ben is not None and ben.number_of_orders == 1 and ben.amount_spent["amount"] == Decimal("0.00")


def test_stock_and_availability_follow_shopify_rules(store: Store) -> None:
    tee = store.product_by_handle("merino-running-tee")
    gift = store.product_by_handle("gift-card")
    socks = store.product_by_handle("trail-socks")
    jacket = store.product_by_handle("preorder-jacket")
    assert tee and gift and socks and jacket
    assert [(v.inventory_quantity, v.available_for_sale) for v in tee.variants] == [(5, True), (0, False)]
    assert tee.total_inventory == 5 and tee.tracks_inventory
    assert (gift.variants[0].inventory_quantity, gift.variants[0].available_for_sale) == (0, True)  # untracked
    assert not gift.tracks_inventory and gift.total_inventory == 0
    assert socks.variants[0].available_for_sale is False  # CONTINUE, but the product is a draft
    assert jacket.variants[0].available_for_sale is True  # CONTINUE: oversell allowed
    assert socks.online_store_url is None
    assert tee.online_store_url == "https://shop.test-outfitters.example/products/merino-running-tee"


def test_discount_status_is_derived(store: Store) -> None:
    status = {d.title: d.status for d in store.discounts}
    assert status["Welcome 10%"] == "ACTIVE"
    assert status["Summer sale"] == "EXPIRED"
    assert status["Launch"] == "SCHEDULED"
    assert status["Flash"] == "EXPIRED"  # usage limit reached
    assert store.discount_by_code("welcome10") is store.discount_by_code("WELCOME10") is not None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["orders"][1]["line_items"].append({"variant_id": 9999, "quantity": 1}), r"orders\[#1002\]"),
        (lambda d: d["orders"][0].update(financial_status="SETTLED"), r"orders\[#1001\].*SETTLED"),
        (lambda d: d["products"][0]["variants"][0].update(stock={"7": 1}), r"variants\[id=1001\].*location '7'"),
        (lambda d: d["customers"].append(dict(d["customers"][0], id=3)), r"duplicate email"),
        (lambda d: d["orders"][2].update(customer_id=42), r"orders\[#1003\].*customer_id"),
        (lambda d: d["discounts"][0].update(codes=[]), r"discounts\[id=1\]"),
        (lambda d: d["products"][1]["variants"][0].update(price="cheap"), r"products\[id=11\].*price"),
        (lambda d: d["shop"].pop("currency"), r"store shop: missing `currency`"),
    ],
)
def test_a_bad_record_is_named(mutate: object, message: str) -> None:
    document = store_document()
    mutate(document)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        build_store(document, now=NOW)


def test_load_store_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "store.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"store\.json is not valid JSON"):
        load_store(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(store_document()), encoding="utf-8")
    assert len(load_store(good, now=NOW).orders) == 5


def test_the_sandbox_store_loads() -> None:
    store = load_sandbox_store()
    assert store.orders and store.products and store.customers and store.discounts
    assert all(o.customer is None or o in o.customer.orders for o in store.orders)


def test_tau_retail_loads_fast_and_answers_lookups() -> None:
    if not TAU.is_dir():
        pytest.skip(f"../shared is absent: {TAU} holds the tau-retail dataset (present in CI)")
    started = time.perf_counter()
    store = load_tau_store(TAU)
    assert time.perf_counter() - started < 2.0
    assert len(store.orders) == 1000 and len(store.customers) == 500 and len(store.products) == 50
    assert store.orders[0].number == 1001 and store.orders[-1].number == 2000
    delivered = [o for o in store.orders if o.fulfillments and o.fulfillments[0].display_status == "DELIVERED"]
    assert delivered and all(t["company"] and t["url"] for o in delivered for t in o.fulfillments[0].tracking_info)
    customer = store.orders[0].customer
    assert customer is not None and store.customer_by_email(customer.email) is customer
