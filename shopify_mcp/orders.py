"""Order lookups with ownership checked in code: an order is shown only to the email that placed it.

Addresses are compared in `support_core`'s one normal form (`same_address`), never by case folding. A lookup by
number asks Shopify for the number AND the customer's email in one query, so an order that exists but belongs to
someone else and an order that does not exist cost the same single request and give the same answer (no timing
or wording oracle); the result's owner is still checked here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shopify_mcp.client import AdminClient
from shopify_mcp.errors import InvalidInputError, NotFoundError
from shopify_mcp.inputs import email_filter, normalise_customer_email, normalise_order_number, search_value
from shopify_mcp.order_pages import complete_order
from support_core.addresses import same_address
from support_core.store import (
    CustomerOrders,
    LineItem,
    Money,
    OrderDetails,
    OrderState,
    OrderSummary,
    OrderTotals,
    RefundInfo,
    ReturnInfo,
    Shipment,
    ShipmentItem,
    Tracking,
)

NOT_FOUND = (
    "No order {number} was found for this customer's email address. Ask the customer to check the number on "
    "their confirmation email and the address they ordered with. (Orders older than 60 days are invisible when "
    "the app lacks the read_all_orders scope.)"
)
_PROBLEM = frozenset({"ATTEMPTED_DELIVERY", "FAILURE", "NOT_DELIVERED", "DELAYED"})
_PROCESSING = frozenset({"UNFULFILLED", "IN_PROGRESS", "PENDING_FULFILLMENT", "SCHEDULED", "OPEN", "RESTOCKED"})


def money(value: Any) -> Money:
    """Money from a MoneyV2 (`{amount, currencyCode}`) or a MoneyBag (`{shopMoney: {...}}`)."""
    if isinstance(value, dict) and "shopMoney" in value:
        value = value["shopMoney"]
    return Money(amount=str(value["amount"]), currency=str(value["currencyCode"]))


def optional_money(value: Any) -> Money | None:
    return money(value) if value else None


def order_owner_emails(node: dict[str, Any]) -> list[str]:
    """The emails that own an order: its contact email and its customer's default email."""
    emails = [node.get("email")]
    customer = node.get("customer") or {}
    emails.append((customer.get("defaultEmailAddress") or {}).get("emailAddress"))
    return [e for e in emails if e]


def owned_by(node: dict[str, Any], email: str | None) -> bool:
    """True when `email` is one of the order's owners, compared with `support_core.addresses.same_address`."""
    return any(same_address(owner, email) for owner in order_owner_emails(node))


def _tracking(entries: Iterable[dict[str, Any]]) -> list[Tracking]:
    return [Tracking(carrier=t.get("company"), number=t.get("number"), url=t.get("url")) for t in entries]


def order_state(node: dict[str, Any]) -> OrderState:
    """One plain-language summary of an order from its financial, fulfilment, return and delivery statuses."""
    financial = node.get("displayFinancialStatus")
    fulfilment = node.get("displayFulfillmentStatus")
    returns = node.get("returnStatus")
    if node.get("cancelledAt"):
        return "cancelled"
    if financial == "REFUNDED":
        return "refunded"
    if returns in ("RETURNED", "INSPECTION_COMPLETE"):
        return "returned"
    if returns in ("RETURN_REQUESTED", "IN_PROGRESS"):
        return "return_in_progress"
    if financial in ("PENDING", "PARTIALLY_PAID"):
        return "awaiting_payment"
    if financial in ("VOIDED", "EXPIRED"):
        return "payment_failed"
    if fulfilment == "ON_HOLD":
        return "on_hold"
    if fulfilment in _PROCESSING or fulfilment == "REQUEST_DECLINED":
        return "processing"
    if fulfilment == "PARTIALLY_FULFILLED":
        return "partially_shipped"
    statuses = [
        f.get("displayStatus") for f in node.get("fulfillments") or [] if f.get("status") not in ("CANCELLED", "ERROR")
    ]
    if statuses and all(s in ("DELIVERED", "PICKED_UP") for s in statuses):
        return "delivered"
    if any(s in _PROBLEM for s in statuses):
        return "delivery_problem"
    if "OUT_FOR_DELIVERY" in statuses:
        return "out_for_delivery"
    if "READY_FOR_PICKUP" in statuses:
        return "ready_for_pickup"
    if any(s in ("IN_TRANSIT", "CARRIER_PICKED_UP") for s in statuses):
        return "in_transit"
    return "shipped"


