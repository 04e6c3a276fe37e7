"""The offline engine's replies: per-language phrase books (`templates/*.toml`) filled only with tool results."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from orchestrator.language import detect_language
from orchestrator.models import CATEGORIES, LANGUAGES
from support_core.store import (
    CustomerOrders,
    DiscountCheck,
    DiscountInfo,
    Money,
    OrderDetails,
    Policy,
    Product,
    Promotions,
    Shipment,
    Variant,
)

ORDER_CATEGORIES = frozenset(
    {"OrderPlacementStatus", "ShippingDelivery", "ReturnsCancellationsExchanges", "PaymentBilling"}
)
"""Categories that need an order: without one (and without a policy that answers) we ask for its number."""
FALLBACK_LANGUAGE = "en"
TIMES, DASH = "\u00d7", "\u2013"
MAX_VARIANTS = 8
"""Variants listed for a product when the customer named none."""
DETAIL_KEYS = {"size": ("fit", "size_guide"), "materials": ("materials", "care_instructions", "compression_level")}
"""Product facts (`custom.*` metafields) quoted when the customer asks about sizes or materials."""
RESTOCK_KEYS = ("restock", "restock_date", "back_in_stock")
"""Product facts a merchant may publish about restocking (add them to SHOPIFY_METAFIELD_KEYS to use them)."""
UNAVAILABLE = frozenset({"sold_out", "unavailable", "backorder"})
PROBLEM_STATUSES = frozenset({"DELAYED", "FAILURE", "NOT_DELIVERED", "ATTEMPTED_DELIVERY"})
DEAD_SHIPMENTS = frozenset({"CANCELLED", "ERROR", "FAILURE"})
CLOSED_STATES = frozenset({"cancelled", "refunded"})
FINAL_STATES = frozenset({"delivered", "cancelled", "refunded", "returned"})

_NAME = re.compile(r"[^\W\d_][^\W\d_'\-.]{0,29}")
_RELATIVE = {"on": {0: "today", 1: "tomorrow", -1: "yesterday"}, "until": {0: "until_today", 1: "until_tomorrow"}}
"""Dates said relative to today ([relative] in the phrase books), by kind and distance in days."""
Day = date
"""`date` by another name, for annotations inside `Phrasebook` (whose method `date` hides the type)."""


@dataclass(frozen=True)
class Tone:
    """How the shop sounds: who signs, the shop's name, the signature block (per language when configured) and
    whether a friendly emoji is welcome."""

    persona_name: str
    shop_name: str
    signature: str
    emoji: bool = False
    signatures: Mapping[str, str] = field(default_factory=dict)

    def signature_for(self, language: str) -> str:
        """The signature for a reply written in `language`: its own, else the default, else the persona's name."""
        return (self.signatures.get(language) or self.signature).strip() or self.persona_name


@dataclass(frozen=True)
class ProductMatch:
    """A product the customer asked about, with the ids of the variants they named (none named: all of them)."""

    product: Product
    variant_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyExcerpt:
    """The part of a policy that answers the question: whole paragraphs, in the language the policy is written in."""

    policy: Policy
    text: str
    language: str


