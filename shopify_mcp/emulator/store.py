"""The emulator's in-memory store: records indexed for the lookups the Admin API offers, and its loaders."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import Any

from shopify_mcp.emulator.records import Customer, Discount, Location, Order, Product, ProductVariant, Shop
from shopify_mcp.emulator.store_file import StoreParts, read_store

SANDBOX_PACKAGE = "shopify_mcp"
SANDBOX_RESOURCE = "sandbox/store.json"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Store:
    """One shop's data, read-only once built. `now` is the instant the relative dates were materialised at."""

    def __init__(self, parts: StoreParts, *, now: dt.datetime) -> None:
        self.now = now
        self.shop: Shop = parts.shop
        self.locations: list[Location] = parts.locations
        self.products: list[Product] = sorted(parts.products, key=lambda p: p.legacy_id)
        self.customers: list[Customer] = sorted(parts.customers, key=lambda c: c.legacy_id)
        self.orders: list[Order] = sorted(parts.orders, key=lambda o: o.number)
        self.discounts: list[Discount] = sorted(parts.discounts, key=lambda d: d.legacy_id)
        self._orders_by_id = {order.id: order for order in self.orders}
        self._orders_by_number = {order.number: order for order in self.orders}
        self._customers_by_id = {customer.id: customer for customer in self.customers}
        self._customers_by_email = {customer.email.casefold(): customer for customer in self.customers}
        self._customers_by_phone = {_digits(c.phone): c for c in self.customers if c.phone}
        self._products_by_id = {product.id: product for product in self.products}
        self._products_by_handle = {product.handle: product for product in self.products}
        self._variants_by_sku: dict[str, list[ProductVariant]] = {}
        for product in self.products:
            for variant in product.variants:
                if variant.sku:
                    self._variants_by_sku.setdefault(variant.sku.casefold(), []).append(variant)
        self._discounts_by_code = {
            str(code["code"]).casefold(): discount for discount in self.discounts for code in discount.codes
        }

    def order(self, order_id: str) -> Order | None:
        return self._orders_by_id.get(order_id)

    def order_by_number(self, number: int) -> Order | None:
        return self._orders_by_number.get(number)

    def customer(self, customer_id: str) -> Customer | None:
        return self._customers_by_id.get(customer_id)

    def customer_by_email(self, email: str) -> Customer | None:
        return self._customers_by_email.get(email.strip().casefold())

    def customer_by_phone(self, phone: str) -> Customer | None:
        return self._customers_by_phone.get(_digits(phone))

    def product(self, product_id: str) -> Product | None:
        return self._products_by_id.get(product_id)

    def product_by_handle(self, handle: str) -> Product | None:
        return self._products_by_handle.get(handle)

    def variants_by_sku(self, sku: str) -> list[ProductVariant]:
        return self._variants_by_sku.get(sku.casefold(), [])

    def discount_by_code(self, code: str) -> Discount | None:
        """Codes are matched case-insensitively, as Shopify does."""
        return self._discounts_by_code.get(code.strip().casefold())

    def summary(self) -> str:
        return (
            f"{self.shop.name}: {len(self.products)} products, {len(self.customers)} customers, "
            f"{len(self.orders)} orders, {len(self.discounts)} discounts"
        )


def _digits(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def build_store(data: dict[str, Any], *, now: dt.datetime | None = None) -> Store:
    """A store from an already-parsed document in the sandbox format (tests build small ones inline)."""
    moment = now or utc_now()
    return Store(read_store(data, moment), now=moment)


def load_store(path: Path | str, *, now: dt.datetime | None = None) -> Store:
    """Load a store file in the sandbox format; `ValueError` names the file and the bad record."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the store file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the store file {path} is not valid JSON: {exc}") from None
    try:
        return build_store(data, now=now)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_sandbox_store(*, now: dt.datetime | None = None) -> Store:
    """The project's own sandbox store (`shopify_mcp/sandbox/store.json`)."""
    resource = resources.files(SANDBOX_PACKAGE).joinpath(SANDBOX_RESOURCE)
    with resources.as_file(resource) as path:
        return load_store(path, now=now)
