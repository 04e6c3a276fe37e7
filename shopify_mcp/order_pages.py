"""Completing an order bigger than `OrderByName`'s first answer: `OrderPage` follow-ups, each sized to what is left.

The first answer asks for a few line items (most orders have fewer), so Shopify's up-front charge stays close to
what it returns. When a page says `hasNextPage`, the rest comes from follow-ups: the next line items after the
cursor (as many as the order's item quantities say can be left), every shipment's items whole (a shipment holds at
most its `totalQuantity` line items) and the returns. An order with 60 line items is shown with all 60.
"""

from __future__ import annotations

from typing import Any

from shopify_mcp.client import AdminClient

MAX_LINES = 150
MAX_SHIPPED = 150
MAX_RETURNS = 100
"""Largest pages of a follow-up (3, 2 and 1 points an item): together 859 points, under Shopify's 1,000 a query."""
MAX_FOLLOW_UPS = 70
"""Enough for 10,000 line items; a guard against a server that keeps saying `hasNextPage`."""
RETURNS_PAGE = 10
UNKNOWN_LEFT = 25
"""Next line item page when the quantities give no bound (items outside the subtotal, such as tips)."""


def _more(connection: dict[str, Any] | None) -> bool:
    return bool(((connection or {}).get("pageInfo") or {}).get("hasNextPage"))


def _lines_left(node: dict[str, Any]) -> int:
    """How many line items can be left: each has a quantity of at least 1, so no more than the quantities left."""
    lines = node["lineItems"]["nodes"]
    left = int(node.get("subtotalLineItemsQuantity") or 0) - sum(int(i.get("quantity") or 0) for i in lines)
    return min(MAX_LINES, left) if left > 0 else UNKNOWN_LEFT


class _Sizes:
    """Page sizes for the whole-connection re-reads (shipments, returns): a first guess, then the largest page, then
    stop (a shipment still short after 150 items is left as it is)."""

    def __init__(self, first: int, largest: int) -> None:
        self.largest = largest
        self.next: int | None = min(first, largest)

    def take(self) -> int:
        size = self.next or 0
        self.next = self.largest if size < self.largest else None
        return size


async def complete_order(client: AdminClient, node: dict[str, Any]) -> dict[str, Any]:
    """`node` (an `OrderFields` answer) with every line item, every shipment's items and every return."""
    lines = node["lineItems"]
    shipments = [f for f in node.get("fulfillments") or [] if _more(f.get("fulfillmentLineItems"))]
    shipped = _Sizes(max((int(f.get("totalQuantity") or 0) for f in shipments), default=0) or MAX_SHIPPED, MAX_SHIPPED)
    returns = _Sizes(RETURNS_PAGE, MAX_RETURNS)
    for _ in range(MAX_FOLLOW_UPS):
        want_lines = _more(lines)
        shipments = [f for f in shipments if _more(f.get("fulfillmentLineItems"))] if shipped.next else []
        want_returns = _more(node.get("returns")) and returns.next is not None
        if not (want_lines or shipments or want_returns):
            break
        variables = {
            "id": node["id"],
            "after": lines["pageInfo"].get("endCursor") if want_lines else None,
            "lines": _lines_left(node) if want_lines else 0,
            "withLines": want_lines,
            "shipped": shipped.take() if shipments else 0,
            "withShipped": bool(shipments),
            "returns": returns.take() if want_returns else 0,
            "withReturns": want_returns,
        }
        page = (await client.execute("OrderPage", variables)).get("order")
        if not page:  # the order went away between the two requests: show what the first answer had
            break
        if want_lines:
            lines["nodes"] = [*lines["nodes"], *page["lineItems"]["nodes"]]
            lines["pageInfo"] = page["lineItems"]["pageInfo"]
        if shipments:
            whole = {f["id"]: f["fulfillmentLineItems"] for f in page.get("fulfillments") or []}
            for shipment in shipments:
                shipment["fulfillmentLineItems"] = whole.get(shipment["id"], shipment["fulfillmentLineItems"])
        if want_returns:
            node["returns"] = page["returns"]
    return node
