"""The shop part of a reply: products and their stock, discount codes, promotions and policy excerpts."""

from __future__ import annotations

from datetime import UTC

from orchestrator.language import detect_language
from orchestrator.phrasebook import FALLBACK_LANGUAGE, Phrasebook
from orchestrator.reply_facts import Draft, PolicyExcerpt, ProductMatch
from support_core.store import DiscountCheck, DiscountInfo, Product, Promotions, Variant

DASH = "\u2013"
MAX_VARIANTS = 8
"""Variants listed for a product when the customer named none."""
DETAIL_KEYS = {"size": ("fit", "size_guide"), "materials": ("materials", "care_instructions", "compression_level")}
"""Product facts (`custom.*` metafields) quoted when the customer asks about sizes or materials."""
RESTOCK_KEYS = ("restock", "restock_date", "back_in_stock")
"""Product facts a merchant may publish about restocking (add them to SHOPIFY_METAFIELD_KEYS to use them)."""
UNAVAILABLE = frozenset({"sold_out", "unavailable", "backorder"})


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in text.strip().splitlines()]


def _text_language(texts: list[str]) -> str:
    return detect_language("\n".join(texts), default=FALLBACK_LANGUAGE)


def _details_lines(d: Draft, product: Product, keys: list[str]) -> list[str]:
    """Product facts the merchant wrote, announced in the language they are written in."""
    book = d.book
    found = [(key, product.details[key].strip()) for key in keys if product.details.get(key, "").strip()]
    if not found:
        return []
    language = _text_language([product.description, *(text for _, text in found)])
    title = book.quoted(product.title)
    if language == book.language:
        lines = [book.say("details_intro", title=title)]
    else:
        lines = [book.say("details_intro_foreign", title=title, language=book.word("language_names", language))]
    for key, text in found:
        label = book.word("detail_labels", key)
        if "\n" in text:
            lines += _quote(f"{book.say('detail_heading', label=label)}\n{text}")
        else:
            lines += _quote(book.say("detail_line", label=label, text=text))
    return lines


def _stock_line(book: Phrasebook, variant: Variant) -> str:
    status = book.word("stock", variant.stock_status)
    if variant.title == "Default Title":
        return book.say("availability", status=status)
    return book.say("stock_line", variant=variant.title, status=status)


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


def _product_lines(d: Draft, match: ProductMatch) -> list[str]:
    book, product = d.book, match.product
    title = book.quoted(product.title)
    if product.status == "ARCHIVED":
        d.note("note_recommend")
        return [book.say("product_discontinued", title=title)]
    if product.status != "ACTIVE" or product.url is None:
        d.note("note_product_check")
        return [book.say("product_unavailable", title=title)]
    low, high = book.money(product.price_min), book.money(product.price_max)
    lines = [book.say("product", title=title, price=low if low == high else f"{low} {DASH} {high}")]
    named = [v for v in product.variants if v.id in match.variant_ids]
    shown = named or product.variants[:MAX_VARIANTS]
    lines += [_stock_line(book, v) for v in shown]
    if not named and (len(product.variants) > MAX_VARIANTS or product.more_variants):
        lines.append(book.say("more_variants"))
    out = [v for v in named if v.stock_status in UNAVAILABLE]
    if not named and d.asked("restock"):
        out = [v for v in product.variants if v.stock_status in UNAVAILABLE]
    lines += _restock_lines(d, product, out)
    if named and all(v.stock_status in UNAVAILABLE for v in named):
        values = {value for v in named for value in v.options.values()}
        similar = [
            v.title
            for v in product.variants
            if v not in named and v.stock_status not in UNAVAILABLE and values & set(v.options.values())
        ]
        if similar:
            lines.append(book.say("alternatives", variants=", ".join(similar[:MAX_VARIANTS])))
    details = _details_lines(d, product, [key for topic, keys in DETAIL_KEYS.items() if d.asked(topic) for key in keys])
    lines += ["", *details] if details else []
    if d.asked("size"):
        d.note("note_size")
    lines.append(book.say("product_link", url=product.url))
    return lines


