"""Reads a store in the sandbox format (`sandbox/README.md`): validation, relative dates, customers and orders."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shopify_mcp.emulator.catalog_file import read_discount, read_location, read_product, read_shop
from shopify_mcp.emulator.records import (
    Customer,
    Discount,
    Fulfillment,
    FulfillmentLineItem,
    JSONDict,
    LineItem,
    Location,
    Order,
    Product,
    ProductVariant,
    Refund,
    Return,
    Shop,
    gid,
    money,
    money_bag,
)
from shopify_mcp.emulator.store_fields import RecordFields, unique

CENT = Decimal("0.01")
SPENDING_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})
"""`Customer.amountSpent` sums the totals, minus refunds, of the customer's orders in these financial states."""
LIVE_FULFILLMENT = frozenset({"SUCCESS", "OPEN", "PENDING"})
"""Fulfilment states whose items count as fulfilled (CANCELLED, ERROR and FAILURE do not)."""


@dataclass(frozen=True, slots=True)
class StoreParts:
    shop: Shop
    locations: list[Location]
    products: list[Product]
    customers: list[Customer]
    orders: list[Order]
    discounts: list[Discount]


def read_store(data: Any, now: dt.datetime) -> StoreParts:
    """Validate `data` (the parsed JSON) and build its records; `ValueError` names the first bad record.

    Computed here, never read from the file: order totals and tax, line-item fulfilled quantities, customer
    order counts (every order, cancelled included) and spend, product stock and availability, discount status.
    """
    root = RecordFields(data, "file")
    shop = read_shop(RecordFields(root.raw("shop"), "shop"), now)
    locations = [read_location(item) for item in root.items("locations")]
    by_location = unique(locations, lambda loc: loc.legacy_id, "locations", "id")
    products = [read_product(item, shop, by_location, now) for item in root.items("products")]
    unique(products, lambda p: p.legacy_id, "products", "id")
    unique(products, lambda p: p.handle, "products", "handle")
    variants = unique([v for p in products for v in p.variants], lambda v: v.legacy_id, "variants", "id")
    addresses = _AddressBook()
    customers = [_read_customer(item, addresses, now) for item in root.items("customers")]
    by_customer = unique(customers, lambda c: c.legacy_id, "customers", "id")
    unique(customers, lambda c: c.email.casefold(), "customers", "email")
    orders = [_read_order(item, shop, variants, by_customer, addresses, now) for item in root.items("orders")]
    unique(orders, lambda o: o.number, "orders", "number")
    for customer in customers:
        customer.orders.sort(key=lambda o: (o.created_at, o.number))
        customer.number_of_orders = len(customer.orders)
        spent = sum(
            (
                o.total_price - o.total_refunded
                for o in customer.orders
                if o.display_financial_status in SPENDING_STATUSES
            ),
            Decimal(0),
        )
        customer.amount_spent = money(spent, shop.currency_code)
    discounts = [read_discount(item, shop, now) for item in root.items("discounts")]
    unique(discounts, lambda d: d.legacy_id, "discounts", "id")
    unique([c for d in discounts for c in d.codes], lambda c: str(c["code"]).casefold(), "discounts", "code")
    return StoreParts(shop, locations, products, customers, orders, discounts)


class _AddressBook:
    """MailingAddress dicts with unique ids."""

    def __init__(self) -> None:
        self._count = 0

    def read(self, record: RecordFields | None) -> JSONDict | None:
        if record is None:
            return None
        self._count += 1
        return {
            "id": gid("MailingAddress", self._count),
            "name": record.opt_text("name"),
            "address1": record.opt_text("address1"),
            "address2": record.opt_text("address2"),
            "city": record.opt_text("city"),
            "province": record.opt_text("province"),
            "provinceCode": record.opt_text("province_code"),
            "zip": record.opt_text("zip"),
            "countryCodeV2": record.opt_enum("country_code", "CountryCode"),
        }


