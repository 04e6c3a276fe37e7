"""The offline engine's replies: every category in every language, filled with real facts from the sandbox store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.language import detect_language
from orchestrator.models import CATEGORIES, LANGUAGES
from orchestrator.templates import ReplyFacts, Tone, phrasebook, render_reply
from shopify_mcp.context import open_context
from shopify_mcp.emulator import ShopifyEmulator, load_sandbox_store
from shopify_mcp.models import CustomerOrders, DiscountCheck, OrderDetails, Policy, Product, Promotions
from tests.shopify_mcp.support import OWNER, make_settings

TONE = Tone(
    persona_name="Carolina", shop_name="Aurora Activewear", signature="Carolina\nAurora Activewear · Customer care"
)
URL = re.compile(r"https?://[^\s)>\]]+")


@dataclass(frozen=True)
class SandboxFacts:
    order: OrderDetails
    orders: CustomerOrders
    product: Product
    discount: DiscountCheck
    promotions: Promotions
    policy: Policy


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxFacts]:
    """Facts fetched through the real tool layer (Admin API client -> emulator over the sandbox store)."""
    async with open_context(make_settings(tmp_path), emulator=ShopifyEmulator(store=load_sandbox_store())) as ctx:
        yield SandboxFacts(
            order=await ctx.orders.lookup("#1021", OWNER),
            orders=await ctx.orders.list_for_customer(OWNER),
            product=await ctx.catalog.get(handle="pro-compression-leggings", include_locations=True),
            discount=await ctx.discounts.check("SUMMER25"),
            promotions=await ctx.discounts.promotions(),
            policy=(await ctx.policies.get("refund")).policies[0],
        )


def _facts(category: str, sandbox: SandboxFacts) -> ReplyFacts:
    """What the offline agent would fetch for `category`."""
    if category == "ProductInfoAvailability":
        return ReplyFacts(customer_name="María García", products=[sandbox.product])
    if category == "PromotionsDiscountsPricing":
        return ReplyFacts(customer_name="María", discount=sandbox.discount, promotions=sandbox.promotions)
    if category == "ReturnsCancellationsExchanges":
        return ReplyFacts(customer_name="María", order=sandbox.order, policy=sandbox.policy, ticket_id="T-000042")
    if category == "AccountProfileOther":
        return ReplyFacts(customer_name="María")
    return ReplyFacts(customer_name="María", order=sandbox.order)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _fact_urls(facts: ReplyFacts) -> set[str]:
    """Every URL that appears anywhere in the facts (the only links a reply may contain)."""
    urls: set[str] = set()
    for model in (facts.order, facts.orders, facts.discount, facts.promotions, facts.policy, *facts.products):
        if model is not None:
            urls |= {url for text in _strings(model.model_dump()) for url in URL.findall(text)}
    return urls


def _template_text(reply: str, facts: ReplyFacts) -> str:
    """The reply without the merchant's own words (policy text, product and item titles), for language checks."""
    text = reply
    for line in facts.policy.text.splitlines() if facts.policy else []:
        text = text.replace(line.strip(), "")
    titles = [p.title for p in facts.products] + [i.title for i in (facts.order.items if facts.order else [])]
    titles += [v.title for p in facts.products for v in p.variants]
    for title in sorted(titles, key=len, reverse=True):
        text = text.replace(title, "")
    return URL.sub("", text)


def _check(reply: str, language: str, facts: ReplyFacts) -> None:
    assert "$" not in reply and "{" not in reply and "}" not in reply, reply
    assert set(URL.findall(reply)) <= _fact_urls(facts), set(URL.findall(reply)) - _fact_urls(facts)
    assert reply.rstrip().endswith("Carolina\nAurora Activewear · Customer care")
    assert detect_language(_template_text(reply, facts)) == language, reply


@pytest.mark.anyio
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_category_renders_real_facts_in_the_language(language: str, sandbox: SandboxFacts) -> None:
    for category in CATEGORIES:
        facts = _facts(category, sandbox)
        reply = render_reply(category, language, facts, tone=TONE)
        _check(reply, language, facts)
        if facts.order is not None:
            for number, url in [("07000199475263", "https://www.seur.com/"), ("6219473050", "https://www.dhl.com/")]:
                assert number in reply and url in reply, (category, reply)
            assert sandbox.order.status_page_url in reply
            assert phrasebook(language).word("state", "partially_shipped") in reply
            assert phrasebook(language).money(sandbox.order.totals.total) in reply
            assert "Thermal Half-Zip Running Top (XL / Berry)" in reply
        assert "María" in reply.splitlines()[0]


@pytest.mark.anyio
async def test_shipping_reply_in_spanish_has_carriers_dates_and_the_unshipped_item(sandbox: SandboxFacts) -> None:
    reply = render_reply("ShippingDelivery", "es", ReplyFacts(order=sandbox.order), tone=TONE)
    assert "DHL Express, número de seguimiento 6219473050: https://www.dhl.com/" in reply
    eta = sandbox.order.shipments[1].estimated_delivery_at
    assert eta is not None
    assert phrasebook("es").date(eta) in reply and " de 20" in phrasebook("es").date(eta)
    assert "Pendiente de envío: 1 \u00d7 Thermal Half-Zip Running Top (XL / Berry)" in reply
    assert reply.startswith("Hola, María:")


