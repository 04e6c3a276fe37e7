"""The offline agent answers what was asked: every order number in the message, the product and variant named, the
policy that answers, the billing problem stated; its tools stay within the category's allow-list, identity bound.

The Shopify MCP server runs in this process over the sandbox store (the SDK's in-memory transport); the customers'
messages are the sandbox inbox's own mail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import anyio
import pytest

from gmail_mcp.quotes import split_reply
from gmail_mcp.sandbox_mailbox import SANDBOX_DIR
from orchestrator.config import load_config
from orchestrator.models import RouterDecision
from orchestrator.offline_agent import MAX_SEARCHES, answer_offline
from orchestrator.offline_router import extract_order_number
from orchestrator.phrasebook import phrasebook
from orchestrator.policy_excerpts import POLICY_EXCERPT, policy_excerpt
from orchestrator.product_matching import search_terms
from orchestrator.questions import discount_codes, order_numbers, read_question
from orchestrator.reply_facts import Tone
from orchestrator.servers import ServerConnection, ServerSpec
from orchestrator.tools import BoundTools
from shopify_mcp.context import open_context
from shopify_mcp.emulator import load_sandbox_store
from shopify_mcp.server import create_server
from support_core.store import Policy
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.support import OWNER, make_settings

pytestmark = pytest.mark.anyio
CONFIG = load_config()
TONE = Tone(
    persona_name="Carolina",
    shop_name=CONFIG.shop.name,
    signature=CONFIG.tone.signature,
    signatures=CONFIG.tone.signatures,
)


@dataclass(frozen=True)
class InProcessSpec(ServerSpec):
    """The Shopify MCP server object itself as the connection's target: `Client(server)` talks to it in memory."""

    server: Any = None

    def target(self) -> Any:
        return self.server


@pytest.fixture
async def shopify(tmp_path: Path) -> AsyncIterator[ServerConnection]:
    async with open_context(make_settings(tmp_path), emulator=ShopifyEmulator(store=load_sandbox_store())) as ctx:
        connection = ServerConnection(InProcessSpec("shopify", server=create_server(ctx)))
        async with anyio.create_task_group() as tg:
            await tg.start(connection.keep)
            yield connection
            connection.close()


