"""Maps the tau-bench retail dataset (500 customers, 1,000 orders) onto the sandbox store format, for scale tests."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from shopify_mcp.emulator.store import Store, build_store

FIRST_ORDER_NUMBER = 1001
ORDER_SPAN_DAYS = 365.0
"""Orders are spread evenly over the last year, in file order: #1001 is the oldest, the last one is hours old."""
CARRIERS = (
    ("UPS", "https://www.ups.com/track?tracknum={}"),
    ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={}"),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
)
LOCATIONS = [{"id": 1, "name": "Main warehouse", "country": "US"}, {"id": 2, "name": "West coast hub", "country": "US"}]
COUNTRIES = {"USA": "US"}


def _read(directory: Path, name: str) -> dict[str, Any]:
    path = directory / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the tau-retail file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object keyed by id")
    return data


def _handle(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _money(value: float) -> str:
    return f"{value:.2f}"


def _product(product: dict[str, Any]) -> dict[str, Any]:
    variants = list(product["variants"].values())
    option_keys = list(variants[0]["options"]) if variants else []
    names = [key.capitalize() for key in option_keys]
    rows = []
    for variant in variants:
        item_id = int(variant["item_id"])
        stock = item_id % 37 + 1 if variant.get("available") else 0
        rows.append(
            {
                "id": item_id,
                "title": " / ".join(str(variant["options"][key]) for key in option_keys) or "Default Title",
                "options": {name: str(variant["options"][key]) for name, key in zip(names, option_keys, strict=True)},
                "sku": f"TAU-{item_id}",
                "price": _money(variant["price"]),
                "compare_at_price": None,
                "tracked": True,
                "inventory_policy": "DENY",
                "stock": {"1": stock - stock // 3, "2": stock // 3},
            }
        )
    return {
        "id": int(product["product_id"]),
        "handle": _handle(product["name"]),
        "title": product["name"],
        "vendor": "Tau Retail",
        "product_type": product["name"],
        "status": "ACTIVE",
        "tags": [],
        "description_html": f"<p>{product['name']} from the Tau Retail catalogue.</p>",
        "metafields": {},
        "options": names,
        "variants": rows,
    }


def _address(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "address1": raw.get("address1"),
        "address2": raw.get("address2"),
        "city": raw.get("city"),
        "province_code": raw.get("state"),
        "zip": raw.get("zip"),
        "country_code": COUNTRIES.get(str(raw.get("country")), "US"),
    }


def _order(number: int, raw: dict[str, Any], days_ago: float, user: dict[str, Any], customer_id: int) -> dict[str, Any]:
    """pending: unpaid, unfulfilled; processed: paid, shipped (in transit); delivered: paid, delivered and
    archived; cancelled: cancelled by the customer and refunded."""
    quantities: dict[int, int] = {}
    prices: dict[int, float] = {}
    for item in raw["items"]:
        variant_id = int(item["item_id"])
        quantities[variant_id] = quantities.get(variant_id, 0) + 1
        prices[variant_id] = float(item["price"])
    status = raw["status"]
    name = f"{user['name']['first_name']} {user['name']['last_name']}"
    order: dict[str, Any] = {
        "number": number,
        "customer_id": customer_id,
        "email": user["email"],
        "created_days_ago": days_ago,
        "locale": "en",
        "financial_status": {"pending": "PENDING", "cancelled": "REFUNDED"}.get(status, "PAID"),
        "fulfillment_status": "FULFILLED" if status in ("processed", "delivered") else "UNFULFILLED",
        "cancelled": {"days_ago": days_ago * 0.9, "reason": "CUSTOMER"} if status == "cancelled" else None,
        "closed_days_ago": None,
        "shipping_address": _address(raw.get("address") or {}, name),
        "line_items": [{"variant_id": v, "quantity": q, "price": _money(prices[v])} for v, q in quantities.items()],
        "shipping": "0.00",
        "fulfillments": [],
        "refunds": [
            {"days_ago": days_ago * 0.9, "amount": _money(payment["amount"]), "note": "Order cancelled"}
            for payment in raw.get("payment_history", [])
            if payment.get("transaction_type") == "refund"
        ],
    }
    if status in ("processed", "delivered"):
        for index, fulfillment in enumerate(raw.get("fulfillments", []), 1):
            shipped: dict[int, int] = {}
            for item_id in fulfillment.get("item_ids", []):
                shipped[int(item_id)] = shipped.get(int(item_id), 0) + 1
            tracking = []
            for number_text in fulfillment.get("tracking_id", []):
                company, url = CARRIERS[int(number_text) % len(CARRIERS)]
                tracking.append({"company": company, "number": number_text, "url": url.format(number_text)})
            delivered = status == "delivered"
            order["fulfillments"].append(
                {
                    "name": f"#{number}-F{index}",
                    "status": "SUCCESS",
                    "display_status": "DELIVERED" if delivered else "IN_TRANSIT",
                    "days_ago": days_ago * 0.95,
                    "in_transit_days_ago": days_ago * 0.9,
                    "delivered_days_ago": days_ago * 0.5 if delivered else None,
                    "estimated_delivery_in_days": None if delivered else 3 - days_ago * 0.1,
                    "tracking": tracking,
                    "line_items": [{"variant_id": v, "quantity": q} for v, q in shipped.items()],
                }
            )
        if status == "delivered":
            order["closed_days_ago"] = days_ago * 0.5
    return order


def tau_document(directory: Path) -> dict[str, Any]:
    """The tau-retail files as one document in the sandbox store format."""
    users, orders, products = (_read(directory, name) for name in ("users", "orders", "products"))
    customer_ids = {user_id: index for index, user_id in enumerate(users, start=1)}
    customers = []
    for user_id, user in users.items():
        name = user["name"]
        customers.append(
            {
                "id": customer_ids[user_id],
                "first_name": name["first_name"],
                "last_name": name["last_name"],
                "email": user["email"],
                "phone": None,
                "locale": "en",
                "tags": [],
                "created_days_ago": ORDER_SPAN_DAYS + 30 + customer_ids[user_id] % 300,
                "state": "ENABLED",
                "verified_email": True,
                "rfm_group": None,
                "predicted_spend_tier": None,
                "address": _address(user.get("address") or {}, f"{name['first_name']} {name['last_name']}"),
            }
        )
    total = len(orders)
    order_rows = []
    for index, raw in enumerate(orders.values()):
        user_id = raw["user_id"]
        if user_id not in users:
            raise ValueError(f"tau-retail order {raw.get('order_id')}: unknown user {user_id!r}")
        days_ago = round((total - index) * ORDER_SPAN_DAYS / max(total, 1), 4)
        order_rows.append(_order(FIRST_ORDER_NUMBER + index, raw, days_ago, users[user_id], customer_ids[user_id]))
    return {
        "shop": {
            "name": "Tau Retail",
            "myshopify_domain": "tau-retail.myshopify.com",
            "primary_domain": "shop.tau-retail.example",
            "currency": "USD",
            "contact_email": "support@tau-retail.example",
            "policies": [
                {"type": "REFUND_POLICY", "title": "Refund policy", "body_html": "<p>Returns within 30 days.</p>"},
                {"type": "SHIPPING_POLICY", "title": "Shipping policy", "body_html": "<p>Free US shipping.</p>"},
            ],
        },
        "locations": LOCATIONS,
        "products": [_product(product) for product in products.values()],
        "customers": customers,
        "orders": order_rows,
        "discounts": [],
    }


def load_tau_store(path: Path | str, *, now: dt.datetime | None = None) -> Store:
    """The tau-bench retail store (`../shared/store/tau-retail`) as an emulator store: 1,000 orders from #1001."""
    return build_store(tau_document(Path(path)), now=now)