@dataclass(frozen=True)
class ReplyFacts:
    """What the tools returned for this message, and what the customer asked. Everything is optional: a missing fact
    becomes 'a colleague will check', never a guess."""

    customer_name: str | None = None
    orders: tuple[OrderDetails, ...] = ()
    """Every order the customer asked about (or their latest one), looked up."""
    recent_orders: CustomerOrders | None = None
    """The customer's recent orders, when they gave no number."""
    missing_orders: tuple[str, ...] = ()
    """Order numbers the customer gave that are not theirs or do not exist."""
    products: tuple[ProductMatch, ...] = ()
    product_searched: bool = False
    """The customer named something and the catalogue was searched (no products then means: we do not carry it)."""
    discounts: tuple[DiscountCheck, ...] = ()
    promotions: Promotions | None = None
    policies: tuple[PolicyExcerpt, ...] = ()
    topics: frozenset[str] = frozenset()
    """What the customer asks about (`templates/questions.toml`): double_charge, restock, size, shipping_time..."""
    sorry: bool = False
    """The customer is unhappy: the reply apologises once."""
    ticket_id: str | None = None
    handover: bool = False
    no_contact: bool = False
    """A handover without any way to reach the customer (a chat with no email): ask for one instead of promising."""


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

    def date(self, value: Day) -> str:
        fmt = self.data["format"]
        day = fmt["first_day"] if value.day == 1 else str(value.day)
        return Template(fmt["date"]).substitute(day=day, month=fmt["months"][value.month - 1], year=value.year)

    def when(self, value: datetime | Day, today: Day, kind: str = "on") -> str:
        """A date as the reply says it: 'today', 'tomorrow', 'yesterday', or 'on 5 December 2026' (`kind` 'on'),
        'until 5 December 2026' (`kind` 'until'), with the language's preposition."""
        day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
        key = _RELATIVE[kind].get((day - today).days)
        if key is not None:
            return str(self.data["relative"][key])
        fmt = self.data["format"]
        pattern = fmt[f"{kind}_elided"] if day.day in fmt["elided_days"] else fmt[kind]
        return Template(pattern).substitute(date=self.date(day))

    def money(self, money: Money) -> str:
        try:
            amount = Decimal(money.amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            return str(money)
        return f"{str(amount).replace('.', self.data['format']['decimal'])} {money.currency}"

    def percent(self, value: float) -> str:
        number = f"{value:g}".replace(".", self.data["format"]["decimal"])
        return Template(self.data["format"]["percent"]).substitute(value=number)

    def quoted(self, text: str) -> str:
        """A name the merchant wrote (a product, a policy, an offer), in the language's quotation marks."""
        return Template(self.data["format"]["quote"]).substitute(text=text)


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


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in text.strip().splitlines()]


@dataclass
class _Draft:
    """One reply being written: the phrase book, today's date, and the follow-ups promised so far (each said once, at
    the end, however many orders or parcels need it)."""

    book: Phrasebook
    today: date
    category: str
    facts: ReplyFacts
    notes: dict[str, str] = field(default_factory=dict)
    awaiting_delivery: bool = False
    delivered: bool = False

    def note(self, key: str, **values: object) -> None:
        self.notes.setdefault(key, self.book.say(key, **values))

    def asked(self, *topics: str) -> bool:
        return bool(self.facts.topics.intersection(topics))


# --- Orders --------------------------------------------------------------------------------------------------------


def _shipment_lines(d: _Draft, shipment: Shipment) -> list[str]:
    book = d.book
    if shipment.status in DEAD_SHIPMENTS:
        return []
    items = ", ".join(_item(item.quantity, item.title) for item in shipment.items)
    status = book.word("delivery_status", shipment.delivery_status or "unknown")
    if items:
        lines = [book.say("shipment", name=shipment.name, items=items, status=status)]
    else:
        lines = [book.say("shipment_no_items", name=shipment.name, status=status)]
    delivered = shipment.delivered_at is not None or shipment.delivery_status in ("DELIVERED", "PICKED_UP")
    for parcel in shipment.tracking:
        carrier = parcel.carrier or book.say("carrier_unknown")
        if parcel.number and parcel.url:
            lines.append(book.say("tracking", carrier=carrier, number=parcel.number, url=parcel.url))
        elif parcel.number:
            lines.append(book.say("tracking_no_url", carrier=carrier, number=parcel.number))
    if not any(parcel.number for parcel in shipment.tracking) and not delivered:
        lines.append(book.say("tracking_missing"))
        d.note("note_tracking_missing")
    late = False
    if shipment.delivered_at is not None:
        lines.append(book.say("delivered_on", when=book.when(shipment.delivered_at, d.today)))
    elif delivered:
        pass  # the status line already says so
    elif shipment.estimated_delivery_at is not None:
        if shipment.estimated_delivery_at.astimezone(UTC).date() < d.today:
            late = True
            lines.append(book.say("eta_late", when=book.when(shipment.estimated_delivery_at, d.today)))
            d.note("note_late")
        else:
            lines.append(book.say("eta", when=book.when(shipment.estimated_delivery_at, d.today)))
            d.awaiting_delivery = True
    else:
        lines.append(book.say("eta_missing"))
        d.note("note_eta_missing")
    if shipment.delivery_status in PROBLEM_STATUSES and not late:
        d.note("note_delivery_problem")
    d.delivered = d.delivered or delivered
    return lines


