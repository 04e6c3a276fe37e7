"""Language identification: py3langid restricted to six languages, with the hand-made hints for short messages."""

from __future__ import annotations

import pytest

from orchestrator.language import detect_language, language_probabilities
from orchestrator.offline_router import route_offline

SENTENCES = [
    ("es", "Hola, hice un pedido la semana pasada y todavía no ha llegado nada a casa."),
    ("en", "Hi, I placed an order last week and nothing has arrived at my house yet."),
    ("fr", "Bonjour, j'ai passé une commande la semaine dernière et rien n'est arrivé chez moi."),
    ("de", "Hallo, ich habe letzte Woche bestellt und bis jetzt ist nichts bei mir angekommen."),
    ("pt", "Olá, fiz uma encomenda na semana passada e ainda não chegou nada a minha casa."),
    ("it", "Ciao, ho fatto un ordine la settimana scorsa e non è ancora arrivato niente a casa."),
]


@pytest.mark.parametrize(("language", "text"), SENTENCES)
def test_each_language(language: str, text: str) -> None:
    assert detect_language(text, default="??") == language
    probabilities = language_probabilities(text)
    assert set(probabilities) == {"es", "en", "fr", "de", "pt", "it"}
    assert probabilities[language] > 0.7
    assert abs(sum(probabilities.values()) - 1) < 1e-6


SHORT = [
    ("es", "gracias"),
    ("es", "donde esta mi pedido"),
    ("es", "teneis la talla M?"),
    ("en", "thanks!"),
    ("en", "refund pls"),
    ("en", "tracking?"),
    ("fr", "merci"),
    ("fr", "bonjour"),
    ("fr", "vous livrez en Suisse ?"),
    ("de", "danke"),
    ("de", "fehler 500 beim checkout"),
    ("de", "Guten Tag"),
    ("pt", "obrigada"),
    ("pt", "Bom dia"),
    ("pt", "cade meu pedido"),
    ("it", "grazie"),
    ("it", "buongiorno"),
    ("it", "dov'è il mio pacco"),
]


@pytest.mark.parametrize(("language", "text"), SHORT)
def test_short_and_one_word_messages(language: str, text: str) -> None:
    assert detect_language(text, default="??") == language


@pytest.mark.parametrize("text", ["", "OK", "#1021", "12345 !!!", "https://example.com/orders/1021", "👍"])
def test_no_evidence_gives_the_default(text: str) -> None:
    assert detect_language(text, default="pt") == "pt"


def test_digits_codes_and_links_do_not_sway_it() -> None:
    text = "Hallo, meine Bestellung #1021 (69,80 EUR, Code SUMMER25) ist noch nicht da: https://example.com/track"
    assert detect_language(text) == "de"


def test_shouting_is_read_like_lower_case() -> None:
    assert detect_language("DONDE ESTA MI PEDIDO, LLEVO DOS SEMANAS ESPERANDO") == "es"


@pytest.mark.parametrize(
    ("subject", "body", "language"),
    [
        ("Re: Your order #1084 has shipped", "Hallo, mein Englisch ist nicht so gut. Wann kommt das Paket an?", "de"),
        ("Order status", "Hola, hice un pedido el martes y sigue pendiente.", "es"),
        ("Re: Votre commande a été expédiée", "Hi, I don't read French, when will it be delivered?", "en"),
        ("¿Dónde está mi pedido?", "#1021", "es"),
    ],
)
def test_mixed_language_mail_is_answered_in_the_language_of_its_body(subject: str, body: str, language: str) -> None:
    assert route_offline(subject, body).language == language


def test_a_mostly_english_message_with_a_spanish_greeting_is_english() -> None:
    text = "Hola! sorry my english is not very good. I want to change the leggings for a L. Gracias!"
    assert detect_language(text) == "en"
