"""Customers whose mail looks a little like a pitch, in the six languages: their own purchase, a restock question or a
shipping question outweighs the signs of a pitch and the patterns that mark one by themselves; a pitch without such
words (or with them only as statements: "back in stock.", "wir liefern nach ganz Europa") is still ignored."""

from __future__ import annotations

import pytest

from orchestrator.gatekeeper import gatekeep
from orchestrator.models import Verdict
from tests.orchestrator.test_gatekeeper import OWN, RULES, mail

COLLAB = {
    "en": "I run a fitness Instagram page, would you be open to a collaboration?",
    "es": "Tengo una cuenta de fitness en Instagram, ¿os interesaría una colaboración?",
    "fr": "J'ai un compte Instagram de fitness, seriez-vous intéressés par une collaboration ?",
    "de": "Ich habe einen Fitness-Kanal auf Instagram, hättet ihr Interesse an einer Kooperation?",
    "it": "Ho una pagina Instagram di fitness, sareste interessati a una collaborazione?",
    "pt": "Tenho uma página de fitness no Instagram, teriam interesse numa parceria?",
}
"""Two weak signs of a pitch each (an interest question and a collaboration): a pitch unless the customer shows."""

PURCHASES = {
    "en": "Hi, I bought two pairs of your leggings last month.",
    "es": "Hola, compré vuestras mallas hace un mes y me encantan.",
    "es-he-comprado": "Hola, he comprado dos camisetas y me quedan genial.",
    "fr": "Bonjour, j'ai acheté vos leggings le mois dernier et je les adore.",
    "fr-commande": "Bonjour, j\u2019ai commandé deux brassières et elles sont parfaites.",
    "de": "Hallo, ich habe letzten Monat eure Leggings gekauft und bin begeistert.",
    "de-bestellt": "Hallo, letzte Woche habe ich zwei Laufshirts bei euch bestellt.",
    "it": "Ciao, ho comprato i vostri leggings il mese scorso e li adoro.",
    "it-ordinato": "Ciao, ho ordinato due magliette e sono bellissime.",
    "pt": "Olá, comprei as vossas leggings no mês passado e adoro.",
    "pt-encomendei": "Olá, encomendei duas t-shirts e gosto muito delas.",
}
QUESTIONS = {
    "en-restock": "Is the L navy coming back?",
    "en-back-in-stock": "When will the cork mat be back in stock?",
    "es-restock": "¿Vuelve el sujetador deportivo en verde?",
    "fr-restock": "Et le legging bordeaux, il revient bientôt ?",
    "de-restock": "Wann ist die Trinkflasche in Blau wieder verfügbar?",
    "de-kommt-wieder": "Kommt das Laufshirt in Grün wieder?",
    "it-restock": "La borraccia blu torna disponibile?",
    "pt-restock": "O top de alças azul volta a estar disponível?",
    "en-ship": "Do you ship to ireland?",
    "es-ship": "¿Hacéis envíos a Canarias?",
    "fr-ship": "Livrez-vous aussi en Belgique ?",
    "de-ship": "Liefert ihr auch in die Schweiz?",
    "it-ship": "Spedite anche in Svizzera?",
    "pt-ship": "Fazem envios para o Brasil?",
}
INSTANT = {
    "en": "Glad to see your shop growing, I hope this helps grow your business!",
    "es": "Os encontré en la primera página de Google.",
    "fr": "Je vous ai trouvés en première page de Google.",
    "de": "Wir sind Hersteller von Fahrradteilen.",
    "it": "Vi ho trovato sulla prima pagina di Google.",
    "pt": "Encontrei-vos na primeira página do Google.",
}
"""Sentences a customer may write that a cold-pitch pattern marks by itself."""


def verdict(body: str, sender: str = "Jo Doe <jo@gmail.com>") -> tuple[Verdict, str]:
    decision = gatekeep(mail(sender, body, subject="Hello"), own_address=OWN, rules=RULES)
    return decision.verdict, decision.reason


def language_of(key: str) -> str:
    return key.split("-")[0]


@pytest.mark.parametrize("language", COLLAB)
def test_a_collaboration_proposed_alone_is_a_pitch(language: str) -> None:
    assert verdict(f"Hello! {COLLAB[language]}") == (Verdict.IGNORE, "spam:pitch")


@pytest.mark.parametrize("key", PURCHASES)
def test_a_customers_own_purchase_outweighs_the_signs_of_a_pitch(key: str) -> None:
    assert verdict(f"{PURCHASES[key]} {COLLAB[language_of(key)]}") == (Verdict.PROCESS, "customer")


@pytest.mark.parametrize("key", QUESTIONS)
def test_restock_and_shipping_questions_outweigh_the_signs_of_a_pitch(key: str) -> None:
    collab = COLLAB[language_of(key)]
    assert verdict(f"{collab} {QUESTIONS[key]}") == (Verdict.PROCESS, "customer")
    assert verdict(f"{QUESTIONS[key]} {collab}") == (Verdict.PROCESS, "customer")


@pytest.mark.parametrize("language", INSTANT)
def test_pitch_patterns_alone_still_ignore_and_a_customers_words_outweigh_them(language: str) -> None:
    assert verdict(INSTANT[language]) == (Verdict.IGNORE, "spam:pitch"), "the pattern marks a pitch by itself"
    assert verdict(f"{INSTANT[language]} {PURCHASES[language]}") == (Verdict.PROCESS, "customer")
    assert verdict(f"{INSTANT[language]} {QUESTIONS[f'{language}-ship']}") == (Verdict.PROCESS, "customer")


PITCHES_WITH_CUSTOMER_WORDS = {
    "back-in-stock-statement": "Our seamless leggings are back in stock, and we ship to over 40 countries. We are a "
    "leading manufacturer of activewear, MOQ 100 pieces.",
    "coming-back-to-you": "Hi, I came across your store last week. Just coming back to you on my email: would you be "
    "interested in a quick call?",
    "fr-de-retour-en-stock": "Nous sommes grossiste en textile sportif. Nos leggings sont de retour en stock : prix "
    "usine.",
    "de-wir-liefern": "Wir sind Hersteller von Sportbekleidung. Wir liefern in 10 Tagen nach ganz Europa.",
    "es-envios-statement": "Somos fabricantes de ropa deportiva y hacemos envíos a toda Europa en 7 días.",
    "it-media-kit": "Sono una creator di fitness: sareste interessati a una collaborazione? Vi mando il mio media kit.",
    "pt-media-kit": "Sou criadora de conteúdo. Teriam interesse numa parceria? Envio o meu media kit.",
}


@pytest.mark.parametrize("body", PITCHES_WITH_CUSTOMER_WORDS.values(), ids=PITCHES_WITH_CUSTOMER_WORDS.keys())
def test_pitches_that_use_a_customers_words_as_statements_are_still_ignored(body: str) -> None:
    assert verdict(body, "Sam <sam@pitchers.example>") == (Verdict.IGNORE, "spam:pitch")