def mail(name: str) -> tuple[str, str, str]:
    """(sender, subject, new text) of a sandbox inbox message: what the pipeline hands the agent."""
    message = message_from_bytes((SANDBOX_DIR / name).read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return (
        str(message["From"].addresses[0].addr_spec),
        str(message["Subject"]),
        split_reply(part.get_content()).new_text,
    )


@dataclass
class Answer:
    text: str
    tools: BoundTools

    @property
    def called(self) -> list[str]:
        return [call.tool for call in self.tools.calls]


async def answer(
    shopify: ServerConnection,
    body: str,
    *,
    category: str,
    language: str,
    subject: str = "",
    email: str | None = OWNER,
    sentiment: str = "neutral",
    handover: bool = False,
    also: tuple[str, ...] = (),
) -> Answer:
    """The agent's reply with the category's configured allow-list (plus the tools in `also`: `escalate_ticket`, which
    the inbox pipeline always adds, or a tool a merchant may allow), the customer's address bound."""
    decision = RouterDecision.model_validate(
        {
            "category": category,
            "language": language,
            "order_number": extract_order_number(subject, body),
            "sentiment": sentiment,
            "confidence": 0.9,
        }
    )
    allowed = (*CONFIG.categories[category].tools, *also)
    tools = BoundTools(shopify, email, allowed)
    text = await answer_offline(
        tools, decision, subject=subject, body=body, customer_name=None, tone=TONE, handover=handover
    )
    assert {call.tool for call in tools.calls} <= set(allowed)
    assert text.rstrip().endswith(CONFIG.tone.signatures[language])
    return Answer(text, tools)


async def test_every_order_number_in_the_message_is_answered(shopify: ServerConnection) -> None:
    sender, subject, body = mail("17-es-followup-1021-1029.eml")
    reply = await answer(shopify, body, subject=subject, category="ShippingDelivery", language="es", email=sender)
    assert reply.called == ["lookup_order", "lookup_order", "get_policies", "get_policies"], "translated: + original"
    assert "Pedido #1021" in reply.text and "Pedido #1029" in reply.text
    assert "DHL Express, número de seguimiento 6219473050" in reply.text
    assert "El pedido #1029 todavía no ha salido de nuestro almacén." in reply.text
    assert "De nuestra página «" in reply.text and "solo está publicada" not in reply.text, "answered in Spanish"
    assert "- España: SEUR o Correos" in reply.text and "Portugal: CTT" not in reply.text, "her country, translated"


async def test_someone_elses_order_number_reveals_nothing(shopify: ServerConnection) -> None:
    reply = await answer(shopify, "Where is my order #1019?", category="ShippingDelivery", language="en")
    assert reply.called == ["lookup_order"]
    book = phrasebook("en")
    assert book.say("order_not_found", number="#1019") in reply.text and book.say("check_number") in reply.text
    assert "UPS" not in reply.text and "http" not in reply.text


async def test_a_restock_question_answers_the_product_and_variant_asked(shopify: ServerConnection) -> None:
    sender, subject, body = mail("06-de-stock-leggings-deep-navy.eml")
    reply = await answer(
        shopify, body, subject=subject, category="ProductInfoAvailability", language="de", email=sender
    )
    text = reply.text
    assert "„Pro Compression Leggings“, 69,90 EUR:" in text
    assert "- L / Deep Navy: ausverkauft" in text and "- XS / Black" not in text, "the variant asked, not all 8"
    assert phrasebook("de").say("restock_unknown", variant="L / Deep Navy") in text
    assert phrasebook("de").say("note_restock") in text
    for other in ("Socks", "Sleeves", "Bra", "Tights"):
        assert other not in text
    assert reply.called.count("search_products") <= MAX_SEARCHES and "get_product" in reply.called


async def test_a_product_the_shop_does_not_sell_is_not_matched_by_its_colour(shopify: ServerConnection) -> None:
    reply = await answer(
        shopify, "Hi, do you have the navy sweater in size M?", category="ProductInfoAvailability", language="en"
    )
    assert phrasebook("en").say("product_not_found") in reply.text
    assert "Leggings" not in reply.text and "http" not in reply.text
    assert "search_products" in reply.called


async def test_a_discontinued_product_is_found_by_its_name(shopify: ServerConnection) -> None:
    sender, subject, body = mail("22-en-back-in-stock-merino-tee.eml")
    reply = await answer(
        shopify, body, subject=subject, category="ProductInfoAvailability", language="en", email=sender
    )
    assert "The product “Merino Blend Running Tee” is no longer part of our range" in reply.text
    assert phrasebook("en").say("note_recommend") in reply.text
    assert "in stock" not in reply.text


async def test_a_size_question_gets_the_sizes_asked_and_the_size_guide(shopify: ServerConnection) -> None:
    sender, subject, body = mail("21-de-size-running-socks.eml")
    reply = await answer(
        shopify, body, subject=subject, category="ProductInfoAvailability", language="de", email=sender
    )
    text = reply.text
    assert "„Graduated Compression Running Socks“, 24,90 EUR:" in text
    assert "- M: auf Lager\n- L: auf Lager\n" in text, "the sizes she asks about; no colour she did not ask about"
    assert "/ White" not in text and "- S:" not in text and "- S /" not in text
    assert "Aus der Beschreibung von „Graduated Compression Running Socks“, die auf Englisch verfasst ist:" in text
    assert "> L: calf 38-43 cm, shoe EU 43-46" in text
    assert "- Wadenumfang 38 cm: genau an der Grenze zwischen Größe M und Größe L\n- Schuhgröße 44: Größe L\n" in text
    assert "Größe L passt also zu allen Maßen, die du uns genannt hast." in text
    book = phrasebook("de")
    assert book.say("note_size") not in text, "the size guide answers it"
    assert book.say("note_returns_question") not in text, "the exchange question is answered from the policy"
    assert book.say("note_recommend") not in text, "she asked for a size, not another product"
    with_policy = await answer(
        shopify,
        body,
        subject=subject,
        category="ProductInfoAvailability",
        language="de",
        email=sender,
        also=("get_policies",),
    )
    quoted = "\n".join(line for line in with_policy.text.splitlines() if line.startswith(">"))
    assert "Kompressionsstrümpfe und -sleeves nur ungeöffnet" in quoted, "the hygiene exception, in German"
    assert "> - Aus hygienischen Gründen" in text, "the shipped allow-list has get_policies for product questions"
    assert book.say("note_returns_question") not in with_policy.text, "the policy answers the exchange question"


@pytest.mark.parametrize(
    ("language", "question", "intro"),
    [
        ("en", "How long does delivery to Portugal take, and what does it cost?", "From our “Shipping policy” page:"),
        ("pt", "Quanto tempo demora o envio para Portugal?", "A nossa página «Shipping policy» só está publicada em"),
    ],
)
async def test_a_shipping_question_is_answered_from_the_policy_without_an_order(
    shopify: ServerConnection, language: str, question: str, intro: str
) -> None:
    reply = await answer(shopify, question, category="ShippingDelivery", language=language)
    assert reply.called == ["get_policies"], "no order is needed, none is listed"
    assert intro in reply.text and "> - Portugal: CTT, 2\u20134 business days, €4.90" in reply.text
    assert "> - Spain" not in reply.text, "the line for the country asked"
    assert phrasebook(language).say("no_orders") not in reply.text
    assert phrasebook(language).say("ask_order_number") not in reply.text


async def test_a_double_charge_is_answered_as_a_double_charge(shopify: ServerConnection) -> None:
    sender, subject, body = mail("18-de-double-charge-1030.eml")
    reply = await answer(shopify, body, subject=subject, category="PaymentBilling", language="de", email=sender)
    book = phrasebook("de")
    assert book.say("double_charge") in reply.text and book.say("note_double_charge") in reply.text
    assert "Gesamtbetrag von 69,80 EUR, und ihr Zahlungsstatus ist: bezahlt." in reply.text
    assert book.say("no_refund", number="#1030") not in reply.text, "the refund asked for is the second charge's"


async def test_a_pending_payment_says_so_and_when_the_order_ships(shopify: ServerConnection) -> None:
    sender, subject, body = mail("12-pt-payment-multibanco-1027.eml")
    reply = await answer(shopify, body, subject=subject, category="PaymentBilling", language="pt", email=sender)
    book = phrasebook("pt")
    assert "continua a aparecer como pendente" in reply.text
    assert book.say("waiting_for_payment", number="#1027") in reply.text
    assert "reembolso" not in reply.text.lower(), "nobody asked about a refund"


async def test_a_french_return_question_gets_the_shops_french_policy(shopify: ServerConnection) -> None:
    """The sandbox shop publishes a French refund policy: the paragraphs are chosen in the original and quoted from
    the translation."""
    sender, subject, body = mail("05-fr-return-1017.eml")
    reply = await answer(
        shopify, body, subject=subject, category="ReturnsCancellationsExchanges", language="fr", email=sender
    )
    assert reply.called == ["lookup_order", "get_policies", "get_policies"]
    lines = reply.text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(">"))
    assert lines[first - 1].startswith("Extrait de notre page « ")
    quoted = "\n".join(line for line in lines if line.startswith(">"))
    assert "les frais de retour sont à votre charge" in quoted and "Les remboursements acceptés" in quoted
    assert "Espagne" not in quoted and "Spain" not in quoted and "cartes cadeaux" not in quoted.lower(), "for France"
    assert phrasebook("fr").say("refund_after_return", number="#1017") in reply.text


