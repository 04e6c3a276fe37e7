"""The offline engine's category agent: rules read the question and pick the tools; the templates write the reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import ToolCallError
from orchestrator.models import RouterDecision
from orchestrator.policy_excerpts import policy_excerpt
from orchestrator.product_matching import (
    asked_options,
    named_variants,
    names_a_product,
    product_phrases,
    rank_products,
    search_terms,
    slug,
)
from orchestrator.questions import COUNTRY_CODES, POLICY_KINDS, Question, read_question
from orchestrator.reply_facts import ProductMatch, ReplyFacts, Tone
from orchestrator.reply_products import unavailable
from orchestrator.reply_recommendations import recommend
from orchestrator.templates import render_reply
from orchestrator.tools import BoundTools
from support_core.store import (
    CustomerOrders,
    DiscountCheck,
    OrderDetails,
    OrderSummary,
    Policies,
    Policy,
    Product,
    ProductSearch,
    Promotions,
)

logger = logging.getLogger(__name__)

ORDER_CATEGORIES = frozenset(
    {
        "OrderPlacementStatus",
        "ShippingDelivery",
        "ReturnsCancellationsExchanges",
        "PaymentBilling",
        "CustomerComplaintsSatisfaction",
    }
)
"""Categories whose answer starts from the customer's orders."""
SHIPPING_TOPICS = frozenset({"shipping_time", "shipping_cost", "customs", "ship_to"})
MAX_SEARCHES = 5
"""Catalogue searches per message."""
FINAL_STATES = frozenset({"delivered", "cancelled", "refunded", "returned"})