def order_details(node: dict[str, Any]) -> OrderDetails:
    customer = node.get("customer") or {}
    address = node.get("shippingAddress") or {}
    ship_to = ", ".join(p for p in (address.get("city"), address.get("countryCodeV2")) if p) or None
    shipments = [
        Shipment(
            name=f["name"],
            status=f["status"],
            delivery_status=f.get("displayStatus"),
            tracking=_tracking(f.get("trackingInfo") or []),
            shipped_at=f.get("createdAt"),
            in_transit_at=f.get("inTransitAt"),
            delivered_at=f.get("deliveredAt"),
            estimated_delivery_at=f.get("estimatedDeliveryAt"),
            items=[
                ShipmentItem(title=_item_title(i.get("lineItem") or {}), quantity=i["quantity"])
                for i in (f.get("fulfillmentLineItems") or {}).get("nodes", [])
            ],
        )
        for f in node.get("fulfillments") or []
    ]
    return OrderDetails(
        order_number=node["name"],
        state=order_state(node),
        created_at=node["createdAt"],
        processed_at=node["processedAt"],
        financial_status=node.get("displayFinancialStatus"),
        fulfillment_status=node["displayFulfillmentStatus"],
        return_status=node.get("returnStatus") or "NO_RETURN",
        cancelled_at=node.get("cancelledAt"),
        cancel_reason=node.get("cancelReason"),
        closed=bool(node.get("closed")),
        customer_name=customer.get("displayName") or address.get("name"),
        locale=node.get("customerLocale"),
        ship_to=ship_to,
        totals=OrderTotals(
            total=money(node["totalPriceSet"]),
            subtotal=optional_money(node.get("subtotalPriceSet")),
            shipping=money(node["totalShippingPriceSet"]),
            tax=optional_money(node.get("totalTaxSet")),
            discounts=optional_money(node.get("totalDiscountsSet")),
            refunded=money(node["totalRefundedSet"]),
        ),
        items=[
            LineItem(
                title=i["title"],
                variant=i.get("variantTitle"),
                sku=i.get("sku"),
                quantity=i["quantity"],
                current_quantity=i["currentQuantity"],
                unfulfilled_quantity=i["unfulfilledQuantity"],
                unit_price=money(i["originalUnitPriceSet"]),
            )
            for i in node["lineItems"]["nodes"]
        ],
        shipments=shipments,
        refunds=[
            RefundInfo(created_at=r.get("createdAt"), amount=money(r["totalRefundedSet"]), note=r.get("note") or None)
            for r in node.get("refunds") or []
        ],
        returns=[
            ReturnInfo(name=r["name"], status=r["status"], created_at=r["createdAt"], closed_at=r.get("closedAt"))
            for r in (node.get("returns") or {}).get("nodes", [])
        ],
        status_page_url=node["statusPageUrl"],
    )


def _item_title(item: dict[str, Any]) -> str:
    title = str(item.get("title") or "item")
    variant = item.get("variantTitle")
    return f"{title} ({variant})" if variant and variant != "Default Title" else title


class OrderLookup:
    """`lookup_order` and `list_customer_orders`. With `verify_email` off (merchant mode) the email is optional."""

    def __init__(self, client: AdminClient, *, verify_email: bool = True) -> None:
        self._client = client
        self._verify = verify_email

    def _email(self, email: str | None) -> str | None:
        if email is None or not email.strip():
            if self._verify:
                raise InvalidInputError(
                    "customer_email is required: orders are only shown to the email that owns them."
                )
            return None
        return normalise_customer_email(email)

    def _order_query(self, number: str, email: str | None) -> str:
        """`name:"#1001" AND email:"maria@example.com"` when ownership is verified; by name only in merchant mode."""
        by_name = f"name:{search_value(number)}"
        if not self._verify or email is None:
            return by_name
        return f"{by_name} AND {email_filter(email)}"

    async def lookup(self, order_number: str | int, customer_email: str | None) -> OrderDetails:
        """One order by number, shown only to an owner. With ownership verified, Shopify is asked for the number
        and the email together, so "not yours" and "does not exist" are the same one request and the same
        `NotFoundError`; the owner of whatever comes back is checked again in code. Shopify's `email:` filter reads
        the order's contact email, so that is the address that owns an order here."""
        number = normalise_order_number(order_number)
        email = self._email(customer_email)
        data = await self._client.execute("OrderByName", {"query": self._order_query(number, email)})
        for node in data["orders"]["nodes"]:
            if str(node.get("name", "")).casefold() != number.casefold():
                continue
            if email is None or owned_by(node, email):
                return order_details(await complete_order(self._client, node))
        raise NotFoundError(NOT_FOUND.format(number=number))

    async def list_for_customer(self, customer_email: str, limit: int = 5) -> CustomerOrders:
        """The newest orders placed with `customer_email` (searched by email, each result's owner checked in code)."""
        email = normalise_customer_email(customer_email)
        if not 1 <= limit <= 10:
            raise InvalidInputError("limit must be between 1 and 10.")
        nodes = await self._newest_orders(email_filter(email), limit)
        orders = [
            OrderSummary(
                order_number=node["name"],
                state=order_state(node),
                processed_at=node["processedAt"],
                financial_status=node.get("displayFinancialStatus"),
                fulfillment_status=node["displayFulfillmentStatus"],
                total=money(node["totalPriceSet"]),
                items=[f"{i['quantity']} x {_item_title(i)}" for i in node["lineItems"]["nodes"]],
                tracking=[t for f in node.get("fulfillments") or [] for t in _tracking(f.get("trackingInfo") or [])],
                status_page_url=node["statusPageUrl"],
            )
            for node in nodes
            if owned_by(node, email)
        ]
        return CustomerOrders(customer_email=email, orders=orders)

    async def _newest_orders(self, query: str, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` orders matching `query`: first the newest one and the count, then exactly the rest, so
        Shopify never reserves the cost of orders that are not there (one request for a one-order customer)."""
        variables: dict[str, Any] = {"query": query, "first": 1, "after": None, "withCount": limit > 1}
        data = await self._client.execute("OrdersByEmail", variables)
        nodes: list[dict[str, Any]] = list(data["orders"]["nodes"])
        page = data["orders"]["pageInfo"]
        count = int((data.get("ordersCount") or {}).get("count") or 0)
        while page.get("hasNextPage") and len(nodes) < limit:
            first = max(1, min(limit, count) - len(nodes))
            variables = {"query": query, "first": first, "after": page.get("endCursor"), "withCount": False}
            data = await self._client.execute("OrdersByEmail", variables)
            nodes += data["orders"]["nodes"]
            page = data["orders"]["pageInfo"]
        return nodes[:limit]