@pytest.mark.anyio
async def test_product_reply_lists_stock_per_variant_and_its_page(sandbox: SandboxFacts) -> None:
    facts = ReplyFacts(products=[sandbox.product])
    reply = render_reply("ProductInfoAvailability", "de", facts, tone=TONE)
    book = phrasebook("de")
    for variant in sandbox.product.variants:
        assert f"- {variant.title}: {book.word('stock', variant.stock_status)}" in reply
    assert "ausverkauft" in reply  # L / Deep Navy is sold out everywhere in the sandbox
    assert str(sandbox.product.url) in reply
    assert "69,90 EUR" in reply


@pytest.mark.anyio
async def test_discount_reply_explains_the_expiry_and_lists_public_promotions(sandbox: SandboxFacts) -> None:
    facts = ReplyFacts(discount=sandbox.discount, promotions=sandbox.promotions)
    reply = render_reply("PromotionsDiscountsPricing", "it", facts, tone=TONE)
    info = sandbox.discount.discount
    assert info is not None and info.ends_at is not None
    assert f"Il codice SUMMER25 è scaduto il {phrasebook('it').date(info.ends_at)}" in reply
    for promotion in sandbox.promotions.public_codes:
        assert f"con il codice {promotion.code}" in reply
    assert "60,00 EUR" in reply


@pytest.mark.anyio
async def test_returns_reply_quotes_at_most_800_characters_of_the_policy(sandbox: SandboxFacts) -> None:
    facts = ReplyFacts(order=sandbox.order, policy=sandbox.policy)
    reply = render_reply("ReturnsCancellationsExchanges", "fr", facts, tone=TONE)
    quoted = "\n".join(line[2:] for line in reply.splitlines() if line.startswith(">"))
    assert 0 < len(quoted) <= 800
    assert sandbox.policy.url in reply
    assert "Nous ne voyons pas encore de remboursement" in reply


@pytest.mark.anyio
async def test_recent_orders_without_a_number_list_each_order(sandbox: SandboxFacts) -> None:
    facts = ReplyFacts(orders=sandbox.orders)
    reply = render_reply("ShippingDelivery", "pt", facts, tone=TONE)
    _check(reply, "pt", facts)
    for summary in sandbox.orders.orders:
        assert summary.order_number in reply and summary.status_page_url in reply


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("category", ["OrderPlacementStatus", "ShippingDelivery", "PaymentBilling"])
def test_order_category_without_an_order_asks_for_the_number(category: str, language: str) -> None:
    reply = render_reply(category, language, ReplyFacts(), tone=TONE)
    assert phrasebook(language).say("ask_order_number") in reply
    assert URL.findall(reply) == []
    assert detect_language(reply) == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_order_number_is_named_and_sanitised(language: str) -> None:
    facts = ReplyFacts(order_number_not_found="1017<script>")
    reply = render_reply("ReturnsCancellationsExchanges", language, facts, tone=TONE)
    assert "#1017" in reply and "<script>" not in reply


@pytest.mark.parametrize("language", LANGUAGES)
def test_handover_gets_the_holding_reply_without_facts(language: str) -> None:
    facts = ReplyFacts(customer_name="Søren", handover=True, ticket_id="T-000007")
    reply = render_reply("CustomerComplaintsSatisfaction", language, facts, tone=TONE)
    assert phrasebook(language).say("holding") in reply
    assert "T-000007" in reply and "Søren" in reply
    assert URL.findall(reply) == []


def test_missing_facts_are_handed_to_a_colleague() -> None:
    reply = render_reply("ProductInfoAvailability", "en", ReplyFacts(), tone=TONE)
    assert phrasebook("en").say("no_products") in reply
    reply = render_reply("PromotionsDiscountsPricing", "es", ReplyFacts(), tone=TONE)
    assert phrasebook("es").say("colleague_check") in reply


def test_untrusted_customer_name_never_becomes_a_link() -> None:
    reply = render_reply("AccountProfileOther", "en", ReplyFacts(customer_name="http://evil.example/x Bob"), tone=TONE)
    assert "evil" not in reply and reply.startswith("Hello,")


def test_unknown_language_falls_back_to_english_and_emoji_is_optional() -> None:
    tone = Tone(persona_name="Carolina", shop_name="Aurora Activewear", signature="", emoji=True)
    reply = render_reply("TechnicalIssues", "nl", ReplyFacts(), tone=tone)
    assert detect_language(reply) == "en" and "🙂" in reply and reply.rstrip().endswith("Carolina")
    assert "🙂" not in render_reply("TechnicalIssues", "en", ReplyFacts(), tone=TONE)


def test_every_phrasebook_has_the_same_keys_and_every_state() -> None:
    english = phrasebook("en").data
    for language in LANGUAGES:
        data = phrasebook(language).data
        for table in ("text", "state", "delivery_status", "stock", "financial", "return_status", "format"):
            assert set(data[table]) == set(english[table]), (language, table)
        assert len(data["format"]["months"]) == 12
    for state in OrderDetails.model_fields["state"].annotation.__args__:  # type: ignore[union-attr]
        assert state in english["state"]
