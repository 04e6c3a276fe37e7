"""Products to suggest instead of one a customer cannot buy: the same kind of product, in stock, for the same people,
and like it in what the merchant tagged it with or what the customer asked for. Never anything merely related."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from orchestrator.questions import Question, words_of
from support_core.store import Product, ProductSearch

MAX_RECOMMENDATIONS = 2
AUDIENCE_TAGS = frozenset({"men", "women", "mens", "womens", "kids", "girls", "boys", "maternity"})
"""Tags that say who a product is for: a suggestion never crosses them ('unisex' fits everyone)."""
NEUTRAL_TAGS = frozenset({"bestseller", "sale", "new", "eco", "gift", "discontinued", "coming-soon"})
"""Merchandising tags that say nothing about what a product is."""

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]


def _audience(product: Product) -> set[str]:
    return {tag.lower() for tag in product.tags} & AUDIENCE_TAGS


def _fits(candidate: Product, wanted: Product, question: Question) -> int:
    """How alike `candidate` is to `wanted` for this customer (0: not a suggestion): same product type, not for other
    people, every descriptive tag of it shared with `wanted` or asked for, and something in common."""
    if candidate.product_type.lower() != wanted.product_type.lower() or not candidate.product_type:
        return 0
    theirs, ours = _audience(candidate), _audience(wanted)
    if theirs and ours and "unisex" not in {t.lower() for t in candidate.tags} and not theirs & ours:
        return 0
    tags = {tag.lower() for tag in candidate.tags} - AUDIENCE_TAGS - NEUTRAL_TAGS - {"unisex"}
    shared = tags & {tag.lower() for tag in wanted.tags}
    asked = tags & question.words
    if tags - shared - asked:  # the maternity tights are not 'like' the leggings someone asked about
        return 0
    title = set(words_of(candidate.title)) & question.words
    return len(shared) + len(asked) + len(title)


async def recommend(call: Call, wanted: list[Product], question: Question) -> list[Product]:
    """In-stock products like the ones in `wanted` (which the customer cannot buy), best first; none when nothing
    fits precisely. `call` is the agent's tool call (the category's allow-list applies)."""
    found: dict[str, Product] = {}
    for kind in dict.fromkeys(p.product_type for p in wanted if p.product_type):
        result = await call("search_products", {"query": kind[:200], "limit": 10})
        for product in ProductSearch.model_validate(result).products if result else []:
            found.setdefault(product.handle, product)
    handles = {p.handle for p in wanted}
    scored = []
    for candidate in found.values():
        if candidate.handle in handles or candidate.status != "ACTIVE" or not candidate.url or not candidate.available:
            continue
        score = max(_fits(candidate, product, question) for product in wanted)
        if score > 0:
            scored.append((score, candidate))
    scored.sort(key=lambda item: -item[0])
    return [product for _, product in scored[:MAX_RECOMMENDATIONS]]
