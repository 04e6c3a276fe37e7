"""The offline engine's replies: per-language phrase books (`templates/*.toml`) filled only with tool results."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestrator.catalogue_sections import discount_lines, policy_lines, products_section, promotion_lines
from orchestrator.models import CATEGORIES
from orchestrator.order_sections import order_sections
from orchestrator.phrasebook import phrasebook
from orchestrator.reply_facts import Draft, ReplyFacts, Tone

logger = logging.getLogger(__name__)
ORDER_CATEGORIES = frozenset(
    {"OrderPlacementStatus", "ShippingDelivery", "ReturnsCancellationsExchanges", "PaymentBilling"}
)
"""Categories that need an order: without one (and without a policy that answers) we ask for its number."""
FINAL_STATES = frozenset({"delivered", "cancelled", "refunded", "returned"})

_NAME = re.compile(r"[^\W\d_][^\W\d_'\-.]{0,29}")


def _first_name(name: str | None) -> str | None:
    """The customer's first name when it looks like one (it comes from mail headers: untrusted, never a link)."""
    first = (name or "").strip().split(" ")[0].strip(",;:")
    return first if _NAME.fullmatch(first) else None


def shop_zone(name: str | tzinfo) -> tzinfo:
    """The shop's time zone by its IANA name; UTC (with a warning) when the name is unknown on this machine."""
    if isinstance(name, tzinfo):
        return name
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r: replies count days in UTC", name)
        return UTC


def _next_line(d: Draft, has_orders: bool) -> str:
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


def _asks_for_number(d: Draft, has_orders: bool) -> bool:
    """An order question with no order to answer from: ask for its number (unless a policy answers a general
    shipping question, which needs no order)."""
    facts = d.facts
    if d.category not in ORDER_CATEGORIES or has_orders or facts.missing_orders:
        return False
    general = d.category == "ShippingDelivery" and facts.policies and not d.asked("where_is_order")
    return not general


def _deadline(d: Draft) -> date | None:
    """The date the customer needs their order by, in the coming months (a date already past is not a deadline,
    except early next year said late this year)."""
    if d.facts.deadline is None:
        return None
    day, month = d.facts.deadline
    year = d.today.year + (1 if month < d.today.month - 6 else 0)
    try:
        wanted = date(year, month, day)
    except ValueError:
        return None
    return wanted if wanted >= d.today else None


def _opening(d: Draft) -> list[str]:
    """The first lines: the apology that fits (a wrong item, a technical problem, a complaint, an unhappy customer)
    and the deadline the customer gave."""
    book, category = d.book, d.category
    lines = []
    if d.asked("wrong_item") and category not in ("TechnicalIssues", "ProductInfoAvailability"):
        lines.append(book.say("wrong_item"))
        d.note("note_wrong_item")
    elif category in ("TechnicalIssues", "CustomerComplaintsSatisfaction"):
        lines.append(book.say(f"open_{category}"))
    elif d.facts.sorry:
        lines.append(book.say("sorry"))
    deadline = _deadline(d)
    if deadline is not None:
        lines.append(book.say("deadline", when=d.when(deadline, "by")))
    return lines


def _technical_lines(d: Draft) -> list[str]:
    """What usually gets a customer going again, and only what we still need to know: the device and browser when
    they did not say, a screenshot when they did not quote the message word for word."""
    book = d.book
    lines = [book.say("tech_workarounds_payment" if d.asked("payment_failed") else "tech_workarounds")]
    shown = d.asked("error_quoted", "screenshot_sent")
    if not d.asked("device"):
        lines.append(book.say("tech_device_only" if shown else "tech_device"))
    elif not shown:
        lines.append(book.say("tech_screenshot"))
    return lines


def _body(d: Draft) -> list[str]:
    """The body of a reply: what the customer asked, answered with every fact we have; each follow-up promised once."""
    facts, book, category = d.facts, d.book, d.category
    sections: list[list[str]] = [_opening(d)]
    if category == "PaymentBilling" and d.asked("double_charge") and facts.orders:
        sections.append([book.say("double_charge")])
    sections += order_sections(d)
    has_orders = bool(facts.orders or (facts.recent_orders and facts.recent_orders.orders))
    if d.asked("address_change") and any(o.state not in FINAL_STATES for o in facts.orders):
        d.note("note_address")
    if d.asked("delivery_change") and any(o.state not in FINAL_STATES for o in facts.orders):
        d.note("note_delivery_change")
    if d.asked("damaged") and category in (*ORDER_CATEGORIES, "CustomerComplaintsSatisfaction"):
        d.note("note_damaged")
    ask = _asks_for_number(d, has_orders)
    if category == "ProductInfoAvailability" or facts.products:
        sections += products_section(d)
    sections += [discount_lines(d, check) for check in facts.discounts]
    if facts.promotions is not None:
        sections.append(promotion_lines(d, facts.promotions))
    if category == "PromotionsDiscountsPricing" and d.asked("price_adjustment"):
        d.note("note_price_adjustment")
    elif category == "PromotionsDiscountsPricing" and not facts.discounts and facts.promotions is None:
        d.note("note_colleague_check")
    if category == "TechnicalIssues":
        sections.append(_technical_lines(d))
    sections += [policy_lines(d, excerpt) for excerpt in facts.policies]
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


def render_reply(
    category: str,
    language: str,
    facts: ReplyFacts,
    *,
    tone: Tone,
    today: date | None = None,
    now: datetime | None = None,
) -> str:
    """A plain-text reply draft for `category` in `language` (English when that language has no phrase book).

    Only `facts` fill the templates: every link, number, date and amount in the reply comes from them. Dates are said
    relative to `today`: by default the day it is `now` (default: this moment) in the shop's time zone
    (`tone.timezone`). A handover gives the holding reply.
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
        zone = shop_zone(tone.timezone)
        day = today or (now or datetime.now(UTC)).astimezone(zone).date()
        body = _body(Draft(book, day, category, facts, zone=zone))
    if facts.ticket_id:
        body += ["", book.say("ticket", ticket=facts.ticket_id)]
    parts = [greeting, "", intro, "", *body, "", book.say("closing"), tone.signature_for(book.language)]
    return "\n".join(parts).strip() + "\n"
