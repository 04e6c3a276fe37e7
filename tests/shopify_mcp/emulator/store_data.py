"""A small store in the sandbox format, built inline so the emulator tests do not depend on the sandbox data."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
"""The instant the fixture store's relative dates are materialised at."""


def _address(name: str, city: str, country: str) -> dict[str, Any]:
    return {
        "name": name,
        "address1": "Calle Mayor 1",
        "city": city,
        "province_code": None,
        "zip": "28001",
        "country_code": country,
    }


def _variant(
    vid: int, title: str, options: dict[str, str], sku: str | None, price: str, **extra: Any
) -> dict[str, Any]:
    base = {
        "id": vid,
        "title": title,
        "options": options,
        "sku": sku,
        "price": price,
        "compare_at_price": None,
        "tracked": True,
        "inventory_policy": "DENY",
        "stock": {},
    }
    base.update(extra)
    return base


PRODUCTS: list[dict[str, Any]] = [
    {
        "id": 10,
        "handle": "merino-running-tee",
        "title": "Merino Running Tee",
        "vendor": "Test Outfitters",
        "product_type": "T-Shirts",
        "status": "ACTIVE",
        "tags": ["running", "merino"],
        "description_html": "<p>Soft <strong>merino</strong> tee &amp; more.</p><ul><li>Odour resistant</li></ul>",
        "metafields": {
            "materials": {"type": "list.single_line_text_field", "value": '["100% merino"]'},
            "care_instructions": {"type": "multi_line_text_field", "value": "Wash cold."},
        },
        "options": ["Size"],
        "variants": [
            _variant(1001, "S", {"Size": "S"}, "TEE-S", "45.00", compare_at_price="55.00", stock={"1": 3, "2": 2}),
            _variant(1002, "M", {"Size": "M"}, "TEE-M", "45.00", stock={"1": 0, "2": 0}),
        ],
    },
    {
        "id": 11,
        "handle": "gift-card",
        "title": "Gift Card",
        "vendor": "Test Outfitters",
        "product_type": "Gift cards",
        "status": "ACTIVE",
        "tags": [],
        "description_html": "<p>A gift card.</p>",
        "options": [],
        "variants": [_variant(1101, "Default Title", {}, None, "25.00", tracked=False)],
    },
    {
        "id": 12,
        "handle": "trail-socks",
        "title": "Trail Socks",
        "vendor": "Sock Co",
        "product_type": "Socks",
        "status": "DRAFT",
        "tags": ["running"],
        "description_html": "",
        "options": ["Color"],
        "variants": [
            _variant(
                1201, "Black", {"Color": "Black"}, "SOCK-BLK", "12.00", inventory_policy="CONTINUE", stock={"1": 0}
            )
        ],
    },
    {
        "id": 13,
        "handle": "preorder-jacket",
        "title": "Preorder Rain Jacket",
        "vendor": "Test Outfitters",
        "product_type": "Jackets",
        "status": "ACTIVE",
        "tags": ["rain"],
        "description_html": "<p>Ships next month.</p>",
        "options": ["Size"],
        "variants": [
            _variant(1301, "L", {"Size": "L"}, "JKT-L", "120.00", inventory_policy="CONTINUE", stock={"1": 0})
        ],
    },
]

CUSTOMERS: list[dict[str, Any]] = [
    {
        "id": 1,
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "ana@example.com",
        "phone": "+34 600 000 001",
        "locale": "es",
        "tags": ["VIP"],
        "created_days_ago": 400,
        "state": "ENABLED",
        "verified_email": True,
        "rfm_group": "CHAMPIONS",
        "predicted_spend_tier": "HIGH",
        "address": _address("Ana Ruiz", "Madrid", "ES"),
    },
    {
        "id": 2,
        "first_name": "Ben",
        "last_name": "Costa",
        "email": "ben@example.com",
        "phone": None,
        "locale": "pt-BR",
        "tags": [],
        "created_days_ago": 30,
        "state": "DISABLED",
        "verified_email": False,
        "rfm_group": None,
        "predicted_spend_tier": None,
        "address": None,
    },
]


def _order(number: int, customer_id: int | None, email: str, days_ago: float, **extra: Any) -> dict[str, Any]:
    order = {
        "number": number,
        "customer_id": customer_id,
        "email": email,
        "created_days_ago": days_ago,
        "locale": "es",
        "financial_status": "PAID",
        "fulfillment_status": "UNFULFILLED",
        "return_status": "NO_RETURN",
        "cancelled": None,
        "closed_days_ago": None,
        "shipping_address": _address("Ana Ruiz", "Madrid", "ES"),
        "line_items": [{"variant_id": 1001, "quantity": 1}],
        "shipping": "0.00",
        "fulfillments": [],
        "refunds": [],
        "returns": [],
    }
    order.update(extra)
    return order


