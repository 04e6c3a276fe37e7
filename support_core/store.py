"""What the Shopify server's tools return (MCP clients receive it as structured content): the contract the
orchestrator reads, shared here so that it never imports the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from support_core.addresses import normalise_address
from support_core.categories import TicketCategory
from support_core.flat_schemas import FlatSchemaModel


class Model(FlatSchemaModel):
    """A tool result: immutable, with a JSON Schema a client checks cheaply (`support_core.flat_schemas`)."""

    model_config = ConfigDict(frozen=True)


class Money(Model):
    amount: str = Field(description="Decimal amount as a string, e.g. '49.90'.")
    currency: str = Field(description="ISO 4217 code, e.g. 'EUR'.")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


OrderState = Literal[
    "awaiting_payment",
    "payment_failed",
    "cancelled",
    "refunded",
    "return_in_progress",
    "returned",
    "on_hold",
    "processing",
    "partially_shipped",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivery_problem",
    "delivered",
    "ready_for_pickup",
]


class Tracking(Model):
    carrier: str | None = Field(description="Carrier name as the merchant entered it, e.g. 'DHL Express'.")
    number: str | None = Field(description="Tracking number.")
    url: str | None = Field(description="Carrier tracking page for this parcel.")


class ShipmentItem(Model):
    title: str
    quantity: int


class Shipment(Model):
    name: str = Field(description="Fulfilment name, e.g. '#1004-F1'.")
    status: str = Field(description="Shopify fulfilment status: SUCCESS, CANCELLED, ERROR, FAILURE, OPEN, PENDING.")
    delivery_status: str | None = Field(
        description="Latest carrier event: CONFIRMED, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, DELAYED, FAILURE, ..."
    )
    tracking: list[Tracking] = Field(description="Carrier, number and URL of each parcel in this shipment.")
    shipped_at: datetime | None
    in_transit_at: datetime | None
    delivered_at: datetime | None
    estimated_delivery_at: datetime | None = Field(description="Carrier estimate; may be in the past when late.")
    items: list[ShipmentItem]


class LineItem(Model):
    title: str
    variant: str | None
    sku: str | None
    quantity: int = Field(description="Quantity ordered.")
    current_quantity: int = Field(description="Quantity after removals, refunds and edits.")
    unfulfilled_quantity: int = Field(description="Quantity not shipped yet.")
    unit_price: Money


class RefundInfo(Model):
    created_at: datetime | None
    amount: Money
    note: str | None


class ReturnInfo(Model):
    name: str
    status: str = Field(description="REQUESTED, OPEN, CLOSED, DECLINED or CANCELED.")
    created_at: datetime
    closed_at: datetime | None


class OrderTotals(Model):
    total: Money
    subtotal: Money | None
    shipping: Money
    tax: Money | None
    discounts: Money | None
    refunded: Money


class OrderDetails(Model):
    """One order, as its owner may see it."""

    order_number: str = Field(description="Order name as the customer sees it, e.g. '#1001'.")
    state: OrderState = Field(description="One plain summary of where the order stands, derived from all statuses.")
    created_at: datetime
    processed_at: datetime
    financial_status: str | None = Field(description="PENDING, AUTHORIZED, PAID, PARTIALLY_REFUNDED, REFUNDED, ...")
    fulfillment_status: str = Field(description="UNFULFILLED, PARTIALLY_FULFILLED, FULFILLED, ON_HOLD, ...")
    return_status: str = Field(description="NO_RETURN, RETURN_REQUESTED, IN_PROGRESS, RETURNED, ...")
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed: bool = Field(description="Archived by the merchant.")
    customer_name: str | None
    locale: str | None = Field(description="Language the customer used at checkout, e.g. 'es'.")
    ship_to: str | None = Field(description="Destination city and country, e.g. 'Sevilla, ES'.")
    totals: OrderTotals
    items: list[LineItem]
    shipments: list[Shipment]
    refunds: list[RefundInfo]
    returns: list[ReturnInfo]
    status_page_url: str = Field(description="The customer's order status page (safe to share with the owner).")


class OrderSummary(Model):
    order_number: str
    state: OrderState
    processed_at: datetime
    financial_status: str | None
    fulfillment_status: str
    total: Money
    items: list[str] = Field(description="'2 x Title (Variant)' per line item.")
    tracking: list[Tracking]
    status_page_url: str


class CustomerOrders(Model):
    customer_email: str
    orders: list[OrderSummary] = Field(description="Newest first.")


class OrderRef(Model):
    order_number: str
    processed_at: datetime


class CustomerProfile(Model):
    name: str
    email: str
    vip: bool = Field(description="True when tagged VIP (configurable) or lifetime spend reaches the VIP threshold.")
    vip_reasons: list[str]
    lifetime_spend: Money
    order_count: int
    tags: list[str]
    customer_since: datetime
    first_order: OrderRef | None
    last_order: OrderRef | None
    rfm_group: str | None = Field(description="Shopify's RFM segment: CHAMPIONS, LOYAL, AT_RISK, DORMANT, ...")
    predicted_spend_tier: str | None
    locale: str
    account_state: str = Field(description="ENABLED (has an account), DISABLED (no account), INVITED, DECLINED.")


StockStatus = Literal["in_stock", "low_stock", "sold_out", "backorder", "not_tracked", "unavailable"]


class LocationStock(Model):
    location: str
    available: int


class Variant(Model):
    id: str
    title: str
    sku: str | None
    options: dict[str, str]
    price: Money
    compare_at_price: Money | None
    available: bool = Field(description="Can be bought now (untracked inventory counts as available).")
    stock: int | None = Field(description="Units available over all locations; null when inventory is not tracked.")
    stock_status: StockStatus
    locations: list[LocationStock] | None = Field(
        default=None, description="Per-location stock, only when asked for with include_locations."
    )


class Product(Model):
    id: str
    title: str
    handle: str
    url: str | None = Field(description="Storefront page; null when the product is not published.")
    status: str = Field(description="ACTIVE, DRAFT, ARCHIVED or UNLISTED.")
    vendor: str
    product_type: str
    tags: list[str]
    description: str
    price_min: Money
    price_max: Money
    available: bool = Field(description="At least one variant can be bought now.")
    total_stock: int | None = Field(description="Units over all variants; null when inventory is not tracked.")
    details: dict[str, str] = Field(
        description="Merchant-provided product facts (care instructions, materials, compression, ...)."
    )
    variants: list[Variant]
    more_variants: bool = Field(
        default=False, description="True when the product has more variants than listed (use get_product for all)."
    )


class ProductSearch(Model):
    query: str
    products: list[Product]


DiscountKind = Literal["percentage", "fixed_amount", "free_shipping", "buy_x_get_y", "app"]


class DiscountInfo(Model):
    title: str
    kind: DiscountKind
    status: str = Field(description="ACTIVE, EXPIRED or SCHEDULED.")
    summary: str | None = Field(description="Shopify's own one-line description of the offer.")
    percentage: float | None = Field(default=None, description="e.g. 15.0 for 15% off.")
    amount: Money | None = Field(default=None, description="Fixed amount off.")
    starts_at: datetime | None
    ends_at: datetime | None
    minimum_subtotal: Money | None = None
    minimum_quantity: int | None = None
    get_quantity: int | None = Field(
        default=None, description="Buy X get Y: how many items get the percentage or amount off (100% = free)."
    )


class DiscountCheck(Model):
    code: str
    exists: bool
    usable_now: bool = Field(description="Active, within its dates and not used up.")
    reason: str = Field(description="Why the code can or cannot be used, in one sentence.")
    discount: DiscountInfo | None = None
    usage_limit: int | None = None
    times_used: int | None = None
    once_per_customer: bool | None = None


class Promotion(DiscountInfo):
    code: str | None = Field(default=None, description="Code to enter at checkout; null for automatic discounts.")


class Promotions(Model):
    automatic: list[Promotion] = Field(description="Applied at checkout without a code.")
    public_codes: list[Promotion] = Field(description="Codes the merchant allows to be shared with any customer.")


class Policy(Model):
    type: str = Field(description="REFUND_POLICY, SHIPPING_POLICY, PRIVACY_POLICY, TERMS_OF_SERVICE, ...")
    title: str
    url: str
    text: str = Field(description="The policy as plain text (HTML removed, links kept in parentheses).")
    language: str | None = Field(
        default=None,
        description="ISO 639-1 code of the language `title` and `text` are in (e.g. 'de'); null when no language "
        "was asked for, or when the shop's languages could not be read.",
    )
    translated: bool = Field(
        default=False,
        description="True: `text` is the shop's own published translation into the requested language. False: it "
        "is the shop's original text (no up-to-date translation is published for that language).",
    )


class Policies(Model):
    shop_name: str
    policies: list[Policy]
    requested_language: str | None = Field(
        default=None, description="The language asked for (ISO 639-1), null when none was."
    )
    primary_language: str | None = Field(
        default=None,
        description="The shop's own language (ISO 639-1): untranslated policies are written in it. Null when no "
        "language was asked for or the shop's languages could not be read.",
    )


# --- Escalation tickets --------------------------------------------------------------------------------------

_ORDER_NUMBER = re.compile(r"#?(\d{1,20})")

Priority = Literal["low", "normal", "high", "urgent"]
TicketStatus = Literal["open", "closed"]
SinkName = Literal["local", "webhook", "zendesk"]


class TicketRequest(BaseModel):
    """What an escalation needs: who the customer is, what happened, how urgent it is.

    `category` is one of `TICKET_CATEGORIES`; `customer_email` is kept in `support_core`'s normal form (the same
    one the ownership checks compare), and an address that is not exactly one valid address is refused.
    """

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    category: TicketCategory = Field(
        description="Support category: one of the nine routing categories, InternalAlert (partner/internal mail) "
        "or Other."
    )
    customer_email: str = Field(
        max_length=254, description="The customer's email address (stored normalised: ASCII letters lower-cased)."
    )
    customer_name: str | None = Field(default=None, max_length=200, description="The customer's name, if known.")
    summary: str = Field(min_length=1, max_length=4000, description="What happened and what the customer wants.")
    priority: Priority = Field(default="normal", description="How urgent: low, normal, high or urgent.")
    order_number: str | None = Field(default=None, description="The order concerned, '#1001' or '1001', if any.")
    source: str | None = Field(default=None, max_length=64, description="Where it came from: email, chat, mcp...")

    @field_validator("customer_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalise_address(value)  # its AddressError is a ValueError: pydantic reports it on the field

    @field_validator("customer_name", "source")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("order_number")
    @classmethod
    def _order_number(cls, value: str | None) -> str | None:
        if not value:
            return None
        match = _ORDER_NUMBER.fullmatch(value)
        if not match:
            raise ValueError(f"{value!r} is not an order number: use digits, optionally after '#', like #1001")
        return f"#{match.group(1)}"


class Ticket(TicketRequest):
    """A stored or delivered escalation ticket."""

    id: str = Field(description="Our ticket id: T-000042 (local) or T- plus 12 hex digits (webhook, Zendesk).")
    created_at: datetime = Field(description="When the ticket was created, in UTC.")
    status: TicketStatus = Field(default="open", description="open or closed.")
    sink: SinkName = Field(description="Where the ticket lives: local, webhook or zendesk.")
    external_id: str | None = Field(default=None, description="The receiver's id for it (Zendesk ticket number).")
    url: str | None = Field(default=None, description="Where a person can open it, when the sink has a web UI.")

    @field_validator("customer_email")
    @classmethod
    def _email(cls, value: str) -> str:
        """Kept as stored: it was normalised when the ticket was requested, and a ticket written by an older
        version (whose check was looser) must still be listable rather than break the whole list."""
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TicketList(BaseModel):
    """A page of tickets, newest first."""

    tickets: list[Ticket] = Field(description="The tickets, newest first.")
    total: int = Field(description="How many tickets match the filters (can exceed the page when limited).")