def _read_customer(record: RecordFields, addresses: _AddressBook, now: dt.datetime) -> Customer:
    legacy_id = record.integer("id")
    record.where = f"customers[id={legacy_id}]"
    email = record.text("email").strip()
    if "@" not in email:
        record.fail(f"`email` {email!r} is not an email address")
    first, last = record.opt_text("first_name"), record.opt_text("last_name")
    created = record.moment("created_days_ago", now)
    return Customer(
        id=gid("Customer", legacy_id),
        legacy_id=legacy_id,
        first_name=first,
        last_name=last,
        display_name=" ".join(part for part in (first, last) if part) or email,
        email=email,
        default_email_address={"emailAddress": email},
        phone=record.opt_text("phone"),
        locale=record.opt_text("locale") or "en",
        state=record.enum("state", "CustomerState"),
        verified_email=record.boolean("verified_email", default=False),
        tags=record.strings("tags"),
        note=record.opt_text("note"),
        created_at=created,
        updated_at=created,
        statistics={
            "rfmGroup": record.opt_enum("rfm_group", "CustomerRfmGroup"),
            "predictedSpendTier": record.opt_enum("predicted_spend_tier", "CustomerPredictedSpendTier"),
        },
        default_address=addresses.read(record.child("address")),
    )


def _read_order(
    record: RecordFields,
    shop: Shop,
    variants: dict[Hashable, ProductVariant],
    customers: dict[Hashable, Customer],
    addresses: _AddressBook,
    now: dt.datetime,
) -> Order:
    """Prices include tax: subtotal = lines - discount, total = subtotal + shipping, tax = total * r / (1 + r)."""
    number = record.integer("number")
    record.where = f"orders[#{number}]"
    currency = record.enum("currency", "CurrencyCode", default=shop.currency_code)
    customer_id = record.opt_integer("customer_id")
    customer = customers.get(customer_id) if customer_id is not None else None
    if customer_id is not None and customer is None:
        record.fail(f"`customer_id` {customer_id} is not a known customer")
    created = record.moment("created_days_ago", now)
    cancelled = record.child("cancelled")
    cancelled_at = cancelled.moment("days_ago", now) if cancelled else None
    lines = [_read_line(item, number, i, currency, variants) for i, item in enumerate(record.items("line_items"), 1)]
    if not lines:
        record.fail("an order needs at least one line item")
    by_variant = {line.variant.legacy_id: line for line in lines if line.variant is not None}
    fulfillments = [
        _read_fulfillment(item, number, i, by_variant, now) for i, item in enumerate(record.items("fulfillments"), 1)
    ]
    shipped: dict[int, int] = {}
    for fulfillment in fulfillments:
        if fulfillment.status in LIVE_FULFILLMENT:
            for part in fulfillment.fulfillment_line_items:
                shipped[id(part.line_item)] = shipped.get(id(part.line_item), 0) + part.quantity
    for line in lines:
        line.unfulfilled_quantity = 0 if cancelled else max(0, line.quantity - shipped.get(id(line), 0))
        line.current_quantity = 0 if cancelled else line.quantity
    refunds = []
    for index, item in enumerate(record.items("refunds"), 1):
        amount = item.amount("amount")
        refunds.append(
            Refund(
                id=gid("Refund", number * 100 + index),
                created_at=item.moment("days_ago", now),
                note=item.opt_text("note"),
                amount=amount,
                total_refunded_set=money_bag(amount, currency),
            )
        )
    returns = [
        Return(
            id=gid("Return", number * 100 + index),
            name=item.text("name"),
            status=item.enum("status", "ReturnStatus"),
            created_at=item.moment("days_ago", now),
            closed_at=item.opt_moment("closed_days_ago", now),
        )
        for index, item in enumerate(record.items("returns"), 1)
    ]
    discount = record.amount("discount", default="0")
    shipping = record.amount("shipping", default="0")
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0)) - discount
    total = subtotal + shipping
    rate = Decimal(str(record.opt_number("tax_rate") or 0))
    tax = (total * rate / (1 + rate)).quantize(CENT)
    refunded = sum((refund.amount for refund in refunds), Decimal(0))
    closed_at = record.opt_moment("closed_days_ago", now)
    moments = [created, cancelled_at, closed_at, *(r.created_at for r in refunds), *(r.created_at for r in returns)]
    moments += [m for f in fulfillments for m in (f.created_at, f.in_transit_at, f.delivered_at)]
    order = Order(
        id=gid("Order", number),
        legacy_id=number,
        number=number,
        name=f"#{number}",
        email=record.opt_text("email"),
        token=hashlib.sha256(f"{shop.myshopify_domain}/{number}".encode()).hexdigest()[:32],
        created_at=created,
        processed_at=created,
        updated_at=max(m for m in moments if m is not None and m <= now),
        cancelled_at=cancelled_at,
        cancel_reason=cancelled.enum("reason", "OrderCancelReason") if cancelled else None,
        closed_at=closed_at,
        display_financial_status=record.enum("financial_status", "OrderDisplayFinancialStatus"),
        display_fulfillment_status=record.enum("fulfillment_status", "OrderDisplayFulfillmentStatus"),
        return_status=record.enum("return_status", "OrderReturnStatus", default="NO_RETURN"),
        currency_code=currency,
        customer_locale=record.opt_text("locale"),
        customer=customer,
        shipping_address=addresses.read(record.child("shipping_address")),
        line_items=lines,
        fulfillments=fulfillments,
        refunds=refunds,
        returns=returns,
        tags=record.strings("tags"),
        note=record.opt_text("note"),
        taxes_included=True,
        total_price=total,
        total_refunded=refunded,
        subtotal_price_set=money_bag(subtotal, currency),
        total_price_set=money_bag(total, currency),
        total_shipping_price_set=money_bag(shipping, currency),
        total_tax_set=money_bag(tax, currency),
        total_discounts_set=money_bag(discount, currency),
        total_refunded_set=money_bag(refunded, currency),
    )
    if customer is not None:
        customer.orders.append(order)
    return order