async def test_a_late_parcel_is_late(shopify: ServerConnection) -> None:
    sender, subject, body = mail("08-en-delay-complaint-1019.eml")
    reply = await answer(
        shopify, body, subject=subject, category="ShippingDelivery", language="en", email=sender, sentiment="negative"
    )
    book = phrasebook("en")
    assert "so it is running late" in reply.text and book.say("note_late") in reply.text
    assert "Expected delivery" not in reply.text and book.say("sorry") in reply.text


async def test_a_delivery_request_is_passed_on(shopify: ServerConnection) -> None:
    body = "Mi pedido #1025 está en reparto hoy, pero no estaré en casa. ¿Puede dejarlo en la portería?"
    now = datetime.now(UTC)
    reply = await answer(shopify, body, category="ShippingDelivery", language="es", email="nuria.puig@example.net")
    # the sandbox's parcel is due 0.2 days (4.8 h) from now: today, or tomorrow when run after 19:12 UTC
    due = "hoy" if (now + timedelta(days=0.2)).date() == now.date() else "mañana"
    assert f"- Entrega prevista {due}." in reply.text
    assert phrasebook("es").say("note_delivery_change") in reply.text


async def test_an_expired_code_is_explained(shopify: ServerConnection) -> None:
    sender, subject, body = mail("03-it-discount-summer25.eml")
    reply = await answer(
        shopify, body, subject=subject, category="PromotionsDiscountsPricing", language="it", email=sender
    )
    assert reply.called == ["check_discount_code", "list_promotions"]
    assert "Il codice SUMMER25 è scaduto il " in reply.text and "con il codice SOCKS3X2" in reply.text
    assert "WELCOME10" not in reply.text, "a welcome offer is for a first order; she writes about her order #1024"
    recovery = re.search(r"Recovery week[^\n]*: 20% di sconto, fino (all'|al )(\d{1,2}) \w+ \d{4}", reply.text)
    assert recovery or "Recovery week" not in reply.text, reply.text
    if recovery:  # the sandbox dates its promotions from today: the article must fit whichever day it is
        article, day = recovery.groups()
        assert (article == "all'") is (day in {"1", "8", "11"}), "all'1, all'8, all'11; al with every other day"
    assert "valido" not in reply.text and "applicata" not in reply.text, "no adjective that may not agree"
    assert phrasebook("it").say("note_price_adjustment") in reply.text, "she asks to refund the difference"