ORDERS: list[dict[str, Any]] = [
    _order(
        1001,
        1,
        "ana@example.com",
        200,
        fulfillment_status="FULFILLED",
        closed_days_ago=190,
        fulfillments=[
            {
                "name": "#1001-F1",
                "status": "SUCCESS",
                "display_status": "DELIVERED",
                "days_ago": 199,
                "in_transit_days_ago": 198,
                "delivered_days_ago": 196,
                "estimated_delivery_in_days": None,
                "tracking": [{"company": "Correos", "number": "PQ1", "url": "https://correos.example/PQ1"}],
                "line_items": [{"variant_id": 1001, "quantity": 1}],
            }
        ],
    ),
    _order(
        1002,
        1,
        "ana@example.com",
        10,
        fulfillment_status="FULFILLED",
        line_items=[{"variant_id": 1001, "quantity": 2}, {"variant_id": 1101, "quantity": 1, "price": "20.00"}],
        shipping="4.90",
        discount="5.00",
        tax_rate=0.21,
        tags=["gift"],
        fulfillments=[
            {
                "name": "#1002-F1",
                "status": "SUCCESS",
                "display_status": "IN_TRANSIT",
                "days_ago": 9,
                "in_transit_days_ago": 8,
                "delivered_days_ago": None,
                "estimated_delivery_in_days": 2,
                "tracking": [{"company": "DHL Express", "number": "JD0146", "url": "https://dhl.example/JD0146"}],
                "line_items": [{"variant_id": 1001, "quantity": 2}],
            }
        ],
    ),
    _order(
        1003,
        1,
        "ana@example.com",
        2,
        financial_status="PARTIALLY_REFUNDED",
        refunds=[{"days_ago": 1, "amount": "10.00", "note": "Late delivery"}],
        returns=[{"name": "#1003-R1", "status": "OPEN", "days_ago": 1}],
        return_status="IN_PROGRESS",
    ),
    _order(
        1004,
        2,
        "ben@example.com",
        5,
        financial_status="REFUNDED",
        cancelled={"days_ago": 4, "reason": "CUSTOMER"},
        closed_days_ago=4,
        refunds=[{"days_ago": 4, "amount": "45.00"}],
        shipping_address=None,
    ),
    _order(1005, None, "guest@example.com", 1, financial_status="PENDING", locale="en"),
]


def _discount(did: int, method: str, kind: str, title: str, **extra: Any) -> dict[str, Any]:
    discount = {
        "id": did,
        "method": method,
        "type": kind,
        "title": title,
        "codes": [],
        "tags": [],
        "value": {"percentage": 0.1},
        "summary": title,
        "starts_days_ago": 30,
        "ends_in_days": None,
        "minimum": None,
        "usage_limit": None,
        "usage_count": 0,
        "once_per_customer": False,
        "classes": ["ORDER"],
        "max_shipping_price": None,
    }
    discount.update(extra)
    return discount


DISCOUNTS: list[dict[str, Any]] = [
    _discount(1, "code", "basic", "Welcome 10%", codes=["WELCOME10"], tags=["public"], minimum={"subtotal": "40.00"}),
    _discount(2, "code", "basic", "Summer sale", codes=["SUMMER25"], value={"percentage": 0.25}, ends_in_days=-3),
    _discount(3, "code", "basic", "Launch", codes=["LAUNCH15"], starts_days_ago=-5),
    _discount(
        4, "code", "basic", "Flash", codes=["FLASH"], value={"amount": "15.00"}, usage_limit=100, usage_count=100
    ),
    _discount(5, "automatic", "basic", "Autumn 20% off", value={"percentage": 0.2}, classes=["PRODUCT"]),
    _discount(
        6,
        "automatic",
        "free_shipping",
        "Free shipping over 60",
        value=None,
        minimum={"subtotal": "60.00"},
        classes=["SHIPPING"],
        max_shipping_price="10.00",
    ),
    _discount(
        7,
        "code",
        "bxgy",
        "Socks 3x2",
        codes=["SOCKS3X2"],
        value={"percentage": 1.0},
        minimum={"quantity": 2},
        classes=["PRODUCT"],
    ),
]


def store_document(**overrides: Any) -> dict[str, Any]:
    """A fresh copy of the fixture store (tests may mutate it), with top-level keys replaced by `overrides`."""
    document: dict[str, Any] = {
        "shop": {
            "name": "Test Outfitters",
            "myshopify_domain": "test-outfitters.myshopify.com",
            "primary_domain": "shop.test-outfitters.example",
            "currency": "EUR",
            "contact_email": "help@test-outfitters.example",
            "policies": [
                {"type": "REFUND_POLICY", "title": "Refund policy", "body_html": "<p>30 days.</p>"},
                {"type": "SHIPPING_POLICY", "title": "Shipping policy", "body_html": "<p>2-4 days.</p>"},
            ],
        },
        "locations": [
            {"id": 1, "name": "Madrid warehouse", "country": "ES"},
            {"id": 2, "name": "Lisbon store", "country": "PT"},
        ],
        "products": PRODUCTS,
        "customers": CUSTOMERS,
        "orders": ORDERS,
        "discounts": DISCOUNTS,
    }
    document.update(overrides)
    return copy.deepcopy(document)
