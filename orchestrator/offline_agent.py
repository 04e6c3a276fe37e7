"""The offline engine's category agent: rules pick the tools; the project's templates write the reply from results."""

from __future__ import annotations

import logging
import re
from typing import Any

from orchestrator.models import RouterDecision
from orchestrator.errors import ToolCallError
from orchestrator.templates import ReplyFacts, Tone, render_reply
from orchestrator.tools import BoundTools
from shopify_mcp.models import CustomerOrders, DiscountCheck, OrderDetails, Policies, Product, ProductSearch, Promotions

logger = logging.getLogger(__name__)

ORDER_CATEGORIES = frozenset(
    {"OrderPlacementStatus", "ShippingDelivery", "ReturnsCancellationsExchanges", "PaymentBilling"}
)
ESCALATED_CATEGORIES = frozenset({"TechnicalIssues", "CustomerComplaintsSatisfaction"})
_CODE = re.compile(r"\b[A-Z][A-Z0-9]{3,19}\b")
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_COMMON_WORDS = """
hola hello bonjour hallo buongiorno ciao gracias thanks merci danke obrigado grazie saludos regards cordialement
grüße gruss saluti please favor quiero would like want have tengo pedido order commande bestellung ordine encomenda
size talla taille größe tamanho taglia stock available disponible verfügbar disponibile when cuando quand wann
quando still todavía encore noch ainda ancora para pour für with avec mit this that este esta cette dieser diese
questo questa also también aussi auch anche
"""
_COMMON = frozenset(_COMMON_WORDS.split())


def discount_codes(text: str) -> list[str]:
    """Upper-case tokens with a digit (SUMMER25, WELCOME10): what customers paste from an email or an ad."""
    return [code for code in dict.fromkeys(_CODE.findall(text)) if any(c.isdigit() for c in code)][:3]


def product_terms(subject: str, body: str) -> list[str]:
    """Words worth a product search, most specific first (subject words before body words)."""
    words = [w for w in _WORD.findall(f"{subject} {body}") if w.lower() not in _COMMON]
    capitalised = [w for w in words if w[0].isupper()]
    return list(dict.fromkeys(capitalised + words))[:6]


async def _order_facts(tools: BoundTools, decision: RouterDecision, facts: dict[str, Any]) -> None:
    if decision.order_number:
        try:
            facts["order"] = OrderDetails.model_validate(
                await tools.call("lookup_order", {"order_number": decision.order_number})
            )
        except ToolCallError:
            facts["order_number_not_found"] = decision.order_number
        return
    listed = CustomerOrders.model_validate(await tools.call("list_customer_orders", {"limit": 5}))
    facts["orders"] = listed
    if len(listed.orders) == 1 or (listed.orders and decision.category == "ShippingDelivery"):
        latest = listed.orders[0].order_number
        facts["order"] = OrderDetails.model_validate(await tools.call("lookup_order", {"order_number": latest}))


async def _product_facts(tools: BoundTools, subject: str, body: str, facts: dict[str, Any]) -> None:
    found: dict[str, Product] = {}
    for term in product_terms(subject, body):
        search = ProductSearch.model_validate(await tools.call("search_products", {"query": term, "limit": 3}))
        for product in search.products:
            found.setdefault(product.handle, product)
        if len(found) >= 2:
            break
    if found:
        best = next(iter(found.values()))
        detailed = Product.model_validate(
            await tools.call("get_product", {"handle": best.handle, "include_locations": True})
        )
        found[best.handle] = detailed
    facts["products"] = list(found.values())[:3]


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
    """Gather the category's facts with the allowed tools and render the template in the customer's language."""
    facts: dict[str, Any] = {"customer_name": customer_name, "handover": handover, "ticket_id": ticket_id}
    category = decision.category
    allowed = set(tools.allowed)
    try:
        if category in ORDER_CATEGORIES and tools.customer_email:
            await _order_facts(tools, decision, facts)
        if category == "ReturnsCancellationsExchanges" and "get_policies" in allowed:
            policies = Policies.model_validate(await tools.call("get_policies", {"kind": "refund"}))
            facts["policy"] = policies.policies[0] if policies.policies else None
        if category == "ProductInfoAvailability":
            await _product_facts(tools, subject, body, facts)
        if category == "PromotionsDiscountsPricing":
            for code in discount_codes(f"{subject}\n{body}"):
                facts["discount"] = DiscountCheck.model_validate(
                    await tools.call("check_discount_code", {"code": code})
                )
                break
            facts["promotions"] = Promotions.model_validate(await tools.call("list_promotions", {}))
    except ToolCallError as exc:
        logger.info("A tool could not answer (%s); the reply says a colleague will check", exc.tool)
    return render_reply(category, decision.language, ReplyFacts(**facts), tone=tone)
