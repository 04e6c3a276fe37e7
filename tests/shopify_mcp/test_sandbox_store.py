"""The hand-written sandbox store follows the documented format and covers every support scenario."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

STORE_PATH = Path(__file__).parents[2] / "shopify_mcp" / "sandbox" / "store.json"

FINANCIAL_STATUSES = {
    "PENDING",
    "AUTHORIZED",
    "PAID",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
    "VOIDED",
    "PARTIALLY_PAID",
    "EXPIRED",
}
FULFILLMENT_STATUSES = {
    "UNFULFILLED",
    "PARTIALLY_FULFILLED",
    "FULFILLED",
    "ON_HOLD",
    "IN_PROGRESS",
    "OPEN",
    "PENDING_FULFILLMENT",
    "RESTOCKED",
    "SCHEDULED",
    "REQUEST_DECLINED",
}
RETURN_STATUSES = {"NO_RETURN", "RETURN_REQUESTED", "IN_PROGRESS", "RETURNED", "INSPECTION_COMPLETE", "RETURN_FAILED"}
RETURN_STATES = {"REQUESTED", "OPEN", "CLOSED", "DECLINED", "CANCELED"}
CANCEL_REASONS = {"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER"}
FULFILMENT_STATES = {"SUCCESS", "CANCELLED", "ERROR", "FAILURE", "OPEN", "PENDING"}
RFM_GROUPS = {
    "CHAMPIONS",
    "LOYAL",
    "ACTIVE",
    "NEW",
    "PROMISING",
    "NEEDS_ATTENTION",
    "ALMOST_LOST",
    "PREVIOUSLY_LOYAL",
    "AT_RISK",
    "DORMANT",
    "PROSPECTS",
}
CUSTOMER_STATES = {"ENABLED", "DISABLED", "INVITED", "DECLINED"}
POLICY_TYPES = {"REFUND_POLICY", "SHIPPING_POLICY", "PRIVACY_POLICY", "TERMS_OF_SERVICE", "CONTACT_INFORMATION"}
CUSTOMER_FACING_METAFIELDS = {"care_instructions", "materials", "compression_level", "fit", "size_guide", "origin"}
METAFIELD_TYPES = {
    "single_line_text_field",
    "multi_line_text_field",
    "number_integer",
    "boolean",
    "list.single_line_text_field",
}
MONEY = re.compile(r"^\d+\.\d{2}$")
EXAMPLE_EMAIL = re.compile(r"^[a-z0-9._+-]+@([a-z0-9-]+\.)*example(\.(com|org|net))?$")


@cache
def _store() -> dict[str, Any]:
    with STORE_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _orders() -> list[dict[str, Any]]:
    return list(_store()["orders"])


def _customers() -> dict[int, dict[str, Any]]:
    return {c["id"]: c for c in _store()["customers"]}


def _variants() -> dict[int, dict[str, Any]]:
    return {v["id"]: v for p in _store()["products"] for v in p["variants"]}


def _is_money(value: object) -> bool:
    return isinstance(value, str) and MONEY.match(value) is not None


def _money(value: str) -> Decimal:
    return Decimal(value)


def _subtotal(order: dict[str, Any]) -> Decimal:
    variants = _variants()
    return sum(
        (_money(li.get("price") or variants[li["variant_id"]]["price"]) * li["quantity"] for li in order["line_items"]),
        Decimal("0"),
    )


def _total(order: dict[str, Any]) -> Decimal:
    return _subtotal(order) + _money(order["shipping"]) - _money(order.get("discount", "0.00"))


def _refunded(order: dict[str, Any]) -> Decimal:
    return sum((_money(r["amount"]) for r in order["refunds"]), Decimal("0"))


def _ordered_quantities(order: dict[str, Any]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for li in order["line_items"]:
        counts[li["variant_id"]] += li["quantity"]
    return counts


def _fulfilled_quantities(order: dict[str, Any]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for fulfilment in order["fulfillments"]:
        if fulfilment["status"] == "CANCELLED":
            continue
        for li in fulfilment["line_items"]:
            counts[li["variant_id"]] += li["quantity"]
    return counts


def _discount_status(discount: dict[str, Any]) -> str:
    if discount["starts_days_ago"] < 0:
        return "SCHEDULED"
    ended = discount["ends_in_days"] is not None and discount["ends_in_days"] < 0
    used_up = discount["usage_limit"] is not None and discount["usage_count"] >= discount["usage_limit"]
    return "EXPIRED" if ended or used_up else "ACTIVE"


def _orders_of(customer_id: int) -> list[dict[str, Any]]:
    return [o for o in _orders() if o["customer_id"] == customer_id]


def _net_spend(customer_id: int) -> Decimal:
    paid = {"PAID", "PARTIALLY_REFUNDED", "REFUNDED"}
    return sum(
        (_total(o) - _refunded(o) for o in _orders_of(customer_id) if o["financial_status"] in paid),
        Decimal("0"),
    )


# --- shop, locations, policies


def test_store_has_all_top_level_sections() -> None:
    assert set(_store()) == {"shop", "locations", "products", "customers", "orders", "discounts"}, (
        f"unexpected top-level keys: {sorted(_store())}"
    )


def test_shop_uses_eur_and_example_domains() -> None:
    shop = _store()["shop"]
    assert shop["name"], "shop has no name"
    assert shop["currency"] == "EUR", f"shop currency is {shop['currency']}, expected EUR"
    assert shop["myshopify_domain"].endswith(".myshopify.com"), f"bad myshopify domain {shop['myshopify_domain']}"
    assert shop["primary_domain"].endswith(".example"), f"primary domain {shop['primary_domain']} is not .example"
    assert shop["contact_email"].endswith("@" + shop["primary_domain"].removeprefix("shop.")), (
        f"contact email {shop['contact_email']} is not on the shop's domain"
    )


def test_locations_are_unique_and_stock_refers_to_them() -> None:
    locations = _store()["locations"]
    ids = {str(loc["id"]) for loc in locations}
    assert len(locations) >= 2, "expected at least two locations"
    assert len(ids) == len(locations), "duplicate location ids"
    for variant in _variants().values():
        unknown = set(variant["stock"]) - ids
        assert not unknown, f"variant {variant['id']} has stock at unknown locations {unknown}"


def test_every_policy_type_has_rich_html() -> None:
    policies = {p["type"]: p for p in _store()["shop"]["policies"]}
    assert set(policies) == POLICY_TYPES, f"policy types are {sorted(policies)}, expected {sorted(POLICY_TYPES)}"
    for kind, policy in policies.items():
        html = policy["body_html"]
        assert policy["title"], f"{kind} has no title"
        for tag in ("<h2>", "<p>", "<a href="):
            assert tag in html, f"{kind} body_html lacks {tag}"
        assert re.search(r"&[a-z]+;", html), f"{kind} body_html has no HTML entity"
    for kind in ("REFUND_POLICY", "SHIPPING_POLICY", "PRIVACY_POLICY", "TERMS_OF_SERVICE"):
        assert "<ul>" in policies[kind]["body_html"], f"{kind} body_html has no list"


def test_policies_agree_with_the_data() -> None:
    policies = {p["type"]: p["body_html"] for p in _store()["shop"]["policies"]}
    assert "30 days" in policies["REFUND_POLICY"], "refund policy does not state the 30-day window"
    assert "&euro;60" in policies["SHIPPING_POLICY"], "shipping policy does not state free shipping over €60"
    carriers = {t["company"] for o in _orders() for f in o["fulfillments"] for t in f["tracking"]}
    missing = {c for c in carriers if c not in policies["SHIPPING_POLICY"]}
    assert not missing, f"carriers used in orders but absent from the shipping policy: {missing}"


# --- uniqueness and format


def test_ids_skus_emails_and_order_numbers_are_unique() -> None:
    store = _store()
    for kind in ("products", "customers", "discounts"):
        ids = [item["id"] for item in store[kind]]
        assert len(ids) == len(set(ids)), f"duplicate {kind} ids"
    variant_ids = [v["id"] for p in store["products"] for v in p["variants"]]
    assert len(variant_ids) == len(set(variant_ids)), "duplicate variant ids"
    skus = [v["sku"] for p in store["products"] for v in p["variants"] if v["sku"]]
    assert len(skus) == len(set(skus)), f"duplicate SKUs: {[s for s, n in Counter(skus).items() if n > 1]}"
    emails = [c["email"] for c in store["customers"]]
    assert len(emails) == len(set(emails)), "duplicate customer emails"
    numbers = [o["number"] for o in store["orders"]]
    assert len(numbers) == len(set(numbers)), "duplicate order numbers"
    assert min(numbers) >= 1001, f"order numbers start at {min(numbers)}, expected 1001 or more"
    codes = [code for d in store["discounts"] for code in d.get("codes", [])]
    assert len(codes) == len(set(codes)), "duplicate discount codes"


def test_money_values_are_decimal_strings() -> None:
    for variant in _variants().values():
        assert _is_money(variant["price"]), (
            f"variant {variant['id']} price {variant['price']!r} is not a decimal string like '49.90'"
        )
        compare = variant["compare_at_price"]
        assert compare is None or _is_money(compare), f"variant {variant['id']} compare_at_price {compare!r}"
    for order in _orders():
        assert _is_money(order["shipping"]), f"order {order['number']} shipping {order['shipping']!r}"
        assert _is_money(order.get("discount", "0.00")), f"order {order['number']} discount {order.get('discount')!r}"
        for refund in order["refunds"]:
            assert _is_money(refund["amount"]), f"order {order['number']} refund amount {refund['amount']!r}"
    for discount in _store()["discounts"]:
        value = (discount["minimum"] or {}).get("subtotal")
        assert value is None or _is_money(value), f"discount {discount['id']} minimum subtotal {value!r}"


# --- customers


def test_customers_come_from_many_countries_and_locales() -> None:
    customers = list(_customers().values())
    assert len(customers) >= 12, f"only {len(customers)} customers, expected at least 12"
    countries = {c["address"]["country_code"] for c in customers}
    locales = {c["locale"] for c in customers}
    for country in ("ES", "MX", "FR", "DE", "PT", "BR", "IT"):
        assert country in countries, f"no customer in {country}"
    for locale in ("es", "fr", "de", "pt-BR", "pt-PT", "it", "en"):
        assert locale in locales, f"no customer with locale {locale}"
    non_ascii = [c for c in customers if not (c["first_name"] + c["last_name"]).isascii()]
    assert len(non_ascii) >= 4, "expected several customers with accented or non-ASCII names"


def test_customer_fields_use_documented_values() -> None:
    for customer in _customers().values():
        assert customer["state"] in CUSTOMER_STATES, f"customer {customer['id']} state {customer['state']}"
        assert customer["rfm_group"] is None or customer["rfm_group"] in RFM_GROUPS, (
            f"customer {customer['id']} rfm_group {customer['rfm_group']}"
        )
        assert customer["predicted_spend_tier"] in {None, "HIGH", "MEDIUM", "LOW"}, (
            f"customer {customer['id']} predicted_spend_tier {customer['predicted_spend_tier']}"
        )
        assert set(customer["address"]) == {"name", "address1", "city", "province_code", "zip", "country_code"}, (
            f"customer {customer['id']} address keys {sorted(customer['address'])}"
        )


def test_customer_emails_are_lowercase_and_fake() -> None:
    for customer in _customers().values():
        email = customer["email"]
        assert email == email.lower(), f"customer email {email} is not lower-case"
        assert EXAMPLE_EMAIL.match(email), f"customer email {email} is not on an example domain"


def test_rfm_groups_are_varied() -> None:
    groups = {c["rfm_group"] for c in _customers().values()} - {None}
    assert len(groups) >= 6, f"only {len(groups)} distinct rfm groups: {sorted(groups)}"


def test_vip_customers_have_high_spend_and_top_rfm() -> None:
    vips = [c for c in _customers().values() if "VIP" in c["tags"]]
    assert len(vips) >= 2, f"only {len(vips)} VIP customers, expected at least 2"
    for vip in vips:
        assert vip["rfm_group"] in {"CHAMPIONS", "LOYAL"}, f"VIP {vip['email']} has rfm group {vip['rfm_group']}"
        spend = _net_spend(vip["id"])
        assert spend >= Decimal("1000"), f"VIP {vip['email']} has spent only €{spend}"
    non_vips = [c for c in _customers().values() if "VIP" not in c["tags"]]
    for customer in non_vips:
        assert _net_spend(customer["id"]) < Decimal("1000"), f"non-VIP {customer['email']} spends like a VIP"


def test_a_vip_has_at_least_five_orders() -> None:
    counts = [len(_orders_of(c["id"])) for c in _customers().values() if "VIP" in c["tags"]]
    assert max(counts, default=0) >= 5, f"VIP order counts are {counts}, expected one with 5 or more"


def test_a_disabled_guest_created_customer_exists() -> None:
    disabled = [c for c in _customers().values() if c["state"] == "DISABLED"]
    assert disabled, "no customer with state DISABLED (guest-created record)"


def test_customers_were_created_before_their_orders() -> None:
    customers = _customers()
    for order in _orders():
        if order["customer_id"] is None:
            continue
        customer = customers[order["customer_id"]]
        assert customer["created_days_ago"] >= order["created_days_ago"], (
            f"order {order['number']} is older than its customer {customer['email']}"
        )


# --- orders: integrity


def test_orders_reference_existing_customers_and_variants() -> None:
    customers = _customers()
    variants = _variants()
    for order in _orders():
        assert order["customer_id"] is None or order["customer_id"] in customers, (
            f"order {order['number']} has unknown customer {order['customer_id']}"
        )
        assert order["line_items"], f"order {order['number']} has no line items"
        for li in order["line_items"]:
            assert li["variant_id"] in variants, f"order {order['number']} has unknown variant {li['variant_id']}"
            assert li["quantity"] > 0, f"order {order['number']} has a non-positive quantity"


def test_order_enums_follow_the_readme() -> None:
    for order in _orders():
        number = order["number"]
        assert order["financial_status"] in FINANCIAL_STATUSES, f"order {number} financial {order['financial_status']}"
        assert order["fulfillment_status"] in FULFILLMENT_STATUSES, (
            f"order {number} fulfilment status {order['fulfillment_status']}"
        )
        assert order["return_status"] in RETURN_STATUSES, f"order {number} return status {order['return_status']}"
        if order["cancelled"] is not None:
            assert order["cancelled"]["reason"] in CANCEL_REASONS, f"order {number} cancel reason is not documented"
        for fulfilment in order["fulfillments"]:
            assert fulfilment["status"] in FULFILMENT_STATES, f"order {number} fulfilment status {fulfilment['status']}"
        for ret in order["returns"]:
            assert ret["status"] in RETURN_STATES, f"order {number} return {ret['name']} status {ret['status']}"


def test_fulfilment_items_exist_in_their_order_within_quantities() -> None:
    for order in _orders():
        ordered = _ordered_quantities(order)
        fulfilled = _fulfilled_quantities(order)
        for variant_id, quantity in fulfilled.items():
            assert variant_id in ordered, f"order {order['number']} fulfils variant {variant_id} it does not contain"
            assert quantity <= ordered[variant_id], (
                f"order {order['number']} fulfils {quantity} of variant {variant_id} but ordered {ordered[variant_id]}"
            )


def test_fully_fulfilled_orders_ship_every_item() -> None:
    for order in _orders():
        if order["fulfillment_status"] == "FULFILLED":
            assert _fulfilled_quantities(order) == _ordered_quantities(order), (
                f"order {order['number']} is FULFILLED but its fulfilments do not cover all items"
            )


def test_unfulfilled_orders_have_no_fulfilments() -> None:
    for order in _orders():
        if order["fulfillment_status"] in {"UNFULFILLED", "ON_HOLD"}:
            assert not order["fulfillments"], f"order {order['number']} is unshipped but has fulfilments"


def test_fulfilment_names_and_dates_are_consistent() -> None:
    for order in _orders():
        for fulfilment in order["fulfillments"]:
            name = fulfilment["name"]
            assert name.startswith(f"#{order['number']}-F"), f"fulfilment {name} does not belong to #{order['number']}"
            assert fulfilment["days_ago"] <= order["created_days_ago"], f"fulfilment {name} predates its order"
            transit = fulfilment["in_transit_days_ago"]
            delivered = fulfilment["delivered_days_ago"]
            if transit is not None:
                assert transit <= fulfilment["days_ago"], f"fulfilment {name} in transit before it was created"
            if delivered is not None:
                assert transit is not None, f"fulfilment {name} delivered without being in transit"
                assert delivered <= transit, f"fulfilment {name} delivered before it was in transit"
                assert fulfilment["display_status"] == "DELIVERED", f"fulfilment {name} delivered but not DELIVERED"


def test_tracking_urls_are_https_and_embed_the_number() -> None:
    for order in _orders():
        for fulfilment in order["fulfillments"]:
            assert fulfilment["tracking"], f"fulfilment {fulfilment['name']} has no tracking"
            for tracking in fulfilment["tracking"]:
                assert tracking["url"].startswith("https://"), f"tracking URL {tracking['url']} is not https"
                assert tracking["number"] in tracking["url"], (
                    f"tracking URL {tracking['url']} does not contain number {tracking['number']}"
                )


def test_realistic_carriers_are_used() -> None:
    carriers = {t["company"] for o in _orders() for f in o["fulfillments"] for t in f["tracking"]}
    expected = {"DHL Express", "UPS", "Correos", "SEUR", "GLS", "DPD", "La Poste Colissimo", "CTT"}
    assert carriers <= expected, f"unexpected carriers {carriers - expected}"
    assert len(carriers) >= 6, f"only {len(carriers)} carriers used: {sorted(carriers)}"


def test_returns_and_names_belong_to_their_order() -> None:
    for order in _orders():
        for ret in order["returns"]:
            assert ret["name"].startswith(f"#{order['number']}-R"), f"return {ret['name']} in #{order['number']}"
            if ret["status"] == "CLOSED":
                assert ret["closed_days_ago"] is not None, f"closed return {ret['name']} has no closed date"
                assert ret["closed_days_ago"] <= ret["days_ago"], f"return {ret['name']} closed before it opened"


# --- orders: coverage of support scenarios


def test_order_count_and_spread() -> None:
    orders = _orders()
    assert len(orders) >= 25, f"only {len(orders)} orders, expected at least 25"
    recent = [o for o in orders if 0.2 <= o["created_days_ago"] <= 40]
    assert len(recent) > len(orders) / 2, "most orders should be recent (0.2 to 40 days)"
    per_customer = Counter(o["customer_id"] for o in orders if o["customer_id"] is not None)
    assert sum(1 for n in per_customer.values() if n >= 2) >= 3, "expected several customers with multiple orders"


def test_every_financial_state_needed_is_present() -> None:
    present = {o["financial_status"] for o in _orders()}
    needed = {"PENDING", "AUTHORIZED", "PAID", "PARTIALLY_REFUNDED", "REFUNDED"}
    assert needed <= present, f"missing financial statuses: {needed - present}"


def test_every_fulfilment_state_needed_is_present() -> None:
    present = {o["fulfillment_status"] for o in _orders()}
    needed = {"UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED", "ON_HOLD"}
    assert needed <= present, f"missing fulfilment statuses: {needed - present}"
    assert any(
        o["financial_status"] == "PAID" and o["fulfillment_status"] == "UNFULFILLED" and not o["cancelled"]
        for o in _orders()
    ), "no paid, unfulfilled, open order"


def test_every_shipment_state_needed_is_present() -> None:
    fulfilments = [f for o in _orders() for f in o["fulfillments"]]
    displays = {f["display_status"] for f in fulfilments}
    for status in ("IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"):
        assert status in displays, f"no fulfilment with display status {status}"
    in_transit = [f for f in fulfilments if f["display_status"] == "IN_TRANSIT"]
    assert any(
        f["estimated_delivery_in_days"] is not None and f["estimated_delivery_in_days"] > 0 for f in in_transit
    ), "no in-transit shipment with a future delivery estimate"
    late = [
        f
        for f in fulfilments
        if f["delivered_days_ago"] is None
        and f["estimated_delivery_in_days"] is not None
        and f["estimated_delivery_in_days"] < 0
    ]
    assert late, "no undelivered shipment whose delivery estimate has already passed"


def test_partially_fulfilled_order_ships_in_two_parcels_by_two_carriers() -> None:
    candidates = []
    for order in _orders():
        if order["fulfillment_status"] != "PARTIALLY_FULFILLED" or len(order["fulfillments"]) < 2:
            continue
        carriers = {t["company"] for f in order["fulfillments"] for t in f["tracking"]}
        numbers = {t["number"] for f in order["fulfillments"] for t in f["tracking"]}
        if len(carriers) >= 2 and len(numbers) >= 2:
            candidates.append(order)
    assert candidates, "no partially fulfilled order with two fulfilments by two carriers"
    for order in candidates:
        assert _fulfilled_quantities(order) != _ordered_quantities(order), (
            f"order {order['number']} is PARTIALLY_FULFILLED but every item has shipped"
        )
        for fulfilment in order["fulfillments"]:
            assert fulfilment["line_items"], f"fulfilment {fulfilment['name']} has no line items"


def test_cancelled_orders_have_a_reason_and_are_not_shipped() -> None:
    cancelled = [o for o in _orders() if o["cancelled"]]
    assert cancelled, "no cancelled order"
    for order in cancelled:
        assert order["cancelled"]["reason"], f"cancelled order {order['number']} has no reason"
        assert order["cancelled"]["days_ago"] <= order["created_days_ago"], f"order {order['number']} cancel date"
        assert not order["fulfillments"], f"cancelled order {order['number']} has shipments"


def test_returned_order_has_a_closed_return_and_a_refund() -> None:
    returned = [o for o in _orders() if o["return_status"] == "RETURNED"]
    assert returned, "no order with return_status RETURNED"
    for order in returned:
        assert any(r["status"] == "CLOSED" for r in order["returns"]), f"order {order['number']} has no CLOSED return"
        assert order["refunds"], f"returned order {order['number']} has no refund"


def test_a_return_is_requested_or_in_progress() -> None:
    open_returns = [
        o
        for o in _orders()
        if o["return_status"] in {"RETURN_REQUESTED", "IN_PROGRESS"}
        and any(r["status"] in {"OPEN", "REQUESTED"} for r in o["returns"])
    ]
    assert open_returns, "no order with an open or requested return"


def test_at_least_three_orders_are_older_than_60_days() -> None:
    old = [o for o in _orders() if o["created_days_ago"] > 60]
    assert len(old) >= 3, f"only {len(old)} orders older than 60 days"


def test_guest_order_email_belongs_to_no_customer() -> None:
    guests = [o for o in _orders() if o["customer_id"] is None]
    assert guests, "no guest checkout order"
    emails = {c["email"].lower() for c in _customers().values()}
    for order in guests:
        assert order["email"].lower() not in emails, f"guest order {order['number']} email belongs to a customer"


def test_an_order_email_differs_only_in_case_from_its_customer() -> None:
    customers = _customers()
    matches = [
        o
        for o in _orders()
        if o["customer_id"] is not None
        and o["email"] != customers[o["customer_id"]]["email"]
        and o["email"].lower() == customers[o["customer_id"]]["email"]
    ]
    assert matches, "no order whose contact email differs only in case from its customer's email"


def test_customer_orders_use_the_customers_email() -> None:
    customers = _customers()
    for order in _orders():
        if order["customer_id"] is not None:
            assert order["email"].lower() == customers[order["customer_id"]]["email"], (
                f"order {order['number']} email {order['email']} does not match its customer"
            )


# --- money


def test_refunds_never_exceed_the_order_total() -> None:
    for order in _orders():
        assert _refunded(order) <= _total(order), f"order {order['number']} refunds exceed its total"
        if order["refunds"]:
            assert order["financial_status"] in {"REFUNDED", "PARTIALLY_REFUNDED"}, (
                f"order {order['number']} has refunds but is {order['financial_status']}"
            )


def test_refunded_orders_are_refunded_in_full() -> None:
    refunded = [o for o in _orders() if o["financial_status"] == "REFUNDED"]
    assert refunded, "no REFUNDED order"
    for order in refunded:
        assert _refunded(order) == _total(order), (
            f"order {order['number']} is REFUNDED but refunds {_refunded(order)} of {_total(order)}"
        )


def test_partially_refunded_orders_are_refunded_in_part() -> None:
    partial = [o for o in _orders() if o["financial_status"] == "PARTIALLY_REFUNDED"]
    assert partial, "no PARTIALLY_REFUNDED order"
    for order in partial:
        refunded = _refunded(order)
        assert Decimal("0") < refunded < _total(order), (
            f"order {order['number']} is PARTIALLY_REFUNDED but refunds {refunded} of {_total(order)}"
        )


def test_order_totals_are_positive() -> None:
    for order in _orders():
        assert _money(order.get("discount", "0.00")) <= _subtotal(order), f"order {order['number']} over-discounted"
        assert _total(order) > 0, f"order {order['number']} has a non-positive total"


# --- products


def test_products_and_variants_are_plentiful() -> None:
    products = _store()["products"]
    assert len(products) >= 10, f"only {len(products)} products"
    assert len(_variants()) >= 30, f"only {len(_variants())} variants"
    for product in products:
        assert product["status"] in {"ACTIVE", "DRAFT", "ARCHIVED"}, f"product {product['id']} status"
        assert product["description_html"].startswith("<"), f"product {product['id']} description is not HTML"
        assert product["vendor"], f"product {product['id']} has no vendor"
        assert product["product_type"], f"product {product['id']} has no product type"
        assert product["variants"], f"product {product['id']} has no variants"


def test_variant_options_match_product_options() -> None:
    for product in _store()["products"]:
        for variant in product["variants"]:
            assert list(variant["options"]) == product["options"], (
                f"variant {variant['id']} options {variant['options']} do not match {product['options']}"
            )
            if product["options"]:
                assert variant["title"] == " / ".join(variant["options"].values()), f"variant {variant['id']} title"


def test_a_draft_or_archived_product_exists() -> None:
    statuses = {p["status"] for p in _store()["products"]}
    assert statuses & {"DRAFT", "ARCHIVED"}, "no DRAFT or ARCHIVED product"


def test_a_product_has_a_single_default_variant() -> None:
    defaults = [
        p
        for p in _store()["products"]
        if p["options"] == [] and len(p["variants"]) == 1 and p["variants"][0]["title"] == "Default Title"
    ]
    assert defaults, "no product with a single 'Default Title' variant"


def test_inventory_edge_cases_are_present() -> None:
    variants = list(_variants().values())
    sold_out = [
        v for v in variants if v["tracked"] and v["inventory_policy"] == "DENY" and not any(v["stock"].values())
    ]
    backorder = [
        v for v in variants if v["tracked"] and v["inventory_policy"] == "CONTINUE" and not any(v["stock"].values())
    ]
    untracked = [v for v in variants if not v["tracked"]]
    assert sold_out, "no sold-out variant (tracked, DENY, zero stock)"
    assert backorder, "no backorder variant (tracked, CONTINUE, zero stock)"
    assert untracked, "no untracked variant"
    for variant in untracked:
        assert variant["stock"] == {}, f"untracked variant {variant['id']} has stock"
    for variant in variants:
        assert variant["inventory_policy"] in {"DENY", "CONTINUE"}, f"variant {variant['id']} inventory policy"


def test_metafields_use_custom_keys_and_an_internal_one() -> None:
    products = _store()["products"]
    with_metafields = [p for p in products if p["metafields"]]
    assert len(with_metafields) > len(products) / 2, "most products should have metafields"
    keys = {key for p in products for key in p["metafields"]}
    assert {"care_instructions", "materials", "compression_level", "fit", "origin"} <= keys, (
        f"metafield keys {sorted(keys)} miss a customer-facing key"
    )
    assert keys - CUSTOMER_FACING_METAFIELDS, "no internal metafield key outside the customer-facing list"
    for product in products:
        for key, field in product["metafields"].items():
            assert field["type"] in METAFIELD_TYPES, f"product {product['id']} metafield {key} type {field['type']}"
            assert isinstance(field["value"], str), f"product {product['id']} metafield {key} value is not a string"
            if field["type"].startswith("list."):
                assert isinstance(json.loads(field["value"]), list), f"product {product['id']} {key} is not a list"


# --- discounts


def test_discount_statuses_cover_active_expired_and_scheduled() -> None:
    statuses = Counter(_discount_status(d) for d in _store()["discounts"])
    assert len(_store()["discounts"]) >= 7, "expected at least 7 discounts"
    for status in ("ACTIVE", "EXPIRED", "SCHEDULED"):
        assert statuses[status], f"no {status} discount"


def test_a_discount_is_used_up() -> None:
    used_up = [
        d for d in _store()["discounts"] if d["usage_limit"] is not None and d["usage_count"] >= d["usage_limit"]
    ]
    assert used_up, "no discount whose usage limit is reached"


def test_public_and_non_public_active_codes_exist() -> None:
    codes = [d for d in _store()["discounts"] if d["method"] == "code" and _discount_status(d) == "ACTIVE"]
    assert any("public" in d["tags"] for d in codes), "no active public code"
    assert any("public" not in d["tags"] for d in codes), "no active non-public code"
    for discount in codes:
        assert discount["codes"], f"code discount {discount['id']} has no codes"


def test_automatic_basic_free_shipping_and_bxgy_discounts_exist() -> None:
    discounts = _store()["discounts"]
    automatic = [d for d in discounts if d["method"] == "automatic"]
    assert any(d["type"] == "basic" and _discount_status(d) == "ACTIVE" for d in automatic), "no active automatic"
    shipping = [d for d in discounts if d["type"] == "free_shipping"]
    assert shipping, "no free-shipping discount"
    for discount in shipping:
        assert discount["max_shipping_price"], f"free-shipping discount {discount['id']} has no max shipping price"
        assert (discount["minimum"] or {}).get("subtotal"), f"free-shipping discount {discount['id']} has no minimum"
    assert any(d["type"] == "bxgy" for d in discounts), "no buy-X-get-Y discount"


def test_discount_fields_follow_the_readme() -> None:
    for discount in _store()["discounts"]:
        label = discount["id"]
        assert discount["method"] in {"code", "automatic"}, f"discount {label} method {discount['method']}"
        assert discount["type"] in {"basic", "free_shipping", "bxgy"}, f"discount {label} type {discount['type']}"
        assert set(discount["classes"]) <= {"PRODUCT", "ORDER", "SHIPPING"}, f"discount {label} classes"
        assert discount["summary"], f"discount {label} has no summary"
        assert discount["method"] == "code" or not discount.get("codes"), f"automatic discount {label} has codes"
        value = discount["value"]
        if value is not None and "amount" in value:
            assert _is_money(value["amount"]), f"discount {label} amount is not a money string"
