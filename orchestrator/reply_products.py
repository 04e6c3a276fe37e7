"""The product part of a reply: each product asked about, the variants asked (or why they do not exist), their stock,
the facts the merchant wrote, size advice, and products in stock like one that cannot be bought."""

from __future__ import annotations

from orchestrator.language import detect_language
from orchestrator.phrasebook import FALLBACK_LANGUAGE, Phrasebook
from orchestrator.reply_facts import Draft, ProductMatch
from orchestrator.reply_sizing import sizing_lines
from support_core.store import Product, Variant

DASH = "\u2013"
MAX_VARIANTS = 8
"""Variants listed for a product when the customer named none."""
DETAIL_KEYS = {"size": ("fit", "size_guide"), "materials": ("materials", "care_instructions", "compression_level")}
"""Product facts (`custom.*` metafields) quoted when the customer asks about sizes or materials."""
RESTOCK_KEYS = ("restock", "restock_date", "back_in_stock")
"""Product facts a merchant may publish about restocking (add them to SHOPIFY_METAFIELD_KEYS to use them)."""
UNAVAILABLE = frozenset({"sold_out", "unavailable", "backorder"})


def quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in text.strip().splitlines()]


def _details_lines(d: Draft, product: Product, keys: list[str]) -> list[str]:
    """Product facts the merchant wrote, announced in the language they are written in."""
    book = d.book
    found = [(key, product.details[key].strip()) for key in keys if product.details.get(key, "").strip()]
    if not found:
        return []
    texts = "\n".join([product.description, *(text for _, text in found)])
    language = detect_language(texts, default=FALLBACK_LANGUAGE)
    title = book.quoted(product.title)
    if language == book.language:
        lines = [book.say("details_intro", title=title)]
    else:
        lines = [book.say("details_intro_foreign", title=title, language=book.word("language_names", language))]
    for key, text in found:
        label = book.word("detail_labels", key)
        if "\n" in text:
            lines += quote(f"{book.say('detail_heading', label=label)}\n{text}")
        else:
            lines += quote(book.say("detail_line", label=label, text=text))
    return lines


def _asked_details(d: Draft, product: Product) -> list[str]:
    return _details_lines(d, product, [key for topic, keys in DETAIL_KEYS.items() if d.asked(topic) for key in keys])


def _stock_line(book: Phrasebook, variant: Variant, name: str | None = None) -> str:
    status = book.word("stock", variant.stock_status)
    if variant.title == "Default Title":
        return book.say("availability", status=status)
    return book.say("stock_line", variant=name or variant.title, status=status)


def _stock_lines(d: Draft, product: Product, match: ProductMatch, named: list[Variant]) -> list[str]:
    """One line per variant asked; when the customer named only some options (a size, no colour), the variants of
    one size that are all in the same state share one line ('- M: in stock'): the colours were not asked."""
    book = d.book
    if not named:
        return [_stock_line(book, v) for v in product.variants[:MAX_VARIANTS]]
    asked = dict(match.asked)
    options = list(named[0].options)
    if len(options) < 2 or set(asked) >= set(options):
        return [_stock_line(book, v) for v in named]
    groups: dict[str, list[Variant]] = {}
    for variant in named:
        groups.setdefault(" / ".join(variant.options[o] for o in options if o in asked), []).append(variant)
    lines = []
    for name, variants in groups.items():
        if len(variants) > 1 and len({v.stock_status for v in variants}) == 1:
            lines.append(_stock_line(book, variants[0], name))
        else:
            lines += [_stock_line(book, v) for v in variants]
    return lines


def _closest(product: Product, match: ProductMatch) -> list[Variant]:
    """The variants that have one of the option values asked (the colour or the size), for a combination that does
    not exist; nothing else."""
    asked = dict(match.asked)
    return [v for v in product.variants if any(v.options.get(o) in values for o, values in asked.items())]


def _restock_lines(d: Draft, product: Product, out: list[Variant]) -> list[str]:
    book = d.book
    lines = []
    for variant in out:
        name = product.title if variant.title == "Default Title" else variant.title
        if variant.stock_status == "backorder":
            lines.append(book.say("backorder", variant=name))
        elif not any(product.details.get(key) for key in RESTOCK_KEYS):
            lines.append(book.say("restock_unknown", variant=name))
            d.note("note_restock")
    restock = [key for key in RESTOCK_KEYS if product.details.get(key)]
    if restock and any(v.stock_status != "backorder" for v in out):
        lines += _details_lines(d, product, restock)
    return lines


