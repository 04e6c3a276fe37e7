"""Language identification: py3langid restricted to six languages, with the hand-made hints for short messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import DEFAULT_CONFIG, load_config
from orchestrator.errors import ConfigError
from orchestrator.language import detect_language, in_languages, language_probabilities
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


FRENCH = "Bonjour, j'ai passé une commande la semaine dernière et je n'ai toujours rien reçu. Pouvez-vous vérifier ?"


def test_a_shop_that_speaks_english_and_german_never_gets_french() -> None:
    shop = ("en", "de")
    assert detect_language(FRENCH) == "fr", "among all six it is French"
    assert detect_language(FRENCH, default="en", languages=shop) == "en", "not a guess between English and German"
    for language, text in SENTENCES + SHORT:
        assert detect_language(text, default="en", languages=shop) in shop, text
        if language in shop:
            assert detect_language(text, default="??", languages=shop) == language, text
    decision = route_offline("Où est ma commande ?", FRENCH, default_language="en", languages=shop)
    assert decision.language == "en"
    assert (
        route_offline("Wo bleibt mein Paket?", "Hallo, mein Paket ist noch nicht da.", languages=shop).language == "de"
    )


def test_one_language_is_always_that_language_and_unknown_codes_fall_back_to_all_six() -> None:
    assert detect_language(FRENCH, default="en", languages=["it"]) == "it"
    assert detect_language(FRENCH, default="en", languages=["nl", "sv"]) == "fr"
    assert detect_language("Hola, ¿dónde está mi pedido?", default="de", languages=["en", "de"]) == "de"


def test_the_shop_languages_come_from_the_configuration(tmp_path: Path) -> None:
    assert load_config().shop.languages == ("es", "en", "fr", "de", "pt", "it"), "default: the six"
    default = DEFAULT_CONFIG.read_text(encoding="utf-8")
    configured = tmp_path / "config.toml"
    configured.write_text(default.replace('name = "Aurora Activewear"', 'name = "Aurora"\nlanguages = ["EN", "de"]', 1))
    assert load_config(configured).shop.languages == ("en", "de")
    configured.write_text(default.replace('name = "Aurora Activewear"', 'name = "Aurora"\nlanguages = ["en", "nl"]', 1))
    with pytest.raises(ConfigError, match="nl"):
        load_config(configured)


def test_a_routers_language_outside_the_shops_is_identified_again_among_them() -> None:
    assert in_languages("de", "Hallo, wo ist mein Paket?", ["en", "de"], "en") == "de", "kept"
    assert in_languages("fr", FRENCH, ["en", "de"], "en") == "en", "French is not the shop's: its default"
    assert in_languages("fr", "Hallo, wo ist mein Paket? Danke!", ["en", "de"], "en") == "de"
    assert in_languages("xx", "OK", ["de", "it"], "en") == "de", "a default outside the shop's gives way to its first"
