"""Customer profiles (VIP flag, lifetime spend, orders, RFM group), shown only to the customer's own email."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from shopify_mcp.client import AdminClient
from shopify_mcp.errors import NotFoundError
from shopify_mcp.inputs import normalise_customer_email
from shopify_mcp.orders import money
from support_core.addresses import same_address
from support_core.store import CustomerProfile, OrderRef

NOT_FOUND = "No customer account was found for this email address (guest checkouts may have no profile)."


def _order_ref(node: dict[str, Any] | None) -> OrderRef | None:
    if not node:
        return None
    return OrderRef(order_number=node["name"], processed_at=node["processedAt"])


class CustomerLookup:
    """`get_customer_profile`: VIP when tagged with one of `vip_tags` or lifetime spend >= `vip_min_spend`."""

    def __init__(self, client: AdminClient, *, vip_tags: tuple[str, ...], vip_min_spend: float) -> None:
        self._client = client
        self._vip_tags = {t.casefold() for t in vip_tags}
        self._vip_min_spend = Decimal(str(vip_min_spend))

    async def profile(self, customer_email: str) -> CustomerProfile:
        """The profile of the customer whose default address is `customer_email` (`support_core` normal form)."""
        email = normalise_customer_email(customer_email)
        data = await self._client.execute("CustomerProfile", {"email": email})
        node = data.get("customerByIdentifier")
        owner = ((node or {}).get("defaultEmailAddress") or {}).get("emailAddress")
        if not node or not same_address(owner, email):
            raise NotFoundError(NOT_FOUND)
        spend = money(node["amountSpent"])
        reasons = [f"tagged {tag}" for tag in node.get("tags") or [] if tag.casefold() in self._vip_tags]
        try:
            if self._vip_min_spend > 0 and Decimal(spend.amount) >= self._vip_min_spend:
                reasons.append(f"lifetime spend {spend} reaches {self._vip_min_spend}")
        except InvalidOperation:
            pass
        first_orders = (node.get("firstOrders") or {}).get("nodes") or []
        return CustomerProfile(
            name=node["displayName"],
            email=email,
            vip=bool(reasons),
            vip_reasons=reasons,
            lifetime_spend=spend,
            order_count=int(node["numberOfOrders"]),
            tags=list(node.get("tags") or []),
            customer_since=node["createdAt"],
            first_order=_order_ref(first_orders[0] if first_orders else None),
            last_order=_order_ref(node.get("lastOrder")),
            rfm_group=(node.get("statistics") or {}).get("rfmGroup"),
            predicted_spend_tier=(node.get("statistics") or {}).get("predictedSpendTier"),
            locale=node.get("locale") or "en",
            account_state=node.get("state") or "DISABLED",
        )