def _alternatives(d: Draft, product: Product, named: list[Variant]) -> list[str]:
    """Variants in stock that share a size or colour with the ones asked, when every one asked is out of stock."""
    if not named or not all(v.stock_status in UNAVAILABLE for v in named):
        return []
    values = {value for v in named for value in v.options.values()}
    similar = [
        v.title
        for v in product.variants
        if v not in named and v.stock_status not in UNAVAILABLE and values & set(v.options.values())
    ]
    return [d.book.say("alternatives", variants=", ".join(similar[:MAX_VARIANTS]))] if similar else []


def product_lines(d: Draft, match: ProductMatch) -> list[str]:
    book, product = d.book, match.product
    title = book.quoted(product.title)
    if product.status == "ARCHIVED":  # still the facts the store has about it, if they were asked
        details = _asked_details(d, product)
        return [book.say("product_discontinued", title=title), *(["", *details] if details else [])]
    if product.status != "ACTIVE" or product.url is None:
        d.note("note_product_check")
        return [book.say("product_unavailable", title=title)]
    low, high = book.money(product.price_min), book.money(product.price_max)
    price = low if low == high else f"{low} {DASH} {high}"
    named = [v for v in product.variants if v.id in match.variant_ids]
    if match.asked and not named:  # 'in sage, size L': there is no such variant
        combination = " / ".join(", ".join(values) for _, values in match.asked)
        lines = [book.say("variant_not_offered", title=title, price=price, combination=combination)]
        lines += [_stock_line(book, v) for v in _closest(product, match)[:MAX_VARIANTS]]
    else:
        lines = [book.say("product", title=title, price=price), *_stock_lines(d, product, match, named)]
        if not named and (len(product.variants) > MAX_VARIANTS or product.more_variants):
            lines.append(book.say("more_variants"))
        out = [v for v in named if v.stock_status in UNAVAILABLE]
        if not named and d.asked("restock"):
            out = [v for v in product.variants if v.stock_status in UNAVAILABLE]
        lines += _restock_lines(d, product, out) + _alternatives(d, product, named)
    details = _asked_details(d, product)
    lines += ["", *details] if details else []
    sizing = sizing_lines(d, product) if d.asked("size") else []
    lines += ["", *sizing] if sizing else []
    if d.asked("size") and not sizing:
        d.note("note_size")
    lines.append(book.say("product_link", url=product.url))
    return lines


def unavailable(match: ProductMatch) -> bool:
    """The customer cannot buy what they asked for: the product is not listed, the variant asked does not exist, or
    every variant they name is out of stock."""
    product = match.product
    named = [v for v in product.variants if v.id in match.variant_ids]
    if match.asked and not named:
        return True
    return product.status != "ACTIVE" or all(v.stock_status in UNAVAILABLE for v in named or product.variants)


def products_section(d: Draft) -> list[list[str]]:
    """Every product asked about; products in stock like them when none can be bought and the customer asks for a
    suggestion; and when no product is named, the question which one they mean."""
    facts, book = d.facts, d.book
    if facts.products:
        sections = [product_lines(d, match) for match in facts.products]
        archived = any(match.product.status == "ARCHIVED" for match in facts.products)
        if (d.asked("recommend") or archived) and all(unavailable(match) for match in facts.products):
            suggested = [product_lines(d, match) for match in facts.recommendations]
            if suggested:
                sections += [[book.say("recommend_intro"), *suggested[0]], *suggested[1:]]
            else:
                d.note("note_recommend")
        answered = any(e.policy.type == "REFUND_POLICY" for e in facts.policies)
        if d.asked("exchange", "return_cost", "refund_status") and not answered:
            d.note("note_returns_question")
        return sections
    if facts.product_searched:
        return [[book.say("product_not_found")]]
    if d.asked("materials", "size"):
        return [[book.say("ask_which_product")]]
    return [[book.say("product_unclear")]]
