"""Store policies (refund, shipping, privacy, terms, ...) as plain text, cached for a few minutes."""

from __future__ import annotations

from shopify_mcp.cache import TtlCache
from shopify_mcp.client import AdminClient
from shopify_mcp.errors import InvalidInputError, NotFoundError
from support_core.html_text import html_to_text
from support_core.store import Policies, Policy

POLICY_TYPES = (
    "REFUND_POLICY",
    "SHIPPING_POLICY",
    "PRIVACY_POLICY",
    "TERMS_OF_SERVICE",
    "TERMS_OF_SALE",
    "LEGAL_NOTICE",
    "SUBSCRIPTION_POLICY",
    "CONTACT_INFORMATION",
)
_ALIASES = {
    "refund": "REFUND_POLICY",
    "refunds": "REFUND_POLICY",
    "return": "REFUND_POLICY",
    "returns": "REFUND_POLICY",
    "shipping": "SHIPPING_POLICY",
    "delivery": "SHIPPING_POLICY",
    "privacy": "PRIVACY_POLICY",
    "terms": "TERMS_OF_SERVICE",
    "tos": "TERMS_OF_SERVICE",
    "sale": "TERMS_OF_SALE",
    "legal": "LEGAL_NOTICE",
    "subscription": "SUBSCRIPTION_POLICY",
    "contact": "CONTACT_INFORMATION",
}


def policy_type(value: str) -> str:
    """'refund', 'refund-policy', 'REFUND_POLICY' -> 'REFUND_POLICY'."""
    key = value.strip().upper().replace("-", "_").replace(" ", "_")
    if key in POLICY_TYPES:
        return key
    alias = _ALIASES.get(key.lower().removesuffix("_policy"))
    if alias is None:
        names = ", ".join(sorted(_ALIASES))
        raise InvalidInputError(f"Unknown policy {value!r}. Use one of: {names} (or a type such as REFUND_POLICY).")
    return alias


class PolicyLookup:
    def __init__(self, client: AdminClient, *, cache_ttl: float) -> None:
        self._client = client
        self._cache: TtlCache[Policies] = TtlCache(cache_ttl)

    async def all(self) -> Policies:
        return await self._cache.get("policies", self._fetch)

    async def get(self, kind: str | None = None) -> Policies:
        policies = await self.all()
        if not kind:
            return policies
        wanted = policy_type(kind)
        chosen = [p for p in policies.policies if p.type == wanted]
        if not chosen:
            raise NotFoundError(f"The store has not published a {wanted.replace('_', ' ').lower()}.")
        return Policies(shop_name=policies.shop_name, policies=chosen)

    async def _fetch(self) -> Policies:
        shop = (await self._client.execute("ShopPolicies"))["shop"]
        return Policies(
            shop_name=shop["name"],
            policies=[
                Policy(type=p["type"], title=p["title"], url=p["url"], text=html_to_text(p["body"]))
                for p in shop["shopPolicies"]
                if p.get("body")
            ],
        )
