"""/chat keeps the inbox's promises: escalated categories open a ticket, a colleague is promised only when a ticket
exists, and a chat without an email address asks for the address the customer ordered with (real uvicorn on
loopback over real stdio tool servers on the sandbox store, as in test_api, shared by the module's tests: tickets
are told apart by id)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.config import load_config
from orchestrator.phrasebook import phrasebook
from tests.orchestrator.sandbox_servers import SandboxServers
from tests.orchestrator.test_api import MARIA, Api, api_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

EN = phrasebook("en")
ASK_NUMBER = EN.say("ask_order_number")
ASK_EMAIL = EN.say("holding_no_contact")
ASK_ORDER_EMAIL = EN.say("ask_order_email")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def tickets_of(api: Api, email: str) -> list[dict[str, object]]:
    listed = await api.servers.shopify.call("list_tickets", {"customer_email": email})
    return list(listed["tickets"])


def colleague_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"\bcolleague\b", line, re.IGNORECASE)]


def test_the_configuration_escalates_technical_issues_and_complaints() -> None:
    escalated = {name for name, category in load_config().categories.items() if category.escalate}
    assert {"TechnicalIssues", "CustomerComplaintsSatisfaction"} <= escalated


async def test_escalated_categories_open_a_ticket_and_say_so(tmp_path: Path, shared_servers: SandboxServers) -> None:
    checkout = "The checkout page shows an error when I try to pay with PayPal."
    complaint = "I am really unhappy, the leggings from order #1021 lost their shape after two washes."
    async with api_server(tmp_path, shared=shared_servers) as api:
        before = {t["id"] for t in await tickets_of(api, MARIA)}
        tech = (await api.chat({"message": checkout, "customer_email": MARIA})).json()
        unhappy = (await api.chat({"message": complaint, "customer_email": MARIA})).json()
        anonymous = (await api.chat({"message": checkout})).json()
        tickets = [t for t in await tickets_of(api, MARIA) if t["id"] not in before]
    assert (tech["category"], tech["handover"]) == ("TechnicalIssues", False), "an answer, not the holding reply"
    assert unhappy["category"] == "CustomerComplaintsSatisfaction" and unhappy["handover"] is False
    for reply in (tech, unhappy):
        assert reply["ticket"] and EN.say("ticket", ticket=reply["ticket"]) in reply["response"]
    by_id = {t["id"]: t for t in tickets}
    assert set(by_id) == {tech["ticket"], unhappy["ticket"]}
    assert by_id[tech["ticket"]]["category"] == "TechnicalIssues" and "PayPal" in str(by_id[tech["ticket"]]["summary"])
    assert by_id[unhappy["ticket"]]["category"] == "CustomerComplaintsSatisfaction"
    assert by_id[unhappy["ticket"]]["order_number"] == "#1021"
    assert anonymous["ticket"] is None, "no ticket nobody could answer"
    assert "paid" not in tech["response"].lower(), "a checkout error is not answered with a payment status"


async def test_without_an_email_an_order_question_asks_for_the_address_not_the_number(
    tmp_path: Path, shared_servers: SandboxServers
) -> None:
    async with api_server(tmp_path, shared=shared_servers) as api:
        single = (await api.chat({"message": "Where is my order #1021?"})).json()
        plural = (await api.chat({"message": "Where are my orders #1021 and #1029?"})).json()
        vouched = (await api.chat({"message": "Where is my order #1021?", "customer_email": MARIA})).json()
    for reply in (single, plural):
        assert reply["category"] == "ShippingDelivery" and reply["handover"] is False, reply
        assert ASK_NUMBER not in reply["response"] and "order number" not in reply["response"]
        assert ASK_ORDER_EMAIL in reply["response"] and reply["ticket"] is None
        assert ASK_EMAIL not in reply["response"], "the order question's own request, not the holding reply's"
    assert ASK_ORDER_EMAIL not in vouched["response"] and "6219473050" in vouched["response"], "the customer's order"


async def test_a_colleague_is_promised_only_with_a_ticket(tmp_path: Path, shared_servers: SandboxServers) -> None:
    questions = [
        "Any promotions on?",
        "What is your return policy?",
        "Where are my orders #1021 and #1029?",
        "Do you ship to Canada?",
        "Is the Pro Compression Leggings in XL back in stock soon?",
    ]
    async with api_server(tmp_path, shared=shared_servers) as api:
        anonymous = [(await api.chat({"message": q})).json() for q in questions]
        vouched = [(await api.chat({"message": q, "customer_email": MARIA})).json() for q in questions]
        tickets = {t["id"] for t in await tickets_of(api, MARIA)}
    for reply in anonymous:
        assert reply["ticket"] is None
        assert all(ASK_EMAIL in line for line in colleague_lines(reply["response"])), reply["response"]
    for reply in vouched:
        assert ASK_EMAIL not in reply["response"]
        if colleague_lines(reply["response"]):
            assert reply["ticket"] in tickets, f"a colleague promised with no ticket: {reply['response']}"
            assert EN.say("ticket", ticket=reply["ticket"]) in reply["response"]
    by_question = dict(zip(questions, vouched, strict=True))
    assert by_question["Where are my orders #1021 and #1029?"]["ticket"], "an item not shipped yet is followed up"
    assert by_question["Any promotions on?"]["ticket"] is None, "a plain answer opens no ticket"
    assert "#1029" in by_question["Where are my orders #1021 and #1029?"]["response"], "both orders answered"


ORDER_QUESTIONS = {
    "en": "Where is my order #1021? It has been a week.",
    "es": "¿Dónde está mi pedido #1021? Ya ha pasado una semana.",
    "fr": "Où en est ma commande #1021 ? Cela fait une semaine.",
    "de": "Wo bleibt meine Bestellung #1021? Es ist schon eine Woche her.",
    "it": "Dov'è il mio ordine #1021? È passata una settimana.",
    "pt": "Onde está a minha encomenda #1021? Já passou uma semana.",
}


async def test_the_request_for_the_order_email_is_in_the_customers_language(
    tmp_path: Path, shared_servers: SandboxServers
) -> None:
    async with api_server(tmp_path, shared=shared_servers) as api:
        replies = {language: (await api.chat({"message": q})).json() for language, q in ORDER_QUESTIONS.items()}
    for language, reply in replies.items():
        book = phrasebook(language)
        assert (reply["language"], reply["ticket"]) == (language, None), reply
        assert book.say("ask_order_email") in reply["response"], reply["response"]
        assert book.say("ask_order_number") not in reply["response"]
        assert book.say("holding_no_contact") not in reply["response"], "one request for the address, not two"
        assert "6219473050" not in reply["response"], "no order data without the owner's email"