@dataclass
class _Gatherer:
    tools: BoundTools
    decision: RouterDecision
    question: Question
    facts: dict[str, Any] = field(default_factory=dict)

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """An allowed tool's result, or None when the category may not use it or the tool reports an error."""
        if tool not in self.tools.allowed:
            return None
        try:
            return await self.tools.call(tool, arguments)
        except ToolCallError as exc:
            logger.info("%s could not answer (%s); the reply hands it to a colleague", tool, type(exc).__name__)
            return None

    @property
    def category(self) -> str:
        return self.decision.category

    async def orders(self) -> None:
        if not self.tools.customer_email:
            return
        if self.question.order_numbers and "lookup_order" in self.tools.allowed:
            found, missing = [], []
            for number in self.question.order_numbers:
                result = await self.call("lookup_order", {"order_number": number})
                if result is None:
                    missing.append(number)
                else:
                    found.append(OrderDetails.model_validate(result))
            self.facts.update(orders=tuple(found), missing_orders=tuple(missing))
            return
        topics = self.question.topics
        if self.category == "ShippingDelivery" and topics & SHIPPING_TOPICS and "where_is_order" not in topics:
            return  # a general shipping question: the shipping policy answers it, no order needed
        listed = await self.call("list_customer_orders", {"limit": 5})
        if listed is None:
            return
        recent = CustomerOrders.model_validate(listed)
        self.facts["recent_orders"] = recent
        if self.category == "ReturnsCancellationsExchanges":
            return  # which order to return is the customer's to say: the list (with status pages) is the answer
        found = []
        for summary in self._focus(recent.orders):
            result = await self.call("lookup_order", {"order_number": summary.order_number})
            if result is not None:
                found.append(OrderDetails.model_validate(result))
        self.facts["orders"] = tuple(found)

    def _focus(self, orders: list[OrderSummary]) -> list[OrderSummary]:
        """The orders a customer without a number most likely means: the open ones (at most two), else the newest."""
        if not orders:
            return []
        if self.category == "PaymentBilling":
            return orders[:1]
        return [o for o in orders if o.state not in FINAL_STATES][:2] or orders[:1]

    async def products(self) -> None:
        question = self.question
        terms = search_terms(question)
        if not terms or not names_a_product(question):
            return  # 'what is it made of?': the reply asks which product
        found: dict[str, Product] = {}
        for searched, term in enumerate(terms[:MAX_SEARCHES], start=1):
            result = await self.call("search_products", {"query": term[:200], "limit": 10})
            for product in ProductSearch.model_validate(result).products if result else []:
                found.setdefault(product.handle, product)
            specific = len(product_phrases(question.raw)[:2]) + len(question.kinds)
            if searched >= specific and rank_products(list(found.values()), question):
                break
        ranked = rank_products(list(found.values()), question)
        if not ranked:  # a product named exactly but no longer listed (archived) is still found by its handle
            for phrase in product_phrases(question.raw)[:2]:
                result = await self.call("get_product", {"handle": slug(phrase)})
                if result is not None:
                    found.setdefault(result["handle"], Product.model_validate(result))
            ranked = rank_products(list(found.values()), question)
        matches = [await self._match(product) for product in ranked]
        self.facts.update(products=tuple(matches), product_searched=True)
        asks = "recommend" in question.topics or any(m.product.status == "ARCHIVED" for m in matches)
        if matches and asks and all(unavailable(m) for m in matches):
            suggested = await recommend(self.call, [m.product for m in matches], question)
            self.facts["recommendations"] = tuple([await self._match(product) for product in suggested])

    async def _match(self, product: Product) -> ProductMatch:
        """The product in full (every variant), with the variants and option values the customer names."""
        detailed = await self.call("get_product", {"handle": product.handle})
        product = Product.model_validate(detailed) if detailed else product
        question = self.question
        return ProductMatch(product, named_variants(product, question), asked_options(product, question))

    async def discounts(self) -> None:
        checks = []
        for code in self.question.codes:
            result = await self.call("check_discount_code", {"code": code})
            if result is not None:
                checks.append(DiscountCheck.model_validate(result))
        self.facts.update(discounts=tuple(checks), existing_customer=bool(self.question.order_numbers))
        promotions = await self.call("list_promotions", {})
        if promotions is not None:
            self.facts["promotions"] = Promotions.model_validate(promotions)

    def _policy_topics(self) -> dict[str, list[str]]:
        """Which policies answer the question, each with the topics to quote from it."""
        topics, category = self.question.topics, self.category
        wanted: dict[str, list[str]] = {}
        for kind, kind_topics in POLICY_KINDS.items():
            asked = [t for t in kind_topics if t in topics and t != "hygiene"]
            if asked:
                wanted[kind] = asked + (["hygiene"] if kind == "refund" and "hygiene" in topics else [])
        if category == "ReturnsCancellationsExchanges":
            return {"refund": wanted.get("refund") or ["returns", *(["hygiene"] if "hygiene" in topics else [])]}
        if category == "ShippingDelivery":
            shipping = wanted.get("shipping", [])
            orders: tuple[OrderDetails, ...] = self.facts.get("orders", ())
            unshipped = not orders or any(o.state in ("processing", "on_hold", "awaiting_payment") for o in orders)
            if "shipping_time" in shipping and not unshipped:
                shipping.remove("shipping_time")
            return {"shipping": shipping} if shipping else {}
        if category == "AccountProfileOther":
            return dict(list(wanted.items())[:2])
        refund = [t for t in wanted.get("refund", []) if t != "refund_status"]
        if category == "ProductInfoAvailability" and {"exchange", "return_cost"} & set(refund):
            return {"refund": refund}  # 'can I exchange the socks for another size?': the rules, with the exceptions
        if category == "CustomerComplaintsSatisfaction" and {"damaged", "wrong_item"} & set(refund):
            return {"refund": refund}
        if category == "TechnicalIssues" and "payment_failed" in topics:
            return {"terms": ["payment_methods"]}  # the other ways to pay, while a colleague looks at the checkout
        return {}

    async def policies(self) -> None:
        excerpts = []
        orders: tuple[OrderDetails, ...] = self.facts.get("orders", ())
        destinations = [COUNTRY_CODES.get((o.ship_to or "").rpartition(", ")[2].upper()) for o in orders]
        countries = self.question.countries or tuple(dict.fromkeys(filter(None, destinations)))
        for kind, topics in self._policy_topics().items():
            policy = await self._policy(kind, self.decision.language)
            translation = None
            if policy is not None and policy.translated:  # chosen in the original, quoted from the translation
                policy, translation = await self._policy(kind, None), policy
            excerpt = policy_excerpt(policy, topics, countries, translation) if policy is not None else None
            if excerpt is not None:
                excerpts.append(excerpt)
        self.facts["policies"] = tuple(excerpts)

    async def _policy(self, kind: str, language: str | None) -> Policy | None:
        """The shop's `kind` policy: in `language` when the shop publishes an up-to-date translation (`translated`),
        else its own text; None when the tool may not be used or has none (the server caches both texts)."""
        result = await self.call("get_policies", {"kind": kind, **({"language": language} if language else {})})
        found = Policies.model_validate(result).policies[:1] if result else []
        return found[0] if found else None

    async def escalate(self, subject: str, body: str, customer_name: str | None) -> str | None:
        """A ticket for a request only a person can grant (a discount applied afterwards and the difference
        refunded): its reference, or None when escalating is not allowed here or failed."""
        summary = f"{subject}\n\nWhy a person: the customer asks for a price adjustment\n\n{body[:2000]}"
        arguments = {"category": self.category, "summary": summary, "priority": "normal"}
        if self.decision.order_number:
            arguments["order_number"] = self.decision.order_number
        if customer_name:
            arguments["customer_name"] = customer_name
        ticket = await self.call("escalate_ticket", arguments)
        return str(ticket["id"]) if ticket and ticket.get("id") else None


async def answer_offline(
    tools: BoundTools,
    decision: RouterDecision,
    *,
    subject: str,
    body: str,
    customer_name: str | None,
    tone: Tone,
    handover: bool,
    ticket_id: str | None = None,
) -> str:
    """Read the question, gather its facts with the category's allowed tools, and render the reply in the customer's
    language. A handover gets the holding reply and no lookups (a person answers)."""
    base: dict[str, Any] = {"customer_name": customer_name, "handover": handover, "ticket_id": ticket_id}
    if handover:
        return render_reply(decision.category, decision.language, ReplyFacts(**base), tone=tone)
    question = read_question(subject, body, decision)
    gatherer = _Gatherer(tools, decision, question)
    category = decision.category
    if category in ORDER_CATEGORIES:
        await gatherer.orders()
    if category == "ProductInfoAvailability":
        await gatherer.products()
    if category == "PromotionsDiscountsPricing":
        await gatherer.discounts()
    await gatherer.policies()
    if category == "PromotionsDiscountsPricing" and "price_adjustment" in question.topics and ticket_id is None:
        base["ticket_id"] = await gatherer.escalate(subject, body, customer_name)
    sorry = decision.sentiment in ("negative", "angry")
    facts = ReplyFacts(
        **base,
        **gatherer.facts,
        topics=question.topics,
        sorry=sorry,
        measurements=question.measurements,
        deadline=question.deadline,
    )
    return render_reply(category, decision.language, facts, tone=tone)
