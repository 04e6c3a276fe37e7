"""Product lookups: per-variant stock (optionally per location), prices, availability and product facts."""

from __future__ import annotations

import json
import re
from typing import Any

from shopify_mcp.client import AdminClient
from shopify_mcp.errors import InvalidInputError, NotFoundError
from shopify_mcp.inputs import normalise_handle, search_text, search_value
from shopify_mcp.orders import money
from shopify_mcp.queries import SEARCH_SLOTS
from support_core.store import LocationStock, Money, Product, ProductSearch, StockStatus, Variant

LOW_STOCK = 5
SEARCH_VARIANTS = 20
VARIANTS = 40
"""Variants per product in search results and in get_product; both keep a query under Shopify's 1,000-point cap."""
HEAD_VARIANTS = 1
"""Variants of the first product in a search's first answer (`ProductsSearch`), beside the id and variant count of
every product found; `ProductsFound` then fetches the rest, each exactly. One keeps the first answer within twice its
cost whatever the product: 32 points reserved for a limit of 5, at least 18 used when a single product is found (a
limit of 10 reserves 42: a lone product with fewer than 3 of the 6 facts uses less than half, e.g. 18)."""
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
            nodes = await self._search(terms, limit)
            if nodes:
                break
        return ProductSearch(query=query, products=[product_model(n, self._keys, False) for n in nodes])

    async def _search(self, terms: str, limit: int) -> list[dict[str, Any]]:
        """The products a search finds, each with up to `SEARCH_VARIANTS` variants, in at most two requests: the
        first product in full with the ids and variant counts of all, then the others (and the first one's remaining
        variants), each asked for with exactly its number of variants."""
        variables = {"query": terms, "first": limit, "withLocations": False, "variants": HEAD_VARIANTS, **self._facts}
        data = await self._client.execute("ProductsSearch", variables)
        head: list[dict[str, Any]] = data["head"]["nodes"]
        found: list[dict[str, Any]] = data["products"]["nodes"]
        nodes = {node["id"]: node for node in head}
        others = [node for node in found if node["id"] not in nodes][:SEARCH_SLOTS]
        rest = _rest_of_head(head[0]) if head else None
        if not others and rest is None:
            return head
        follow_up = _follow_up(str((head or found)[0]["id"]), others, rest) | self._facts
        answer = await self._client.execute("ProductsFound", follow_up)
        page = (answer.get("rest") or {}).get("variants")
        if rest is not None and page:
            variants = head[0]["variants"]
            variants["nodes"] = [*variants["nodes"], *page["nodes"]]
            variants["pageInfo"] = page["pageInfo"]
        for slot, node in enumerate(others, start=1):
            if answer.get(f"p{slot}"):
                nodes[node["id"]] = answer[f"p{slot}"]
        return [nodes[node["id"]] for node in found if node["id"] in nodes] or head

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
        total = _variant_count(node, VARIANTS)
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


def _variant_count(node: dict[str, Any], most: int) -> int:
    """The product's number of variants (`variantsCount`), at most `most` (`most` when the count is missing; every
    product has at least one variant)."""
    return min(most, int((node.get("variantsCount") or {}).get("count") or most))


def _rest_of_head(node: dict[str, Any]) -> dict[str, Any] | None:
    """`ProductsFound` variables for the variants after the first page of a search's first product, if it has more
    (up to `SEARCH_VARIANTS` in all)."""
    variants = node["variants"]
    if not variants["pageInfo"].get("hasNextPage") or len(variants["nodes"]) >= SEARCH_VARIANTS:
        return None
    left = max(1, _variant_count(node, SEARCH_VARIANTS) - len(variants["nodes"]))
    return {"withRest": True, "after": variants["pageInfo"].get("endCursor"), "rest": left}


def _follow_up(head: str, others: list[dict[str, Any]], rest: dict[str, Any] | None) -> dict[str, Any]:
    """`ProductsFound` variables: slot i holds the i-th other product with exactly its number of variants; the
    unused slots repeat the head's id (skipped by `@include`, but the document declares every slot's id)."""
    variables: dict[str, Any] = {"head": head, **(rest or {})}
    for slot in range(1, SEARCH_SLOTS + 1):
        variables[f"id{slot}"] = head
    for slot, node in enumerate(others, start=1):
        count = _variant_count(node, SEARCH_VARIANTS)
        variables |= {f"id{slot}": node["id"], f"variants{slot}": count, f"with{slot}": True}
    return variables