async def test_a_handover_looks_nothing_up(shopify: ServerConnection) -> None:
    reply = await answer(shopify, "Where is #1021?!", category="ShippingDelivery", language="en", handover=True)
    assert reply.called == [] and phrasebook("en").say("holding") in reply.text


async def test_without_a_verified_address_no_order_is_looked_up(shopify: ServerConnection) -> None:
    reply = await answer(shopify, "Where is my order #1021?", category="ShippingDelivery", language="en", email=None)
    assert reply.called == [] and phrasebook("en").say("ask_order_number") in reply.text


async def test_tools_outside_the_categorys_allow_list_are_never_called(shopify: ServerConnection) -> None:
    """PaymentBilling may not read policies; ProductInfoAvailability may not read orders."""
    billing = await answer(
        shopify, "How much is shipping to France? Order #1021", category="PaymentBilling", language="en"
    )
    assert "get_policies" not in billing.called
    product = await answer(
        shopify, "Is my order #1021 leggings M black in stock?", category="ProductInfoAvailability", language="en"
    )
    assert "lookup_order" not in product.called and "#1021" not in product.text


def test_the_question_is_read_in_every_language() -> None:
    assert order_numbers("Pedido #1021 y el #1029", "order 1030", first="1021") == ("#1021", "#1029", "#1030")
    assert discount_codes("I tried SUMMER25 and welcome10 and WELCOME10") == ["SUMMER25", "WELCOME10"]
    cases = {
        "Ich habe zweimal bezahlt, bitte erstatten": {"double_charge", "refund_status"},
        "Quand serai-je remboursée ? Dois-je payer les frais de retour ?": {"refund_status", "return_cost"},
        "¿Cuándo vuelve a estar disponible la talla L?": {"restock"},
        "Quanto tempo demora o envio para Portugal?": {"shipping_time"},
        "Mi serve la fattura dell'ordine": {"invoice"},
        "Welche Größe würdet ihr empfehlen?": {"size", "recommend"},
    }
    decision = RouterDecision(category="AccountProfileOther", language="en", confidence=0.9)
    for text, topics in cases.items():
        assert topics <= read_question("", text, decision).topics, text
    navy = read_question("", "Do you have the navy sweater?", decision)
    assert "navy" not in search_terms(navy), "a colour alone matches every product in that colour"
    assert read_question("", "Livraison en Allemagne ?", decision).countries == ("Germany",)