def _refund_lines(d: _Draft, order: OrderDetails) -> list[str]:
    book = d.book
    lines = [book.say("return_line", name=r.name, status=book.word("return_status", r.status)) for r in order.returns]
    for refund in order.refunds:
        if refund.created_at is not None:
            when = book.when(refund.created_at, d.today)
            lines.append(book.say("refund", amount=book.money(refund.amount), when=when))
        else:
            lines.append(book.say("refund_no_date", amount=book.money(refund.amount)))
    if order.refunds:
        return lines
    asked = d.asked("refund_status") or d.category == "ReturnsCancellationsExchanges"
    if order.financial_status == "VOIDED" and (asked or order.state == "cancelled"):
        lines.append(book.say("payment_voided", number=order.order_number))
    elif any(r.status in ("REQUESTED", "OPEN") for r in order.returns):
        lines.append(book.say("refund_after_return", number=order.order_number))
    elif asked:
        lines.append(book.say("no_refund", number=order.order_number))
        d.note("note_refund_check")
    return lines


def _billing_lines(d: _Draft, order: OrderDetails) -> list[str]:
    """What a payment question needs: the problem the customer states, answered from the order's payment state."""
    book = d.book
    number, amount = order.order_number, book.money(order.totals.total)
    status = book.word("financial", order.financial_status or "unknown")
    lines: list[str] = []
    if d.asked("double_charge"):
        lines.append(book.say("payment_record", number=number, amount=amount, status=status))
        d.note("note_double_charge")
    if order.financial_status == "PENDING" or order.state == "awaiting_payment":
        lines.append(book.say("payment_pending", number=number, amount=amount))
        if order.state == "awaiting_payment":
            lines.append(book.say("waiting_for_payment", number=number))
        d.note("note_payment_pending")
    elif d.asked("payment_failed") or order.state == "payment_failed":
        if order.financial_status in ("PAID", "PARTIALLY_PAID", "AUTHORIZED", "PARTIALLY_REFUNDED"):
            lines.append(book.say("payment_received", number=number, amount=amount, status=status))
        else:
            lines.append(book.say("payment_not_received", number=number, status=status))
            d.note("note_payment_failed")
    if d.asked("invoice"):
        lines.append(book.say("invoice", number=number))
    refund_asked = d.asked("refund_status") and not d.asked("double_charge")  # that refund is the second charge
    if refund_asked or order.refunds or order.returns or order.state in CLOSED_STATES:
        lines += _refund_lines(d, order)
    if not lines:
        lines = [book.say("total", amount=amount), book.say("payment_status", number=number, status=status)]
        d.note("note_billing")
    return lines


def _order_lines(d: _Draft, order: OrderDetails) -> list[str]:
    book, category = d.book, d.category
    state = book.word("state", order.state)
    placed = book.when(order.processed_at, d.today)
    lines = [book.say("order_state", number=order.order_number, placed=placed, state=state)]
    if category == "PaymentBilling":
        return [*lines, *_billing_lines(d, order), "", book.say("status_page", url=order.status_page_url)]
    if category in ("OrderPlacementStatus", "ReturnsCancellationsExchanges"):
        items = [f"- {_item(i.current_quantity, i.title, i.variant)}" for i in order.items if i.current_quantity > 0]
        if items:
            lines += [book.say("items_header"), *items]
        lines.append(book.say("total", amount=book.money(order.totals.total)))
    for shipment in order.shipments:
        shipment_lines = _shipment_lines(d, shipment)
        lines += ["", *shipment_lines] if shipment_lines else []
    waiting = [_item(i.unfulfilled_quantity, i.title, i.variant) for i in order.items if i.unfulfilled_quantity > 0]
    if waiting and order.state not in CLOSED_STATES:
        shipped = any(s.status not in DEAD_SHIPMENTS for s in order.shipments)
        if shipped:
            lines += ["", book.say("not_shipped", items="; ".join(waiting))]
            d.note("note_remaining_items")
        elif order.state == "on_hold" and not d.asked("address_change"):
            d.note("note_on_hold")
        elif order.state in ("awaiting_payment", "payment_failed"):
            lines.append(book.say("waiting_for_payment", number=order.order_number))
        else:
            lines.append(book.say("not_shipped_yet", number=order.order_number))
    relevant = order.refunds or order.returns or order.state in CLOSED_STATES or d.asked("refund_status")
    if relevant or category == "ReturnsCancellationsExchanges":
        refunds = _refund_lines(d, order)
        lines += ["", *refunds] if refunds else []
    return [*lines, "", book.say("status_page", url=order.status_page_url)]


