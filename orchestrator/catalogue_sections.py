"""The shop part of a reply: discount codes, promotions and policy excerpts (products: `reply_products`)."""

from __future__ import annotations

from orchestrator.offline_router import normalize
from orchestrator.questions import FIRST_ORDER_OFFER
from orchestrator.reply_facts import Draft, PolicyExcerpt
from orchestrator.reply_products import products_section, quote
from support_core.store import DiscountCheck, DiscountInfo, Promotion, Promotions

__all__ = ["discount_lines", "policy_lines", "products_section", "promotion_lines"]


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
        offer += book.say("until", when=d.when(info.ends_at, "until"))
    return offer


def discount_lines(d: Draft, check: DiscountCheck) -> list[str]:
    book = d.book
    code, info = check.code.upper(), check.discount
    if not check.exists:
        d.note("note_code_check")
        return [book.say("code_unknown", code=code)]
    if check.usable_now and info is not None:
        return [book.say("code_valid", code=code, offer=_offer(d, info))]
    ended = info is not None and info.ends_at is not None and d.day(info.ends_at) <= d.today
    if check.usage_limit is not None and (check.times_used or 0) >= check.usage_limit:
        line = book.say("code_used_up", code=code)
    elif info is not None and info.status == "EXPIRED" and info.ends_at is not None and ended:
        line = book.say("code_expired", code=code, when=d.when(info.ends_at))
    elif info is not None and info.status == "SCHEDULED" and info.starts_at is not None:
        line = book.say("code_scheduled", code=code, when=d.when(info.starts_at))
        return [line, book.say("code_offer_upcoming", offer=_offer(d, info))]
    else:
        line = book.say("code_unusable", code=code)
        d.note("note_code_check")
    return [line] + ([book.say("code_offer", offer=_offer(d, info))] if info is not None else [])


def _for_customer(d: Draft, promotion: Promotion) -> bool:
    """A welcome offer (for a first order, by its title or summary) is not for a customer who already ordered."""
    text = normalize(f"{promotion.title} {promotion.summary or ''}")
    return not (d.facts.existing_customer and FIRST_ORDER_OFFER.search(text))


def promotion_lines(d: Draft, promotions: Promotions) -> list[str]:
    book = d.book
    automatic = [p for p in promotions.automatic if _for_customer(d, p)]
    codes = [p for p in promotions.public_codes if p.code and _for_customer(d, p)]
    if not (automatic or codes):
        return [book.say("no_promotions")]
    lines = [book.say("promotions_header")]
    lines += [book.say("promotion_automatic", offer=_offer(d, p)) for p in automatic]
    lines += [book.say("promotion_code", offer=_offer(d, p), code=p.code) for p in codes]
    return lines


def policy_lines(d: Draft, excerpt: PolicyExcerpt) -> list[str]:
    book, title = d.book, d.book.quoted(excerpt.policy.title)
    if excerpt.language == book.language:
        intro = book.say("policy_intro", title=title)
    else:
        language = book.word("language_names", excerpt.language)
        intro = book.say("policy_intro_foreign", title=title, language=language)
    return [intro, *quote(excerpt.text), book.say("policy_link", url=excerpt.policy.url)]