def test_policy_excerpts_are_whole_paragraphs_for_the_customers_country() -> None:
    text = (
        "Refunds\n\nWe inspect returns within 3 business days. Approved refunds reach your bank within 5 days.\n\n"
        "How to start a return\n\n- Spain & Portugal: returns are free with our prepaid label.\n\n"
        "- Rest of the EU: return shipping is at your expense.\n\n- Write to us first.\n\n"
        "Gift cards\n\nGift cards are not refundable."
    )
    policy = Policy(type="REFUND_POLICY", title="Refund policy", url="https://shop.example/policies/refund", text=text)
    excerpt = policy_excerpt(policy, ["refund_status", "return_cost"], ("France",))
    assert excerpt is not None and excerpt.language == "en"
    assert excerpt.text == (
        "Refunds\nWe inspect returns within 3 business days. Approved refunds reach your bank within 5 days.\n\n"
        "How to start a return\n- Rest of the EU: return shipping is at your expense."
    )
    spain = policy_excerpt(policy, ["return_cost"], ("Spain",))
    assert spain is not None and "prepaid label" in spain.text and "Rest of the EU" not in spain.text
    assert policy_excerpt(policy, ["customs"], ()) is None
    assert len(policy_excerpt(policy, ["returns", "refund_status"], ()).text) <= POLICY_EXCERPT  # type: ignore[union-attr]


async def test_an_address_sent_for_an_order_on_hold_is_acknowledged(shopify: ServerConnection) -> None:
    _, subject, body = mail("10-contact-form-shopify.eml")
    reply = await answer(
        shopify, body, subject=subject, category="OrderPlacementStatus", language="en", email="emily.carter@example.com"
    )
    book = phrasebook("en")
    assert "Order #1026 (placed" in reply.text and ": on hold." in reply.text
    assert book.say("note_address") in reply.text and book.say("note_on_hold") not in reply.text
    assert "Division St" not in reply.text, "her address is not repeated back"


async def test_a_policy_question_is_answered_from_that_policy(shopify: ServerConnection) -> None:
    reply = await answer(
        shopify, "Please delete my personal data. What are my rights?", category="AccountProfileOther", language="en"
    )
    assert reply.called == ["get_policies"]
    assert "From our “Privacy policy” page:" in reply.text and "> Your rights" in reply.text
    assert "> What we collect" not in reply.text, "the part asked about, not the whole policy"
    assert phrasebook("en").say("next_policy") in reply.text


async def test_a_request_for_someone_elses_data_gets_no_policy_dump(shopify: ServerConnection) -> None:
    sender, subject, body = mail("13-en-prompt-injection-stranger.eml")
    reply = await answer(shopify, body, subject=subject, category="AccountProfileOther", language="en", email=sender)
    assert reply.called == [] and phrasebook("en").say("next_AccountProfileOther") in reply.text
    assert "maria.garcia" not in reply.text


async def test_a_technical_problem_asks_only_for_what_is_missing(shopify: ServerConnection) -> None:
    sender, subject, body = mail("19-fr-checkout-error.eml")
    reply = await answer(shopify, body, subject=subject, category="TechnicalIssues", language="fr", email=sender)
    book = phrasebook("fr")
    assert book.say("tech_screenshot") not in reply.text, "she quoted the message word for word"
    assert book.say("tech_device") not in reply.text and book.say("tech_device_only") not in reply.text
    assert book.say("tech_workarounds_payment") in reply.text
    assert "avant le 13 décembre" in reply.text, "her deadline is acknowledged"
    quoted = "\n".join(line for line in reply.text.splitlines() if line.startswith(">"))
    assert "We accept cards, PayPal, Bizum, Multibanco and bank transfer" in quoted, "the other ways to pay"