def _recent_orders_lines(d: _Draft, orders: CustomerOrders) -> list[str]:
    book = d.book
    if not orders.orders:
        return [book.say("no_orders")]
    lines = [book.say("recent_orders")]
    for summary in orders.orders:
        state, total = book.word("state", summary.state), book.money(summary.total)
        placed = book.when(summary.processed_at, d.today)
        lines.append(book.say("order_summary", number=summary.order_number, placed=placed, state=state, total=total))
        for parcel in summary.tracking if d.category in ("ShippingDelivery", "OrderPlacementStatus") else []:
            if parcel.number and parcel.url:
                carrier = parcel.carrier or book.say("carrier_unknown")
                lines.append("  " + book.say("tracking", carrier=carrier, number=parcel.number, url=parcel.url))
        lines.append("  " + book.say("status_page", url=summary.status_page_url))
    return lines


def _other_orders_line(d: _Draft, orders: CustomerOrders, shown: set[str]) -> list[str]:
    others = [o for o in orders.orders if o.order_number not in shown]
    if not others:
        return []
    listed = ", ".join(f"{o.order_number} ({d.book.word('state', o.state)})" for o in others)
    return [d.book.say("other_orders", orders=listed)]


# --- Products ------------------------------------------------------------------------------------------------------


def _text_language(texts: list[str]) -> str:
    return detect_language("\n".join(texts), default=FALLBACK_LANGUAGE)


def _details_lines(d: _Draft, product: Product, keys: list[str]) -> list[str]:
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


def _restock_lines(d: _Draft, product: Product, out: list[Variant]) -> list[str]:
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


def _product_lines(d: _Draft, match: ProductMatch) -> list[str]:
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


def _products_section(d: _Draft) -> list[list[str]]:
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


def _offer(d: _Draft, info: DiscountInfo) -> str:
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


def _discount_lines(d: _Draft, check: DiscountCheck) -> list[str]:
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


def _promotion_lines(d: _Draft, promotions: Promotions) -> list[str]:
    book = d.book
    if not (promotions.automatic or promotions.public_codes):
        return [book.say("no_promotions")]
    lines = [book.say("promotions_header")]
    lines += [book.say("promotion_automatic", offer=_offer(d, p)) for p in promotions.automatic]
    lines += [book.say("promotion_code", offer=_offer(d, p), code=p.code) for p in promotions.public_codes if p.code]
    return lines


def _policy_lines(d: _Draft, excerpt: PolicyExcerpt) -> list[str]:
    book, title = d.book, d.book.quoted(excerpt.policy.title)
    if excerpt.language == book.language:
        intro = book.say("policy_intro", title=title)
    else:
        language = book.word("language_names", excerpt.language)
        intro = book.say("policy_intro_foreign", title=title, language=language)
    return [intro, *_quote(excerpt.text), book.say("policy_link", url=excerpt.policy.url)]


# --- The reply -----------------------------------------------------------------------------------------------------


def _order_sections(d: _Draft) -> list[list[str]]:
    facts, book = d.facts, d.book
    missing = [book.say("order_not_found", number=n) for n in filter(None, map(_order_number, facts.missing_orders))]
    sections = [[*missing, book.say("check_number")]] if missing else []
    sections += [_order_lines(d, order) for order in facts.orders]
    if facts.orders and facts.recent_orders is not None:
        other = _other_orders_line(d, facts.recent_orders, {o.order_number for o in facts.orders})
        sections += [other] if other else []
    elif facts.recent_orders is not None and (facts.recent_orders.orders or not facts.policies):
        sections.append(_recent_orders_lines(d, facts.recent_orders))
    return sections