def _unavailable(match: ProductMatch) -> bool:
    """The customer cannot buy what they asked for: the product is not listed, or every variant they name is out."""
    product = match.product
    named = [v for v in product.variants if v.id in match.variant_ids] or product.variants
    return product.status != "ACTIVE" or all(v.stock_status in UNAVAILABLE for v in named)


def products_section(d: Draft) -> list[list[str]]:
    facts, book = d.facts, d.book
    if facts.products:
        sections = [_product_lines(d, match) for match in facts.products]
        if d.asked("recommend") and all(_unavailable(match) for match in facts.products):
            d.note("note_recommend")
        if d.asked("exchange", "return_cost", "refund_status"):
            d.note("note_returns_question")
        return sections
    if facts.product_searched:
        return [[book.say("product_not_found")]]
    return [[book.say("product_unclear")]]


# --- Discounts and policies ----------------------------------------------------------------------------------------


def _offer(d: Draft, info: DiscountInfo) -> str:
    book = d.book
    if info.kind == "percentage" and info.percentage is not None:
        offer = book.say("offer_percentage", percent=book.percent(info.percentage))
    elif info.kind == "fixed_amount" and info.amount is not None:
        offer = book.say("offer_amount", amount=book.money(info.amount))
    elif info.kind == "free_shipping":
        offer = book.say("offer_free_shipping")
    elif info.kind == "buy_x_get_y":
        offer = book.say("offer_bundle")
    else:
        offer = book.say("offer_other")
    offer = f"{book.quoted(info.title)}: {offer}"
    if info.minimum_subtotal is not None:
        offer += book.say("minimum", amount=book.money(info.minimum_subtotal))
    if info.ends_at is not None and info.status == "ACTIVE":
        offer += book.say("until", when=book.when(info.ends_at, d.today, "until"))
    return offer


def discount_lines(d: Draft, check: DiscountCheck) -> list[str]:
    book = d.book
    code, info = check.code.upper(), check.discount
    if not check.exists:
        d.note("note_code_check")
        return [book.say("code_unknown", code=code)]
    if check.usable_now and info is not None:
        return [book.say("code_valid", code=code, offer=_offer(d, info))]
    ended = info is not None and info.ends_at is not None and info.ends_at.astimezone(UTC).date() <= d.today
    if check.usage_limit is not None and (check.times_used or 0) >= check.usage_limit:
        line = book.say("code_used_up", code=code)
    elif info is not None and info.status == "EXPIRED" and info.ends_at is not None and ended:
        line = book.say("code_expired", code=code, when=book.when(info.ends_at, d.today))
    elif info is not None and info.status == "SCHEDULED" and info.starts_at is not None:
        line = book.say("code_scheduled", code=code, when=book.when(info.starts_at, d.today))
        return [line, book.say("code_offer_upcoming", offer=_offer(d, info))]
    else:
        line = book.say("code_unusable", code=code)
        d.note("note_code_check")
    return [line] + ([book.say("code_offer", offer=_offer(d, info))] if info is not None else [])


def promotion_lines(d: Draft, promotions: Promotions) -> list[str]:
    book = d.book
    if not (promotions.automatic or promotions.public_codes):
        return [book.say("no_promotions")]
    lines = [book.say("promotions_header")]
    lines += [book.say("promotion_automatic", offer=_offer(d, p)) for p in promotions.automatic]
    lines += [book.say("promotion_code", offer=_offer(d, p), code=p.code) for p in promotions.public_codes if p.code]
    return lines


def policy_lines(d: Draft, excerpt: PolicyExcerpt) -> list[str]:
    book, title = d.book, d.book.quoted(excerpt.policy.title)
    if excerpt.language == book.language:
        intro = book.say("policy_intro", title=title)
    else:
        language = book.word("language_names", excerpt.language)
        intro = book.say("policy_intro_foreign", title=title, language=language)
    return [intro, *_quote(excerpt.text), book.say("policy_link", url=excerpt.policy.url)]
