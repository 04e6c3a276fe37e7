"""In-memory records shaped like Shopify's objects: attributes are the GraphQL field names in snake_case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

JSONDict = dict[str, Any]
"""Small value objects (MoneyV2, MailingAddress, ...) are plain dicts keyed by their GraphQL field names."""


def gid(kind: str, legacy_id: int | str) -> str:
    """Shopify global id: `gid://shopify/Order/1001`."""
    return f"gid://shopify/{kind}/{legacy_id}"


def money(amount: Decimal, currency: str) -> JSONDict:
    return {"amount": amount, "currencyCode": currency}


def money_bag(amount: Decimal, currency: str) -> JSONDict:
    """A MoneyBag; the emulator has no exchange rates, so shop and presentment money are the same."""
    value = money(amount, currency)
    return {"shopMoney": value, "presentmentMoney": value}


@dataclass(slots=True, eq=False)
class Translation:
    """One published translation of one field (`key`, e.g. `body`) into `locale`."""

    key: str
    locale: str
    value: str
    updated_at: dt.datetime
    outdated: bool
    """The original changed after this translation was last updated."""


@dataclass(slots=True, eq=False)
class ShopLocale:
    locale: str
    name: str
    primary: bool
    published: bool


@dataclass(slots=True, eq=False)
class ShopPolicy:
    id: str
    type: str
    title: str
    body: str
    url: str
    created_at: dt.datetime
    updated_at: dt.datetime
    translations: list[Translation] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Shop:
    id: str
    legacy_id: int
    name: str
    email: str
    contact_email: str
    myshopify_domain: str
    primary_domain: JSONDict
    url: str
    currency_code: str
    shop_policies: list[ShopPolicy]
    shop_locales: list[ShopLocale] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Location:
    id: str
    legacy_id: int
    name: str
    country: str


@dataclass(slots=True, eq=False)
class InventoryLevel:
    id: str
    location: Location
    available: int


@dataclass(slots=True, eq=False)
class InventoryItem:
    id: str
    sku: str | None
    tracked: bool
    levels: list[InventoryLevel]


@dataclass(slots=True, eq=False)
class Metafield:
    id: str
    namespace: str
    key: str
    type: str
    value: str


@dataclass(slots=True, eq=False)
class ProductVariant:
    id: str
    legacy_id: int
    title: str
    display_name: str
    position: int
    sku: str | None
    price: Decimal
    compare_at_price: Decimal | None
    inventory_policy: str
    inventory_quantity: int
    available_for_sale: bool
    selected_options: list[JSONDict]
    inventory_item: InventoryItem
    product: Product


@dataclass(slots=True, eq=False)
class Product:
    id: str
    legacy_id: int
    title: str
    handle: str
    status: str
    vendor: str
    product_type: str
    tags: list[str]
    description_html: str
    online_store_url: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    option_names: list[str]
    metafields: list[Metafield] = field(default_factory=list)
    variants: list[ProductVariant] = field(default_factory=list)
    tracks_inventory: bool = False
    total_inventory: int = 0
    price_range_v2: JSONDict = field(default_factory=dict)

    @property
    def variants_count(self) -> JSONDict:
        return {"count": len(self.variants), "precision": "EXACT"}


@dataclass(slots=True, eq=False)
class LineItem:
    id: str
    name: str
    title: str
    variant_title: str | None
    sku: str | None
    quantity: int
    current_quantity: int
    unfulfilled_quantity: int
    unit_price: Decimal
    original_unit_price_set: JSONDict
    variant: ProductVariant | None
    product: Product | None


@dataclass(slots=True, eq=False)
class FulfillmentLineItem:
    id: str
    line_item: LineItem
    quantity: int


@dataclass(slots=True, eq=False)
class Fulfillment:
    id: str
    name: str
    status: str
    display_status: str | None
    created_at: dt.datetime
    in_transit_at: dt.datetime | None
    delivered_at: dt.datetime | None
    estimated_delivery_at: dt.datetime | None
    tracking_info: list[JSONDict]
    fulfillment_line_items: list[FulfillmentLineItem]

    @property
    def total_quantity(self) -> int:
        return sum(item.quantity for item in self.fulfillment_line_items)


@dataclass(slots=True, eq=False)
class Refund:
    id: str
    created_at: dt.datetime
    note: str | None
    amount: Decimal
    total_refunded_set: JSONDict


@dataclass(slots=True, eq=False)
class Return:
    id: str
    name: str
    status: str
    created_at: dt.datetime
    closed_at: dt.datetime | None


@dataclass(slots=True, eq=False)
class Customer:
    id: str
    legacy_id: int
    first_name: str | None
    last_name: str | None
    display_name: str
    email: str
    default_email_address: JSONDict
    phone: str | None
    locale: str
    state: str
    verified_email: bool
    tags: list[str]
    note: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    statistics: JSONDict
    default_address: JSONDict | None
    orders: list[Order] = field(default_factory=list)
    number_of_orders: int = 0
    amount_spent: JSONDict = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Order:
    id: str
    legacy_id: int
    number: int
    name: str
    email: str | None
    token: str
    created_at: dt.datetime
    processed_at: dt.datetime
    updated_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    closed_at: dt.datetime | None
    display_financial_status: str
    display_fulfillment_status: str
    return_status: str
    currency_code: str
    customer_locale: str | None
    customer: Customer | None
    shipping_address: JSONDict | None
    line_items: list[LineItem]
    fulfillments: list[Fulfillment]
    refunds: list[Refund]
    returns: list[Return]
    tags: list[str]
    note: str | None
    taxes_included: bool
    total_price: Decimal
    total_refunded: Decimal
    subtotal_price_set: JSONDict
    total_price_set: JSONDict
    total_shipping_price_set: JSONDict
    total_tax_set: JSONDict
    total_discounts_set: JSONDict
    total_refunded_set: JSONDict

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def subtotal_line_items_quantity(self) -> int:
        return sum(item.quantity for item in self.line_items)


DISCOUNT_TYPENAMES = {
    ("code", "basic"): "DiscountCodeBasic",
    ("code", "bxgy"): "DiscountCodeBxgy",
    ("code", "free_shipping"): "DiscountCodeFreeShipping",
    ("code", "app"): "DiscountCodeApp",
    ("automatic", "basic"): "DiscountAutomaticBasic",
    ("automatic", "bxgy"): "DiscountAutomaticBxgy",
    ("automatic", "free_shipping"): "DiscountAutomaticFreeShipping",
    ("automatic", "app"): "DiscountAutomaticApp",
}


@dataclass(slots=True, eq=False)
class Discount:
    """One discount; it is also its own `DiscountNode`/`DiscountCodeNode` (`discount`/`codeDiscount` is self)."""

    id: str
    legacy_id: int
    method: str
    kind: str
    title: str
    status: str
    summary: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    discount_classes: list[str]
    codes: list[JSONDict]
    tags: list[str]
    customer_gets: JSONDict | None
    minimum_requirement: JSONDict | None
    usage_limit: int | None
    async_usage_count: int
    applies_once_per_customer: bool
    maximum_shipping_price: JSONDict | None
    value_type: str | None

    @property
    def typename(self) -> str:
        return DISCOUNT_TYPENAMES[(self.method, self.kind)]

    @property
    def discount(self) -> Discount:
        return self

    @property
    def code_discount(self) -> Discount:
        return self