def _read_line(
    record: RecordFields, number: int, index: int, currency: str, variants: dict[Hashable, ProductVariant]
) -> LineItem:
    """Title, SKU and unit price come from the variant; an optional `price` overrides the price paid."""
    variant_id = record.integer("variant_id")
    variant = variants.get(variant_id)
    if variant is None:
        record.fail(f"`variant_id` {variant_id} is not a known variant")
    quantity = record.integer("quantity")
    if quantity < 1:
        record.fail("`quantity` must be at least 1")
    price = record.opt_amount("price")
    unit_price = variant.price if price is None else price
    variant_title = None if variant.title == "Default Title" else variant.title
    title = variant.product.title
    return LineItem(
        id=gid("LineItem", number * 100 + index),
        name=f"{title} - {variant_title}" if variant_title else title,
        title=title,
        variant_title=variant_title,
        sku=variant.sku,
        quantity=quantity,
        current_quantity=quantity,
        unfulfilled_quantity=quantity,
        unit_price=unit_price,
        original_unit_price_set=money_bag(unit_price, currency),
        variant=variant,
        product=variant.product,
    )


def _read_fulfillment(
    record: RecordFields, number: int, index: int, lines: dict[int, LineItem], now: dt.datetime
) -> Fulfillment:
    parts = []
    for part_index, item in enumerate(record.items("line_items"), 1):
        variant_id = item.integer("variant_id")
        line = lines.get(variant_id)
        if line is None:
            item.fail(f"`variant_id` {variant_id} is not one of the order's line items")
        part_id = gid("FulfillmentLineItem", (number * 100 + index) * 100 + part_index)
        parts.append(FulfillmentLineItem(id=part_id, line_item=line, quantity=item.integer("quantity")))
    tracking = [
        {"company": item.opt_text("company"), "number": item.opt_text("number"), "url": item.opt_text("url")}
        for item in record.items("tracking")
    ]
    return Fulfillment(
        id=gid("Fulfillment", number * 100 + index),
        name=record.opt_text("name") or f"#{number}-F{index}",
        status=record.enum("status", "FulfillmentStatus"),
        display_status=record.opt_enum("display_status", "FulfillmentDisplayStatus"),
        created_at=record.moment("days_ago", now),
        in_transit_at=record.opt_moment("in_transit_days_ago", now),
        delivered_at=record.opt_moment("delivered_days_ago", now),
        estimated_delivery_at=record.opt_moment("estimated_delivery_in_days", now),
        tracking_info=tracking,
        fulfillment_line_items=parts,
    )
