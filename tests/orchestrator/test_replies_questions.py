"""How the offline engine reads a question, in the six languages: topics said with words in between, a wrong item
(and not the customer's own wrong order), measurements, a deadline, a quoted error, whether a product is named."""

from __future__ import annotations

import pytest

from orchestrator.models import RouterDecision
from orchestrator.product_matching import names_a_product
from orchestrator.questions import read_question

DECISION = RouterDecision(category="AccountProfileOther", language="en", confidence=0.9)


def topics(text: str) -> frozenset[str]:
    return read_question("", text, DECISION).topics


@pytest.mark.parametrize(
    "text",
    [
        "You charged my credit card for order #1010 twice.",
        "I was billed for the same order two times.",
        "Me habéis cobrado el pedido #1010 dos veces en la tarjeta.",
        "Vous avez débité ma carte bancaire deux fois pour la commande #1010.",
        "Bestellung #1010 zweimal von der Kreditkarte abgebucht",
        "Mir wurde der Betrag doppelt von meinem Konto abgebucht.",
        "Cobraram a encomenda #1010 no meu cartão duas vezes.",
        "Mi avete addebitato l'ordine #1010 sulla carta due volte.",
    ],
)
def test_a_double_charge_is_read_with_words_in_between(text: str) -> None:
    assert "double_charge" in topics(text)


@pytest.mark.parametrize(
    "text",
    [
        "I paid for shipping. Twice now I have asked about it.",  # two sentences
        "Ich habe zweimal bei euch bestellt und war immer zufrieden.",
        "Ho ordinato due volte da voi.",
    ],
)
def test_two_of_something_is_not_a_double_charge(text: str) -> None:
    assert "double_charge" not in topics(text)


@pytest.mark.parametrize(
    "text",
    [
        "You sent me the wrong size: I ordered S and got M.",
        "I received the wrong item in my parcel.",
        "Me habéis enviado la talla equivocada.",
        "J'ai reçu la mauvaise couleur.",
        "Ihr habt mir die falsche Farbe geschickt.",
        "Recebi o tamanho errado.",
        "Mi avete inviato il colore sbagliato.",
        "Ho ricevuto la taglia sbagliata.",
    ],
)
def test_a_wrong_item_is_read_in_every_language(text: str) -> None:
    assert "wrong_item" in topics(text)


@pytest.mark.parametrize(
    "text",
    ["I ordered the wrong size, can I exchange it?", "Ich habe die falsche Größe bestellt.", "He pedido mal la talla."],
)
def test_the_customers_own_wrong_order_is_not_our_wrong_item(text: str) -> None:
    assert "wrong_item" not in topics(text)


def test_other_requests_are_read() -> None:
    assert "price_adjustment" in topics("Potete applicare lo sconto e rimborsarmi la differenza?")
    assert "price_adjustment" in topics("Could you refund me the difference?")
    assert "price_adjustment" in topics("Könnt ihr mir die Differenz erstatten?")
    assert "price_adjustment" not in topics("What is the difference between the two leggings?")
    assert "replacement" in topics("If the parcel is lost, can you send me a replacement?")
    assert "replacement" in topics("Si el paquete se ha perdido, ¿me podéis reenviar el pedido?")
    quoted = "La page affiche « Un problème est survenu lors du traitement de votre paiement. Veuillez réessayer. »"
    assert "error_quoted" in topics(quoted)
    assert "error_quoted" not in topics('I clicked "Pay now" and nothing happened.')


def test_measurements_and_a_deadline_are_read() -> None:
    lena = read_question("", "Sein Wadenumfang ist genau 38 cm und er hat Schuhgröße 44.", DECISION)
    assert lena.measurements == (("calf", 38.0), ("shoe", 44.0))
    assert read_question("", "My calf is 35,5 cm around.", DECISION).measurements == (("calf", 35.5),)
    assert read_question("", "Ich trage Größe M.", DECISION).measurements == ()
    assert read_question("", "la veste avant mon trail du 13 décembre", DECISION).deadline == (13, 12)
    assert read_question("", "I need it by December 20th.", DECISION).deadline == (20, 12)
    assert read_question("", "Lo necesito antes del 5 de enero.", DECISION).deadline == (5, 1)
    assert read_question("", "Ich habe am 1. Dezember bestellt.", DECISION).deadline is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("What is it made of and how do I wash it?", False),
        ("¿De qué material es y cómo se lava?", False),
        ("C'est en quelle matière et comment le laver ?", False),
        ("Aus welchem Material ist das und wie wasche ich es?", False),
        ("De que material é feito e como se lava?", False),
        ("Di che materiale è fatto e come si lava?", False),
        ("How do I wash the leggings?", True),
        ("Do you have the navy sweater in size M?", True),
    ],
)
def test_a_question_names_a_product_or_not(text: str, named: bool) -> None:
    assert names_a_product(read_question("", text, DECISION)) is named