def _next_line(d: _Draft, has_orders: bool) -> str:
    book, category = d.book, d.category
    carrier_checked = {"note_late", "note_delivery_problem"} & set(d.notes)
    if category == "ShippingDelivery" and d.awaiting_delivery and not carrier_checked:
        return book.say("next_ShippingDelivery")
    if d.notes:
        return book.say("next_more")
    if category == "ShippingDelivery" and has_orders:
        return book.say("next_delivered" if d.delivered else "next_more")
    if d.facts.policies and (category in ORDER_CATEGORIES or category == "AccountProfileOther") and not d.facts.orders:
        return book.say("next_policy")
    return book.say(f"next_{category}")


def _asks_for_number(d: _Draft, has_orders: bool) -> bool:
    """An order question with no order to answer from: ask for its number (unless a policy answers a general
    shipping question, which needs no order)."""
    facts = d.facts
    if d.category not in ORDER_CATEGORIES or has_orders or facts.missing_orders:
        return False
    general = d.category == "ShippingDelivery" and facts.policies and not d.asked("where_is_order")
    return not general


def _body(d: _Draft) -> list[str]:
    """The body of a reply: what the customer asked, answered with every fact we have; each follow-up promised once."""
    facts, book, category = d.facts, d.book, d.category
    sections: list[list[str]] = []
    if category in ("TechnicalIssues", "CustomerComplaintsSatisfaction"):
        sections.append([book.say(f"open_{category}")])
    elif facts.sorry:
        sections.append([book.say("sorry")])
    if category == "PaymentBilling" and d.asked("double_charge") and facts.orders:
        sections.append([book.say("double_charge")])
    sections += _order_sections(d)
    has_orders = bool(facts.orders or (facts.recent_orders and facts.recent_orders.orders))
    if d.asked("address_change") and any(o.state not in FINAL_STATES for o in facts.orders):
        d.note("note_address")
    if d.asked("delivery_change") and any(o.state not in FINAL_STATES for o in facts.orders):
        d.note("note_delivery_change")
    ask = _asks_for_number(d, has_orders)
    if category == "ProductInfoAvailability" or facts.products:
        sections += _products_section(d)
    sections += [_discount_lines(d, check) for check in facts.discounts]
    if facts.promotions is not None:
        sections.append(_promotion_lines(d, facts.promotions))
    if category == "PromotionsDiscountsPricing" and not facts.discounts and facts.promotions is None:
        d.note("note_colleague_check")
    sections += [_policy_lines(d, excerpt) for excerpt in facts.policies]
    if category == "TechnicalIssues":
        sections.append([book.say("tech_screenshot" if d.asked("device") else "tech_device")])
    closing = list(d.notes.values())
    if ask:
        closing.append(book.say("ask_order_number"))
    elif not facts.missing_orders or has_orders or d.notes:
        closing.append(_next_line(d, has_orders))
    sections.append(closing)
    lines: list[str] = []
    for section in filter(None, sections):
        lines += ["", *section] if lines else section
    return lines


def render_reply(category: str, language: str, facts: ReplyFacts, *, tone: Tone, today: date | None = None) -> str:
    """A plain-text reply draft for `category` in `language` (English when that language has no phrase book).

    Only `facts` fill the templates: every link, number, date and amount in the reply comes from them. Dates are said
    relative to `today` (default: the current UTC date). A handover gives the holding reply.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}")
    book = phrasebook(language)
    first_order = facts.orders[0] if facts.orders else None
    name = _first_name(facts.customer_name) or _first_name(first_order.customer_name if first_order else None)
    greeting = book.say("greeting", name=name) if name else book.say("greeting_anonymous")
    intro = book.say("intro", persona=tone.persona_name, shop=tone.shop_name) + (" 🙂" if tone.emoji else "")
    if facts.handover:
        body = [book.say("holding_no_contact" if facts.no_contact else "holding")]
    else:
        body = _body(_Draft(book, today or datetime.now(UTC).date(), category, facts))
    if facts.ticket_id:
        body += ["", book.say("ticket", ticket=facts.ticket_id)]
    parts = [greeting, "", intro, "", *body, "", book.say("closing"), tone.signature_for(book.language)]
    return "\n".join(parts).strip() + "\n"
