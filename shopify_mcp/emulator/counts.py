"""The `...Count` root fields: how many records a search would find, as a `Count` (capped at `limit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from shopify_mcp.emulator.access import RequestContext
from shopify_mcp.emulator.filters import discount_filter, order_filter

if TYPE_CHECKING:
    from typing import TypeAlias

    Info: TypeAlias = GraphQLResolveInfo[Any]


def count(found: int, limit: int | None) -> dict[str, Any]:
    """Shopify's `Count`: EXACT, or AT_LEAST `limit` when the search found more."""
    if limit is not None and found > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": found, "precision": "EXACT"}


def _ctx(info: Info) -> RequestContext:
    context = info.context
    assert isinstance(context, RequestContext)
    return context


def root_orders_count(_: Any, info: Info, query: str | None = None, limit: int | None = 10000, **__: Any) -> Any:
    ctx = _ctx(info)
    search = order_filter(query)
    return count(sum(1 for order in ctx.store.orders if ctx.visible(order) and search(order)), limit)


def root_discount_nodes_count(
    _: Any, info: Info, query: str | None = None, limit: int | None = 10000, **__: Any
) -> Any:
    search = discount_filter(query)
    return count(sum(1 for discount in _ctx(info).store.discounts if search(discount)), limit)
