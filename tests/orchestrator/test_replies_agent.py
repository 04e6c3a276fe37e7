"""The offline agent answers what was asked, against the sandbox store over MCP (in memory): a variant that does not
exist, a question that names no product, an archived product's facts, a suggestion only when one really fits, a
wrong item, a damaged item, a double charge said in other words, and a request only a person can grant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from orchestrator.phrasebook import phrasebook
from orchestrator.servers import ServerConnection
from shopify_mcp.context import open_context
from shopify_mcp.emulator import load_sandbox_store
from shopify_mcp.emulator.store import Store
from shopify_mcp.server import create_server
from support_testing.shopify_emulator import ShopifyEmulator
from tests.orchestrator.test_offline_agent import InProcessSpec, answer, mail, shopify
from tests.shopify_mcp.support import make_settings

pytestmark = pytest.mark.anyio
__all__ = ["shopify"]  # the fixture, shared with test_offline_agent


def quoted(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith(">"))


async def test_a_variant_that_does_not_exist_is_named_and_the_closest_are_listed(shopify: ServerConnection) -> None:
    reply = await answer(
        shopify, "Do you have the sports bra in sage, size L?", category="ProductInfoAvailability", language="en"
    )
    text = reply.text
    assert "“Seamless Support Sports Bra” (44.90 EUR) does not come in L / Sage." in text
    assert "- S / Sage: only a few left\n- M / Sage: only a few left" in text.replace("- L / Black: in stock\n", "")
    assert "- L / Black: in stock" in text and "XS / Black" not in text and "M / Black" not in text
    jacket = await answer(
        shopify, "¿Tenéis la chaqueta azul en talla S?", category="ProductInfoAvailability", language="es"
    )
    assert "No tenemos «Featherlight Running Jacket» (119,00 EUR) en S / Glacier Blue." in jacket.text
    assert "- S / Black: disponible" in jacket.text or "- S / Black: quedan pocas unidades" in jacket.text
    assert "M / Glacier Blue" in jacket.text and "M / Black" not in jacket.text and "L / Black" not in jacket.text


async def test_a_question_that_names_no_product_asks_which_one(shopify: ServerConnection) -> None:
    for language, question in (("en", "What is it made of and how do I wash it?"), ("it", "Di che materiale è?")):
        reply = await answer(shopify, question, category="ProductInfoAvailability", language=language)
        book = phrasebook(language)
        assert book.say("ask_which_product") in reply.text
        assert book.say("product_not_found") not in reply.text and reply.called == []


async def test_an_archived_product_still_gets_the_facts_the_store_has(shopify: ServerConnection) -> None:
    reply = await answer(
        shopify,
        "What is the Merino Blend Running Tee made of, and how should I wash it?",
        category="ProductInfoAvailability",
        language="en",
    )
    assert "“Merino Blend Running Tee” is no longer part of our range" in reply.text
    assert "> Materials: 52% merino wool, 48% Tencel" in reply.text and "> Wool cycle at 30 °C." in reply.text


async def test_no_suggestion_for_other_people_or_another_purpose(shopify: ServerConnection) -> None:
    """Aoife wants a tee like the discontinued men's merino tee for her brother; the only top in stock is tagged for
    women: a colleague suggests one instead of the engine suggesting the wrong one."""
    sender, subject, body = mail("22-en-back-in-stock-merino-tee.eml")
    reply = await answer(
        shopify, body, subject=subject, category="ProductInfoAvailability", language="en", email=sender
    )
    assert "Thermal Half-Zip" not in reply.text and phrasebook("en").say("note_recommend") in reply.text
    assert reply.called.count("search_products") <= 6


@asynccontextmanager
async def connected(store: Store, tmp_path: Path) -> AsyncIterator[ServerConnection]:
    async with open_context(make_settings(tmp_path), emulator=ShopifyEmulator(store=store)) as ctx:
        connection = ServerConnection(InProcessSpec("shopify", server=create_server(ctx)))
        async with anyio.create_task_group() as tg:
            await tg.start(connection.keep)
            yield connection
            connection.close()


async def test_a_suggestion_fits_what_was_asked(tmp_path: Path) -> None:
    """The same message, in a store whose thermal top is for men: it is suggested, in the size asked, with its link."""
    store = load_sandbox_store()
    thermal = next(p for p in store.products if p.handle == "thermal-half-zip-running-top")
    thermal.tags[:] = ["men", "running", "winter"]
    sender, subject, body = mail("22-en-back-in-stock-merino-tee.eml")
    async with connected(store, tmp_path) as connection:
        reply = await answer(
            connection, body, subject=subject, category="ProductInfoAvailability", language="en", email=sender
        )
    text = reply.text
    assert phrasebook("en").say("recommend_intro") + "\n“Thermal Half-Zip Running Top”, 79.90 EUR:" in text
    assert "- L / Black: in stock" in text and "Berry" not in text, "the size she asked for"
    assert "/products/thermal-half-zip-running-top" in text and phrasebook("en").say("note_recommend") not in text
    for unrelated in ("Leggings", "Jacket", "Socks", "Mat"):
        assert unrelated not in text


async def test_a_wrong_item_gets_an_apology_the_policy_and_the_next_step(shopify: ServerConnection) -> None:
    body = "Hello, you sent me the wrong size for order #1017: I ordered the bra in S and received an M."
    reply = await answer(
        shopify,
        body,
        category="ReturnsCancellationsExchanges",
        language="en",
        email="zoe.dubois@example.net",
    )
    book = phrasebook("en")
    assert reply.text.count(book.say("wrong_item")) == 1 and book.say("note_wrong_item") in reply.text
    assert "Original shipping costs are refunded only if the item was faulty or we sent the wrong item." in quoted(
        reply.text
    )
    assert book.say("no_refund", number="#1017") not in reply.text, "nobody asked about a refund"


async def test_a_complaint_about_a_damaged_item_gets_the_damaged_items_policy(shopify: ServerConnection) -> None:
    body = "Order #1021: the leggings arrived damaged, there is a hole in the seam. Very disappointing."
    reply = await answer(shopify, body, category="CustomerComplaintsSatisfaction", language="en")
    assert "get_policies" in reply.called, "in the shipped allow-list of complaints"
    assert "> Damaged or faulty items" in reply.text and "We replace or refund it at no cost to you" in reply.text


async def test_a_double_charge_in_other_words_is_a_double_charge(shopify: ServerConnection) -> None:
    body = "Hallo, mir wurde die Bestellung #1010 zweimal von der Kreditkarte abgebucht."
    reply = await answer(shopify, body, category="PaymentBilling", language="de", email="lena.mueller@example.com")
    book = phrasebook("de")
    assert book.say("double_charge") in reply.text and book.say("note_double_charge") in reply.text


async def test_a_price_adjustment_goes_to_a_person_with_a_ticket(shopify: ServerConnection) -> None:
    """Giulia asks to apply an expired code to her order and refund the difference: nothing the tools can do, so the
    reply says why, a ticket is opened (the inbox always allows escalating), and no welcome code is offered."""
    sender, subject, body = mail("03-it-discount-summer25.eml")
    reply = await answer(
        shopify,
        body,
        subject=subject,
        category="PromotionsDiscountsPricing",
        language="it",
        email=sender,
        also=("escalate_ticket",),
    )
    assert reply.called == ["check_discount_code", "list_promotions", "escalate_ticket"]
    book = phrasebook("it")
    assert book.say("note_price_adjustment") in reply.text and "Il tuo riferimento: T-" in reply.text
    assert book.say("next_PromotionsDiscountsPricing") not in reply.text, "said once, by the note"
    assert "WELCOME10" not in reply.text
