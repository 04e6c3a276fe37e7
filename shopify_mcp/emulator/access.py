"""Access scopes: the scope each field needs, Shopify's ACCESS_DENIED error, and the 60-day window on orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError

from shopify_mcp.emulator.records import Order
from shopify_mcp.emulator.store import Store

OLD_ORDER_DAYS = 60
"""Without `read_all_orders`, orders created longer ago than this are absent from every answer."""
ACCESS_SCOPES_DOC = "https://shopify.dev/api/usage/access-scopes"

FIELD_SCOPES: dict[tuple[str, str], str] = {
    ("QueryRoot", "orders"): "read_orders",
    ("QueryRoot", "order"): "read_orders",
    ("QueryRoot", "ordersCount"): "read_orders",
    ("QueryRoot", "customerByIdentifier"): "read_customers",
    ("QueryRoot", "products"): "read_products",
    ("QueryRoot", "product"): "read_products",
    ("QueryRoot", "productByIdentifier"): "read_products",
    ("QueryRoot", "codeDiscountNodeByCode"): "read_discounts",
    ("QueryRoot", "discountNodes"): "read_discounts",
    ("QueryRoot", "discountNodesCount"): "read_discounts",
    ("QueryRoot", "shopLocales"): "read_locales",
    ("Shop", "shopPolicies"): "read_legal_policies",
    ("ShopPolicy", "translations"): "read_translations",
    ("Order", "customer"): "read_customers",
    ("Customer", "orders"): "read_orders",
    ("Customer", "lastOrder"): "read_orders",
    ("LineItem", "variant"): "read_products",
    ("LineItem", "product"): "read_products",
    ("InventoryItem", "inventoryLevels"): "read_inventory",
    ("InventoryLevel", "location"): "read_locations",
}
"""The access scope each field needs; without it the field is null and an ACCESS_DENIED error names the scope."""

SCOPE_DESCRIPTIONS = {
    "read_orders": "Read orders, transactions and fulfillments",
    "read_all_orders": "Read all orders, not only the last 60 days",
    "read_customers": "Read customers",
    "read_products": "Read products, variants and collections",
    "read_inventory": "Read inventory",
    "read_locations": "Read locations",
    "read_discounts": "Read discounts",
    "read_legal_policies": "Read legal policies",
    "read_locales": "Read available locales for a shop",
    "read_translations": "Read translations",
}


@dataclass
class RequestContext:
    """What resolvers of one request share: the store, the token's scopes, and `extensions.search` entries."""

    store: Store
    scopes: frozenset[str]
    search: list[dict[str, Any]] = field(default_factory=list)

    def visible(self, order: Order) -> bool:
        if "read_all_orders" in self.scopes:
            return True
        return order.created_at >= self.store.now - dt.timedelta(days=OLD_ORDER_DAYS)


def access_denied(field_name: str, scope: str) -> GraphQLError:
    """Shopify's wording, which clients parse for the scope name."""
    required = f"`{scope}` access scope."
    return GraphQLError(
        f"Access denied for {field_name} field. Required access: {required}",
        extensions={"code": "ACCESS_DENIED", "documentation": ACCESS_SCOPES_DOC, "requiredAccess": required},
    )
