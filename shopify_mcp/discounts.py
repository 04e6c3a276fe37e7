"""Discount codes and promotions: check one code, or list what may be shared (never the full code list)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shopify_mcp.cache import TtlCache
from shopify_mcp.client import AdminClient
from shopify_mcp.inputs import normalise_code
from shopify_mcp.orders import money
from support_core.store import DiscountCheck, DiscountInfo, DiscountKind, Money, Promotion, Promotions

MAX_PROMOTIONS = 50
"""Active discounts read for list_promotions (automatic ones and public codes are picked from these)."""
_KINDS: dict[str, DiscountKind] = {
    "DiscountCodeFreeShipping": "free_shipping",
    "DiscountAutomaticFreeShipping": "free_shipping",
    "DiscountCodeBxgy": "buy_x_get_y",
    "DiscountAutomaticBxgy": "buy_x_get_y",
    "DiscountCodeApp": "app",
    "DiscountAutomaticApp": "app",
}


def discount_info(node: dict[str, Any]) -> dict[str, Any]:
    """The fields of `DiscountInfo` from any discount type (percentage / amount / free shipping / BXGY / app)."""
    kind = _KINDS.get(node.get("__typename", ""), "percentage")
    value = (node.get("customerGets") or {}).get("value") or {}
    free_items: int | None = None
    if value.get("__typename") == "DiscountOnQuantity":  # buy X get Y: the effect applies to Y items
        free_items = int((value.get("quantity") or {}).get("quantity") or 0) or None
        value = value.get("effect") or {}
    percentage: float | None = None
    amount: Money | None = None
    if value.get("__typename") == "DiscountPercentage":
        percentage = round(float(value["percentage"]) * 100, 2)
    elif value.get("__typename") == "DiscountAmount":
        amount = money(value["amount"])
        if kind == "percentage":
            kind = "fixed_amount"
    minimum = node.get("minimumRequirement") or {}
    subtotal = minimum.get("greaterThanOrEqualToSubtotal")
    quantity = minimum.get("greaterThanOrEqualToQuantity")
    return {
        "title": node.get("title") or "",
        "kind": kind,
        "status": node.get("status") or "ACTIVE",
        "summary": node.get("summary"),
        "percentage": percentage,
        "amount": amount,
        "starts_at": node.get("startsAt"),
        "ends_at": node.get("endsAt"),
        "minimum_subtotal": money(subtotal) if subtotal else None,
        "minimum_quantity": int(quantity) if quantity is not None else None,
        "get_quantity": free_items,
    }


def _reason(node: dict[str, Any], now: datetime) -> tuple[bool, str]:
    status = node.get("status")
    limit, used = node.get("usageLimit"), node.get("asyncUsageCount") or 0
    if status == "SCHEDULED":
        return False, f"The code is not active yet: it starts on {str(node.get('startsAt', ''))[:10]}."
    if status == "EXPIRED":
        if limit is not None and used >= limit:
            return False, "The code has reached its usage limit and can no longer be used."
        return False, f"The code expired on {str(node.get('endsAt') or '')[:10] or 'an earlier date'}."
    if limit is not None and used >= limit:
        return False, "The code has reached its usage limit and can no longer be used."
    ends = node.get("endsAt")
    if ends and datetime.fromisoformat(str(ends).replace("Z", "+00:00")) <= now:
        return False, "The code has just expired."
    conditions = []
    minimum = node.get("minimumRequirement") or {}
    if minimum.get("greaterThanOrEqualToSubtotal"):
        conditions.append(f"a minimum purchase of {money(minimum['greaterThanOrEqualToSubtotal'])}")
    if minimum.get("greaterThanOrEqualToQuantity") is not None:
        conditions.append(f"at least {minimum['greaterThanOrEqualToQuantity']} items")
    if node.get("appliesOncePerCustomer"):
        conditions.append("one use per customer")
    suffix = f" Conditions: {', '.join(conditions)}." if conditions else ""
    return True, f"The code is active and can be used now.{suffix}"


class DiscountLookup:
    """`check_discount_code` (one code, never cached) and `list_promotions` (cached for `cache_ttl` seconds)."""

    def __init__(self, client: AdminClient, *, public_tag: str, cache_ttl: float) -> None:
        self._client = client
        self._public_tag = public_tag.casefold()
        self._cache: TtlCache[Promotions] = TtlCache(cache_ttl)

    async def check(self, code: str, now: datetime | None = None) -> DiscountCheck:
        wanted = normalise_code(code)
        data = await self._client.execute("DiscountByCode", {"code": wanted})
        node = (data.get("codeDiscountNodeByCode") or {}).get("codeDiscount")
        if not node:
            return DiscountCheck(
                code=wanted,
                exists=False,
                usable_now=False,
                reason="No discount with this code exists. Check the spelling (codes are not case-sensitive).",
            )
        usable, reason = _reason(node, now or datetime.now(UTC))
        limit = node.get("usageLimit")
        return DiscountCheck(
            code=wanted,
            exists=True,
            usable_now=usable,
            reason=reason,
            discount=DiscountInfo(**discount_info(node)),
            usage_limit=limit,
            times_used=node.get("asyncUsageCount"),
            once_per_customer=node.get("appliesOncePerCustomer"),
        )

    async def promotions(self) -> Promotions:
        return await self._cache.get("promotions", self._fetch_promotions)

    async def _active_discounts(self) -> list[dict[str, Any]]:
        """Up to `MAX_PROMOTIONS` active discounts: the first one and the count, then exactly the rest, so Shopify
        never reserves the cost of 50 discounts for a shop that runs three."""
        data = await self._client.execute("ActiveDiscounts", {"first": 1, "after": None, "withCount": True})
        nodes: list[dict[str, Any]] = list(data["discountNodes"]["nodes"])
        page = data["discountNodes"]["pageInfo"]
        count = int((data.get("discountNodesCount") or {}).get("count") or 0)
        while page.get("hasNextPage") and len(nodes) < MAX_PROMOTIONS:
            first = max(1, min(MAX_PROMOTIONS, count) - len(nodes))
            variables = {"first": first, "after": page.get("endCursor"), "withCount": False}
            data = await self._client.execute("ActiveDiscounts", variables)
            nodes += data["discountNodes"]["nodes"]
            page = data["discountNodes"]["pageInfo"]
        return nodes[:MAX_PROMOTIONS]

    async def _fetch_promotions(self) -> Promotions:
        automatic: list[Promotion] = []
        public: list[Promotion] = []
        for wrapper in await self._active_discounts():
            node = wrapper["discount"]
            if node.get("__typename", "").startswith("DiscountAutomatic"):
                automatic.append(Promotion(**discount_info(node)))
                continue
            tags = {str(t).casefold() for t in node.get("tags") or []}
            codes = [c["code"] for c in (node.get("codes") or {}).get("nodes", [])]
            if self._public_tag in tags and codes and node.get("status") == "ACTIVE":
                public.append(Promotion(code=codes[0], **discount_info(node)))
        return Promotions(automatic=automatic, public_codes=public)
