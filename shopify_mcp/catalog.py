"""Product lookups: per-variant stock (optionally per location), prices, availability and product facts."""

from __future__ import annotations

import json
import re
from typing import Any

from shopify_mcp.client import AdminClient
from shopify_mcp.errors import InvalidInputError, NotFoundError
from shopify_mcp.inputs import normalise_handle, search_text, search_value
from shopify_mcp.orders import money
from support_core.store import LocationStock, Money, Product, ProductSearch, StockStatus, Variant

LOW_STOCK = 5
SEARCH_VARIANTS = 20
VARIANTS = 40
"""Variants per product in search results and in get_product; both keep a query under Shopify's 1,000-point cap."""
FIRST_VARIANTS = 4
FIRST_VARIANTS_WITH_LOCATIONS = 1
"""Variants in get_product's first answer (with the count of all); `ProductVariants` then asks for exactly the rest,
so Shopify's up-front charge stays within twice what the product returns (a variant with its stock per location
reserves 20 points)."""
_SKU_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9._/-]{2,63}$")
"""A single token with a digit (e.g. AUR-LEG-BLK-M) is tried as a SKU first, then as words."""


def _stock_status(available: bool, tracked: bool, stock: int, policy: str) -> StockStatus:
    if not tracked:
        return "not_tracked"
    if stock > 0:
        return "low_stock" if stock <= LOW_STOCK else "in_stock"
    if available and policy == "CONTINUE":
        return "backorder"
    return "sold_out" if not available else "unavailable"


def _variant(node: dict[str, Any], currency: str, with_locations: bool) -> Variant:
    item = node.get("inventoryItem") or {}
    tracked = bool(item.get("tracked"))
    stock = int(node.get("inventoryQuantity") or 0)
    available = bool(node["availableForSale"])
    locations = None
    if with_locations and tracked:
        locations = [
            LocationStock(
                location=level["location"]["name"],
                available=sum(q["quantity"] for q in level["quantities"] if q["name"] == "available"),
            )
            for level in (item.get("inventoryLevels") or {}).get("nodes", [])
        ]
    compare = node.get("compareAtPrice")
    return Variant(
        id=node["id"],
        title=node["title"],
        sku=node.get("sku") or None,
        options={o["name"]: o["value"] for o in node.get("selectedOptions") or []},
        price=Money(amount=str(node["price"]), currency=currency),
        compare_at_price=Money(amount=str(compare), currency=currency) if compare else None,
        available=available or not tracked,
        stock=stock if tracked else None,
        stock_status=_stock_status(available or not tracked, tracked, stock, node.get("inventoryPolicy", "DENY")),
        locations=locations,
    )


def _metafield_text(metafield: dict[str, Any]) -> str:
    """A metafield as text; list types (JSON arrays) become comma-separated values."""
    value = str(metafield.get("value") or "")
    if str(metafield.get("type", "")).startswith("list."):
        try:
            items = json.loads(value)
        except ValueError:
            return value
        if isinstance(items, list):
            return ", ".join(str(item) for item in items)
    return value


def product_model(node: dict[str, Any], metafield_keys: tuple[str, ...], with_locations: bool) -> Product:
    price_min = money(node["priceRangeV2"]["minVariantPrice"])
    variants = [_variant(v, price_min.currency, with_locations) for v in node["variants"]["nodes"]]
    wanted = set(metafield_keys)
    details = {m["key"]: _metafield_text(m) for m in node["metafields"]["nodes"] if m["key"] in wanted}
    tracked = bool(node.get("tracksInventory"))
    return Product(
        id=node["id"],
        title=node["title"],
        handle=node["handle"],
        url=node.get("onlineStoreUrl"),
        status=node["status"],
        vendor=node.get("vendor") or "",
        product_type=node.get("productType") or "",
        tags=list(node.get("tags") or []),
        description=node.get("description") or "",
        price_min=price_min,
        price_max=money(node["priceRangeV2"]["maxVariantPrice"]),
        available=any(v.available for v in variants),
        total_stock=int(node.get("totalInventory") or 0) if tracked else None,
        details=details,
        variants=variants,
        more_variants=bool((node["variants"].get("pageInfo") or {}).get("hasNextPage")),
    )


class Catalog:
    """`search_products` and `get_product`. Only `custom.*` metafields in `metafield_keys` are ever returned."""

    def __init__(self, client: AdminClient, *, metafield_keys: tuple[str, ...]) -> None:
        self._client = client
        self._keys = metafield_keys
        self._facts: dict[str, Any] = {
            "keys": [f"custom.{key}" for key in metafield_keys],
            "facts": len(metafield_keys),
        }

    async def search(self, query: str, limit: int = 5, include_drafts: bool = False) -> ProductSearch:
        if not 1 <= limit <= 10:
            raise InvalidInputError("limit must be between 1 and 10.")
        status = "" if include_drafts else " status:active"
        searches = [f"{search_text(query)}{status}"]
        if _SKU_LIKE.match(query.strip()):
            searches.insert(0, f"sku:{search_value(query.strip())}{status}")
        nodes: list[dict[str, Any]] = []
        for terms in searches:
            variables = {"query": terms, "first": limit, "withLocations": False, "variants": SEARCH_VARIANTS}
            variables |= self._facts
            nodes = (await self._client.execute("ProductsSearch", variables))["products"]["nodes"]
            if nodes:
                break
        return ProductSearch(query=query, products=[product_model(n, self._keys, False) for n in nodes])

    async def get(
        self, handle: str | None = None, product_id: str | None = None, include_locations: bool = False
    ) -> Product:
        if bool(handle) == bool(product_id):
            raise InvalidInputError("Give exactly one of handle (e.g. 'merino-running-tee') or product_id.")
        first = FIRST_VARIANTS_WITH_LOCATIONS if include_locations else FIRST_VARIANTS
        common = {"withLocations": include_locations, "variants": first, **self._facts}
        if handle:
            variables = {"handle": normalise_handle(handle), **common}
            node = (await self._client.execute("ProductByHandle", variables)).get("productByIdentifier")
        else:
            gid = str(product_id).strip()
            if gid.isdigit():
                gid = f"gid://shopify/Product/{gid}"
            if not gid.startswith("gid://shopify/Product/"):
                raise InvalidInputError("product_id must be 'gid://shopify/Product/123' or just 123.")
            node = (await self._client.execute("ProductById", {"id": gid, **common})).get("product")
        if not node:
            raise NotFoundError("No product with that handle or id. Use search_products to find the right one.")
        await self._rest_of_variants(node, include_locations)
        return product_model(node, self._keys, include_locations)

    async def _rest_of_variants(self, node: dict[str, Any], include_locations: bool) -> None:
        """Up to `VARIANTS` variants in all, each page exactly as big as the count says is left."""
        variants = node["variants"]
        total = min(VARIANTS, int((node.get("variantsCount") or {}).get("count") or VARIANTS))
        while variants["pageInfo"].get("hasNextPage") and len(variants["nodes"]) < VARIANTS:
            first = max(1, total - len(variants["nodes"]))
            after = variants["pageInfo"].get("endCursor")
            locations = include_locations and bool(node.get("tracksInventory"))  # untracked: no stock anywhere
            variables = {"id": node["id"], "after": after, "variants": first, "withLocations": locations}
            page = ((await self._client.execute("ProductVariants", variables)).get("product") or {}).get("variants")
            if not page:
                break
            variants["nodes"] = [*variants["nodes"], *page["nodes"]]
            variants["pageInfo"] = page["pageInfo"]
