"""The search filters and sort keys of the `orders`, `products` and `discountNodes` connections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from shopify_mcp.emulator.records import Discount, Order, Product
from shopify_mcp.emulator.search import (
    SearchField,
    SearchFilter,
    Term,
    check_date,
    compare,
    date_matches,
    keyword_matches,
    text_matches,
)


def _values(term: Term) -> list[str]:
    """`status:active,draft` lists alternatives."""
    return [part.strip().casefold() for part in term.value.split(",") if part.strip()]


def _numeric_id(value: str) -> int | None:
    tail = value.rsplit("/", 1)[-1].lstrip("#")
    return int(tail) if tail.isdigit() else None


def _check_number(term: Term) -> str | None:
    return None if _numeric_id(term.value) is not None else f"Invalid number: {term.value!r}."


def _id_field(legacy_id: Callable[[Any], int]) -> SearchField[Any]:
    def match(record: Any, term: Term) -> bool:
        wanted = _numeric_id(term.value)
        return wanted is not None and compare(term, legacy_id(record), wanted)

    return SearchField(match, _check_number)


def _date_field(moment: Callable[[Any], dt.datetime | None]) -> SearchField[Any]:
    return SearchField(lambda record, term: date_matches(term, moment(record)), check_date)


def _enum_field(value: Callable[[Any], str | None], aliases: dict[str, set[str]] | None = None) -> SearchField[Any]:
    """Lower-case enum values (comma-separated alternatives); `any` matches everything."""

    def match(record: Any, term: Term) -> bool:
        actual = (value(record) or "").casefold()
        for wanted in _values(term):
            if wanted == "any" or wanted == actual or actual in (aliases or {}).get(wanted, set()):
                return True
        return False

    return SearchField(match)


# --- Orders -------------------------------------------------------------------------------------------------


def _order_name(order: Order, term: Term) -> bool:
    wanted = term.value.strip().lstrip("#")
    if term.comparator != ":":
        return wanted.isdigit() and compare(term, order.number, int(wanted))
    number = str(order.number)
    return number.startswith(wanted) if term.prefix else number == wanted


def _order_status(order: Order, term: Term) -> bool:
    """open: neither closed (archived) nor cancelled; closed; cancelled; not_closed; any."""
    states = {
        "open": not order.closed and order.cancelled_at is None,
        "closed": order.closed,
        "cancelled": order.cancelled_at is not None,
        "not_closed": not order.closed,
        "any": True,
    }
    return any(states.get(value, False) for value in _values(term))


def _order_text(order: Order, term: Term) -> bool:
    """Bare words match the order number (with or without `#`), email, customer name, tags, items and SKUs."""
    if _order_name(order, term):
        return True
    customer = order.customer.display_name if order.customer else None
    texts = [order.email, customer, *order.tags]
    texts += [text for line in order.line_items for text in (line.title, line.sku)]
    return text_matches(term, texts)


ORDER_FIELDS: dict[str, SearchField[Order]] = {
    "name": SearchField(_order_name),
    "email": SearchField(lambda o, t: keyword_matches(t, [o.email])),
    "status": SearchField(_order_status),
    "financial_status": _enum_field(
        lambda o: o.display_financial_status, {"unpaid": {"pending", "authorized", "partially_paid"}}
    ),
    "fulfillment_status": _enum_field(
        lambda o: o.display_fulfillment_status,
        {
            "shipped": {"fulfilled"},
            "partial": {"partially_fulfilled"},
            "unshipped": {"unfulfilled"},
            "unfulfilled": {"unfulfilled", "partially_fulfilled"},
        },
    ),
    "return_status": _enum_field(lambda o: o.return_status),
    "created_at": _date_field(lambda o: o.created_at),
    "processed_at": _date_field(lambda o: o.processed_at),
    "updated_at": _date_field(lambda o: o.updated_at),
    "customer_id": SearchField(
        lambda o, t: o.customer is not None and _numeric_id(t.value) == o.customer.legacy_id, _check_number
    ),
    "id": _id_field(lambda o: o.legacy_id),
    "tag": SearchField(lambda o, t: keyword_matches(t, o.tags)),
    "sku": SearchField(lambda o, t: keyword_matches(t, [line.sku for line in o.line_items])),
}


def order_filter(query: str | None) -> SearchFilter[Order]:
    return SearchFilter(query, ORDER_FIELDS, _order_text)


ORDER_SORT: dict[str, Callable[[Order], Any]] = {
    "ID": lambda o: o.legacy_id,
    "ORDER_NUMBER": lambda o: o.number,
    "CREATED_AT": lambda o: (o.created_at, o.number),
    "PROCESSED_AT": lambda o: (o.processed_at, o.number),
    "UPDATED_AT": lambda o: (o.updated_at, o.number),
    "TOTAL_PRICE": lambda o: (o.total_price, o.number),
    "CURRENT_TOTAL_PRICE": lambda o: (o.total_price - o.total_refunded, o.number),
    "CUSTOMER_NAME": lambda o: ((o.customer.display_name.casefold() if o.customer else ""), o.number),
    "FINANCIAL_STATUS": lambda o: (o.display_financial_status, o.number),
    "FULFILLMENT_STATUS": lambda o: (o.display_fulfillment_status, o.number),
    "TOTAL_ITEMS_QUANTITY": lambda o: (sum(line.quantity for line in o.line_items), o.number),
    "DESTINATION": lambda o: ((o.shipping_address or {}).get("countryCodeV2") or "", o.number),
}


# --- Products -----------------------------------------------------------------------------------------------


def _skus(product: Product) -> list[str | None]:
    return [variant.sku for variant in product.variants]


def _product_text(product: Product, term: Term) -> bool:
    texts = [product.title, product.vendor, product.product_type, product.handle.replace("-", " "), *product.tags]
    texts += [variant.title for variant in product.variants]
    return text_matches(term, texts) or keyword_matches(term, _skus(product))


def _inventory_total(product: Product, term: Term) -> bool:
    wanted = _numeric_id(term.value)
    return wanted is not None and compare(term, product.total_inventory, wanted)


PRODUCT_FIELDS: dict[str, SearchField[Product]] = {
    "title": SearchField(lambda p, t: text_matches(t, [p.title])),
    "handle": SearchField(lambda p, t: keyword_matches(t, [p.handle])),
    "sku": SearchField(lambda p, t: keyword_matches(t, _skus(p))),
    "status": _enum_field(lambda p: p.status),
    "tag": SearchField(lambda p, t: keyword_matches(t, p.tags)),
    "vendor": SearchField(lambda p, t: keyword_matches(t, [p.vendor]) or text_matches(t, [p.vendor])),
    "product_type": SearchField(lambda p, t: keyword_matches(t, [p.product_type])),
    "id": _id_field(lambda p: p.legacy_id),
    "created_at": _date_field(lambda p: p.created_at),
    "updated_at": _date_field(lambda p: p.updated_at),
    "inventory_total": SearchField(_inventory_total, _check_number),
}


def product_filter(query: str | None) -> SearchFilter[Product]:
    return SearchFilter(query, PRODUCT_FIELDS, _product_text)


PRODUCT_SORT: dict[str, Callable[[Product], Any]] = {
    "ID": lambda p: p.legacy_id,
    "TITLE": lambda p: (p.title.casefold(), p.legacy_id),
    "CREATED_AT": lambda p: (p.created_at, p.legacy_id),
    "UPDATED_AT": lambda p: (p.updated_at, p.legacy_id),
    "PUBLISHED_AT": lambda p: (p.created_at, p.legacy_id),
    "VENDOR": lambda p: (p.vendor.casefold(), p.legacy_id),
    "PRODUCT_TYPE": lambda p: (p.product_type.casefold(), p.legacy_id),
    "INVENTORY_TOTAL": lambda p: (p.total_inventory, p.legacy_id),
}


# --- Discounts ----------------------------------------------------------------------------------------------

_DISCOUNT_TYPES = {
    "all": {"percentage", "fixed_amount", "free_shipping", "bogo"},
    "all_with_app": {"percentage", "fixed_amount", "free_shipping", "bogo", "app"},
    "basic": {"percentage", "fixed_amount"},
    "bxgy": {"bogo"},
}

DISCOUNT_FIELDS: dict[str, SearchField[Discount]] = {
    "status": _enum_field(lambda d: d.status),
    "method": _enum_field(lambda d: d.method),
    "type": _enum_field(lambda d: d.value_type, _DISCOUNT_TYPES),
    "discount_class": SearchField(lambda d, t: any(c.casefold() in _values(t) for c in d.discount_classes)),
    "tag": SearchField(lambda d, t: keyword_matches(t, d.tags)),
    "title": SearchField(lambda d, t: text_matches(t, [d.title])),
    "code": SearchField(lambda d, t: keyword_matches(t, [str(c["code"]) for c in d.codes])),
    "id": _id_field(lambda d: d.legacy_id),
    "starts_at": _date_field(lambda d: d.starts_at),
    "ends_at": _date_field(lambda d: d.ends_at),
    "created_at": _date_field(lambda d: d.created_at),
    "updated_at": _date_field(lambda d: d.updated_at),
}


def _discount_text(discount: Discount, term: Term) -> bool:
    return text_matches(term, [discount.title]) or keyword_matches(term, [str(c["code"]) for c in discount.codes])


def discount_filter(query: str | None) -> SearchFilter[Discount]:
    return SearchFilter(query, DISCOUNT_FIELDS, _discount_text)


_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)

DISCOUNT_SORT: dict[str, Callable[[Discount], Any]] = {
    "ID": lambda d: d.legacy_id,
    "TITLE": lambda d: (d.title.casefold(), d.legacy_id),
    "STARTS_AT": lambda d: (d.starts_at, d.legacy_id),
    "ENDS_AT": lambda d: (d.ends_at or _FAR_FUTURE, d.legacy_id),
    "CREATED_AT": lambda d: (d.created_at, d.legacy_id),
    "UPDATED_AT": lambda d: (d.updated_at, d.legacy_id),
}
