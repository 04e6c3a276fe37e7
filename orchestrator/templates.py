"""The offline engine's replies: per-language phrase books (`templates/*.toml`) filled only with tool results."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from orchestrator.models import CATEGORIES, LANGUAGES
from shopify_mcp.models import (
    CustomerOrders,
    DiscountCheck,
    DiscountInfo,
    Money,
    OrderDetails,
    Policy,
    Product,
    Promotions,
    Shipment,
)

ORDER_CATEGORIES = frozenset(
    {"OrderPlacementStatus", "ShippingDelivery", "ReturnsCancellationsExchanges", "PaymentBilling"}
)
"""Categories that need an order: without one (and without a list of the customer's orders) we ask for its number."""
POLICY_EXCERPT = 800
"""Longest policy excerpt quoted in a reply, in characters (the link to the full text follows)."""
FALLBACK_LANGUAGE = "en"
TIMES, DASH = "\u00d7", "\u2013"

_NAME = re.compile(r"[^\W\d_][^\W\d_'\-.]{0,29}")


@dataclass(frozen=True)
class Tone:
    """How the shop sounds: who signs, the shop's name, the signature block and whether a friendly emoji is welcome."""

    persona_name: str
    shop_name: str
    signature: str
    emoji: bool = False


@dataclass(frozen=True)
class ReplyFacts:
    """What the tools returned for this message. Everything is optional: a missing fact becomes 'a colleague will
    check', never a guess."""

    customer_name: str | None = None
    order: OrderDetails | None = None
    orders: CustomerOrders | None = None
    products: list[Product] = field(default_factory=list)
    discount: DiscountCheck | None = None
    promotions: Promotions | None = None
    policy: Policy | None = None
    ticket_id: str | None = None
    order_number_not_found: str | None = None
    handover: bool = False


class Phrasebook:
    """One language's phrases (`templates/<language>.toml`) and its date and number formats."""

    def __init__(self, language: str, data: dict[str, Any]) -> None:
        self.language = language
        self.data = data

    def say(self, key: str, **values: object) -> str:
        """The phrase `key` with `$placeholders` filled (a missing value is a bug, so it raises)."""
        return Template(self.data["text"][key]).substitute({name: str(value) for name, value in values.items()})

    def word(self, table: str, key: str) -> str:
        """A word from a table (order states, stock statuses...), or the colleague-will-check phrase for unknowns."""
        words: dict[str, str] = self.data[table]
        return words.get(key) or words["unknown"]

    def date(self, value: datetime) -> str:
        fmt = self.data["format"]
        return Template(fmt["date"]).substitute(day=value.day, month=fmt["months"][value.month - 1], year=value.year)

    def money(self, money: Money) -> str:
        try:
            amount = Decimal(money.amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            return str(money)
        return f"{str(amount).replace('.', self.data['format']['decimal'])} {money.currency}"

    def percent(self, value: float) -> str:
        number = f"{value:g}".replace(".", self.data["format"]["decimal"])
        return Template(self.data["format"]["percent"]).substitute(value=number)


@cache
def phrasebook(language: str) -> Phrasebook:
    """The phrase book for `language`, or the English one when the language has none."""
    if language not in LANGUAGES:
        language = FALLBACK_LANGUAGE
    text = resources.files("orchestrator").joinpath("templates", f"{language}.toml").read_text(encoding="utf-8")
    return Phrasebook(language, tomllib.loads(text))


def _first_name(name: str | None) -> str | None:
    """The customer's first name when it looks like one (it comes from mail headers: untrusted, never a link)."""
    first = (name or "").strip().split(" ")[0].strip(",;:")
    return first if _NAME.fullmatch(first) else None


def _order_number(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    return f"#{digits[:12]}" if digits else None


def _item(quantity: int, title: str, variant: str | None = None) -> str:
    return f"{quantity} {TIMES} {title}" + (f" ({variant})" if variant and variant != "Default Title" else "")


def _shipment_lines(book: Phrasebook, shipment: Shipment) -> list[str]:
    items = ", ".join(_item(item.quantity, item.title) for item in shipment.items)
    status = book.word("delivery_status", shipment.delivery_status or "unknown")
    lines = [book.say("shipment", name=shipment.name, items=items or "-", status=status)]
    for parcel in shipment.tracking or []:
        carrier = parcel.carrier or book.say("carrier_unknown")
        if parcel.number and parcel.url:
            lines.append(book.say("tracking", carrier=carrier, number=parcel.number, url=parcel.url))
        elif parcel.number:
            lines.append(book.say("tracking_no_url", carrier=carrier, number=parcel.number))
        else:
            lines.append(book.say("tracking_missing"))
    if not shipment.tracking:
        lines.append(book.say("tracking_missing"))
    if shipment.delivered_at is not None:
        lines.append(book.say("delivered_on", date=book.date(shipment.delivered_at)))
    elif shipment.estimated_delivery_at is not None:
        lines.append(book.say("eta", date=book.date(shipment.estimated_delivery_at)))
    elif shipment.status not in ("CANCELLED", "ERROR", "FAILURE"):
        lines.append(book.say("eta_missing"))
    return lines


def _order_lines(book: Phrasebook, order: OrderDetails, category: str) -> list[str]:
    lines = [book.say("order_state", number=order.order_number, state=book.word("state", order.state))]
    lines.append(book.say("items_header"))
    lines += [f"- {_item(item.current_quantity, item.title, item.variant)}" for item in order.items if item.quantity]
    lines.append(book.say("total", amount=book.money(order.totals.total)))
    if category == "PaymentBilling":
        lines.append(book.say("payment_status", status=book.word("financial", order.financial_status or "unknown")))
    for shipment in order.shipments:
        lines += ["", *_shipment_lines(book, shipment)]
    waiting = [_item(i.unfulfilled_quantity, i.title, i.variant) for i in order.items if i.unfulfilled_quantity > 0]
    if waiting and order.state not in ("cancelled", "refunded"):
        lines += ["", book.say("not_shipped", items="; ".join(waiting))]
    if category in ("ReturnsCancellationsExchanges", "PaymentBilling") or order.returns or order.refunds:
        lines += ["", *_refund_lines(book, order)]
    lines += ["", book.say("status_page", url=order.status_page_url)]
    return lines


def _refund_lines(book: Phrasebook, order: OrderDetails) -> list[str]:
    lines = [book.say("return_line", name=r.name, status=book.word("return_status", r.status)) for r in order.returns]
    for refund in order.refunds:
        if refund.created_at is not None:
            lines.append(book.say("refund", amount=book.money(refund.amount), date=book.date(refund.created_at)))
        else:
            lines.append(book.say("refund_no_date", amount=book.money(refund.amount)))
    if not order.refunds:
        lines.append(book.say("no_refund"))
    return lines


def _orders_lines(book: Phrasebook, orders: CustomerOrders) -> list[str]:
    if not orders.orders:
        return [book.say("no_orders")]
    lines = [book.say("recent_orders")]
    for summary in orders.orders:
        state, total = book.word("state", summary.state), book.money(summary.total)
        date = book.date(summary.processed_at)
        lines.append(book.say("order_summary", number=summary.order_number, date=date, state=state, total=total))
        for parcel in summary.tracking:
            if parcel.number and parcel.url:
                carrier = parcel.carrier or book.say("carrier_unknown")
                lines.append("  " + book.say("tracking", carrier=carrier, number=parcel.number, url=parcel.url))
        lines.append("  " + book.say("status_page", url=summary.status_page_url))
    return lines


def _product_lines(book: Phrasebook, products: list[Product]) -> list[str]:
    if not products:
        return [book.say("no_products")]
    lines: list[str] = []
    for product in products:
        low, high = book.money(product.price_min), book.money(product.price_max)
        price = low if low == high else f"{low} {DASH} {high}"
        lines.append(book.say("product", title=product.title, price=price))
        if product.status in ("ARCHIVED", "DRAFT") or product.url is None:
            lines.append(book.say("product_unlisted"))
        for variant in product.variants:
            status = book.word("stock", variant.stock_status)
            lines.append(f"- {variant.title}: {status}")
        if product.more_variants:
            lines.append(book.say("more_variants"))
        if product.url:
            lines.append(book.say("product_link", url=product.url))
        lines.append("")
    return lines[:-1]


def _offer(book: Phrasebook, info: DiscountInfo) -> str:
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
    offer = f"{info.title}: {offer}"
    if info.minimum_subtotal is not None:
        offer += book.say("minimum", amount=book.money(info.minimum_subtotal))
    if info.ends_at is not None and info.status == "ACTIVE":
        offer += book.say("until", date=book.date(info.ends_at))
    return offer


def _discount_lines(book: Phrasebook, check: DiscountCheck) -> list[str]:
    code, info = check.code.upper(), check.discount
    if not check.exists:
        return [book.say("code_unknown", code=code)]
    if check.usable_now and info is not None:
        return [book.say("code_valid", code=code, offer=_offer(book, info))]
    if info is not None and info.status == "EXPIRED" and info.ends_at is not None:
        line = book.say("code_expired", code=code, date=book.date(info.ends_at))
    elif info is not None and info.status == "SCHEDULED" and info.starts_at is not None:
        line = book.say("code_scheduled", code=code, date=book.date(info.starts_at))
    elif check.usage_limit is not None and (check.times_used or 0) >= check.usage_limit:
        line = book.say("code_used_up", code=code)
    else:
        line = book.say("code_unusable", code=code)
    return [line] + ([book.say("code_offer", offer=_offer(book, info))] if info is not None else [])


def _promotion_lines(book: Phrasebook, promotions: Promotions) -> list[str]:
    if not (promotions.automatic or promotions.public_codes):
        return [book.say("no_promotions")]
    lines = [book.say("promotions_header")]
    lines += [book.say("promotion_automatic", offer=_offer(book, p)) for p in promotions.automatic]
    lines += [book.say("promotion_code", offer=_offer(book, p), code=p.code) for p in promotions.public_codes if p.code]
    return lines


def _policy_lines(book: Phrasebook, policy: Policy) -> list[str]:
    text = policy.text.strip()
    if len(text) > POLICY_EXCERPT:
        text = text[: POLICY_EXCERPT - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    return [book.say("policy", title=policy.title), quoted, book.say("policy_link", url=policy.url)]


def _facts_lines(book: Phrasebook, category: str, facts: ReplyFacts) -> list[str]:
    """The body of a reply: the category's opening, then every fact we have, each missing one handed to a colleague."""
    lines = [book.say(f"open_{category}")]
    sections: list[list[str]] = []
    if facts.order is not None:
        sections.append(_order_lines(book, facts.order, category))
    elif facts.orders is not None:
        sections.append(_orders_lines(book, facts.orders))
    elif (number := _order_number(facts.order_number_not_found)) is not None:
        sections.append([book.say("order_not_found", number=number)])
    if category == "ProductInfoAvailability" or facts.products:
        sections.append(_product_lines(book, facts.products))
    if facts.discount is not None:
        sections.append(_discount_lines(book, facts.discount))
    if facts.promotions is not None:
        sections.append(_promotion_lines(book, facts.promotions))
    if category == "PromotionsDiscountsPricing" and facts.discount is None and facts.promotions is None:
        sections.append([book.say("colleague_check")])
    if facts.policy is not None:
        sections.append(_policy_lines(book, facts.policy))
    for section in sections:
        lines += ["", *section]
    lines += ["", book.say(f"next_{category}")]
    return lines


def render_reply(category: str, language: str, facts: ReplyFacts, *, tone: Tone) -> str:
    """A plain-text reply draft for `category` in `language` (English when that language has no phrase book).

    Only `facts` fill the templates: every link, number, date and amount in the reply comes from them. A handover
    gives the holding reply; an order category without an order asks for the order number.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}")
    book = phrasebook(language)
    name = _first_name(facts.customer_name) or _first_name(facts.order.customer_name if facts.order else None)
    greeting = book.say("greeting", name=name) if name else book.say("greeting_anonymous")
    intro = book.say("intro", persona=tone.persona_name, shop=tone.shop_name) + (" 🙂" if tone.emoji else "")
    has_order = facts.order is not None or facts.orders is not None
    if facts.handover:
        body = [book.say("holding")]
    elif category in ORDER_CATEGORIES and not has_order:
        number = _order_number(facts.order_number_not_found)
        body = [book.say("order_not_found", number=number) if number else book.say("ask_order_number")]
    else:
        body = _facts_lines(book, category, facts)
    if facts.ticket_id:
        body += ["", book.say("ticket", ticket=facts.ticket_id)]
    signature = tone.signature.strip() or tone.persona_name
    parts = [greeting, "", intro, "", *body, "", book.say("closing"), signature]
    return "\n".join(parts).strip() + "\n"
