"""The offline router: categories, order numbers, handovers and languages in six languages, and the demo inbox."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gmail_mcp.mime import parse_message
from orchestrator.language import detect_language
from orchestrator.offline_router import extract_order_number, route_offline

SANDBOX = Path(__file__).resolve().parents[2] / "gmail_mcp" / "sandbox"

SHIP = "ShippingDelivery"
RETURN = "ReturnsCancellationsExchanges"
PAY = "PaymentBilling"
PRODUCT = "ProductInfoAvailability"
TECH = "TechnicalIssues"
PROMO = "PromotionsDiscountsPricing"
COMPLAINT = "CustomerComplaintsSatisfaction"
ORDER = "OrderPlacementStatus"
ACCOUNT = "AccountProfileOther"

CATEGORY_CASES = [
    # ShippingDelivery
    ("es", "¿Dónde está mi pedido?", "Hola, hice el pedido hace una semana y no me ha llegado el paquete.", SHIP),
    ("en", "Where is my order?", "My parcel has not arrived and the tracking has not moved for days.", SHIP),
    ("fr", "Où est mon colis ?", "Bonjour, je n'ai toujours pas reçu ma commande, le suivi ne bouge plus.", SHIP),
    ("de", "Wo bleibt mein Paket?", "Meine Sendung ist nicht angekommen, die Sendungsverfolgung zeigt nichts.", SHIP),
    ("pt", "Onde está a minha encomenda?", "Olá, a encomenda ainda não chegou e o rastreio não mostra nada.", SHIP),
    ("it", "Dov'è il mio pacco?", "Buongiorno, la spedizione non è ancora arrivata e il corriere non risponde.", SHIP),
    # ReturnsCancellationsExchanges
    ("es", "Devolución", "Quiero devolver las mallas, me quedan pequeñas. ¿Cómo consigo el reembolso?", RETURN),
    ("en", "Refund request", "I would like to return the leggings and get a refund, they are too big.", RETURN),
    ("fr", "Retour", "Je voudrais retourner le legging et être remboursée, la taille ne va pas.", RETURN),
    ("de", "Rücksendung", "Ich möchte die Leggings zurücksenden. Wann bekomme ich die Erstattung?", RETURN),
    ("pt", "Devolução", "Quero devolver as leggings e receber o reembolso, por favor.", RETURN),
    ("it", "Reso", "Vorrei fare il reso dei leggings e avere il rimborso.", RETURN),
    ("en", "Cancel my order", "Please cancel my order, I ordered the wrong colour.", RETURN),
    ("de", "Stornierung", "Bitte die Bestellung stornieren, ich habe mich vertan.", RETURN),
    # PaymentBilling
    ("es", "Me habéis cobrado dos veces", "Veo dos cargos en mi tarjeta por el mismo pedido.", PAY),
    ("en", "Charged twice", "I was charged twice for the same order, please check my card payment.", PAY),
    ("fr", "Facture", "Bonjour, pourriez-vous m'envoyer la facture de mon paiement ?", PAY),
    ("de", "Doppelt abgebucht", "Die Zahlung wurde doppelt abgebucht. Bitte schickt mir auch die Rechnung.", PAY),
    ("pt", "Pagamento por Multibanco", "Fiz o pagamento por Multibanco e continua pendente.", PAY),
    ("it", "Fattura", "Buongiorno, mi servirebbe la fattura del pagamento con bonifico.", PAY),
    # ProductInfoAvailability
    ("es", "¿Qué talla?", "¿Las mallas en talla L vuelven a estar disponibles? Ahora salen agotadas.", PRODUCT),
    ("en", "Back in stock?", "Will the leggings in size L be back in stock? They show as sold out.", PRODUCT),
    ("fr", "Quelle taille ?", "Le legging en taille M est épuisé, sera-t-il de nouveau disponible ?", PRODUCT),
    ("de", "Welche Größe?", "Ist die Leggings in Größe L wieder lieferbar? Sie ist ausverkauft.", PRODUCT),
    ("pt", "Tamanho", "As leggings no tamanho M estão esgotadas? Quando ficam disponíveis?", PRODUCT),
    ("it", "Taglia", "I leggings in taglia S sono esauriti, torneranno disponibili?", PRODUCT),
    # TechnicalIssues
    ("es", "No puedo pagar", "La web me da un mensaje de error al pagar con la tarjeta.", TECH),
    ("en", "Checkout error", "I can't pay: the website shows an error message at checkout.", TECH),
    ("fr", "Impossible de payer", "Le site affiche un message d'erreur au moment du paiement.", TECH),
    ("de", "Fehlermeldung", "Beim Bezahlen kommt eine Fehlermeldung, die Seite funktioniert nicht.", TECH),
    ("pt", "Erro no site", "Não consigo pagar, aparece uma mensagem de erro.", TECH),
    ("it", "Errore", "Non riesco a pagare, il sito mostra un messaggio di errore.", TECH),
    # PromotionsDiscountsPricing
    ("es", "Código de descuento", "El código de descuento no se aplica en mi compra.", PROMO),
    ("en", "Discount code", "My discount code is not accepted, is there a promo this week?", PROMO),
    ("fr", "Code promo", "Mon code promo ne marche pas, avez-vous une réduction en ce moment ?", PROMO),
    ("de", "Gutschein", "Mein Rabattcode wird nicht angenommen. Gibt es einen Gutschein?", PROMO),
    ("pt", "Código de desconto", "O código de desconto não funciona no carrinho.", PROMO),
    ("it", "Codice sconto", "Il codice sconto non viene accettato, c'è una promozione?", PROMO),
    # CustomerComplaintsSatisfaction
    ("es", "Queja", "Estoy muy decepcionada, el servicio ha sido pésimo e inaceptable.", COMPLAINT),
    ("en", "Complaint", "I am very disappointed, the service was terrible and unacceptable.", COMPLAINT),
    ("fr", "Réclamation", "Je suis très déçue, c'est inacceptable.", COMPLAINT),
    ("de", "Beschwerde", "Ich bin sehr enttäuscht, das ist unverschämt.", COMPLAINT),
    ("pt", "Reclamação", "Estou muito decepcionada, é inaceitável.", COMPLAINT),
    ("it", "Reclamo", "Sono molto delusa, è inaccettabile. Che vergogna.", COMPLAINT),
    # OrderPlacementStatus
    ("es", "¿Recibieron mi pedido?", "Hice un pedido ayer y no me llegó la confirmación del pedido.", ORDER),
    ("en", "Order confirmation", "Did you receive my order? I never got the order confirmation email.", ORDER),
    ("fr", "Confirmation de commande", "Avez-vous reçu ma commande ? Pas de confirmation de commande.", ORDER),
    ("de", "Bestellbestätigung", "Ich habe gestern bestellt, aber keine Bestellbestätigung erhalten.", ORDER),
    ("pt", "Confirmação da encomenda", "Fiz uma encomenda ontem mas não recebi a confirmação da encomenda.", ORDER),
    ("it", "Conferma dell'ordine", "Avete ricevuto il mio ordine? Non ho la conferma dell'ordine.", ORDER),
    # AccountProfileOther
    ("es", "Mi cuenta", "No recuerdo la contraseña de mi cuenta, ¿cómo la cambio?", ACCOUNT),
    ("en", "Password reset", "I cannot remember the password of my account.", ACCOUNT),
    ("fr", "Mon compte", "J'ai oublié le mot de passe de mon compte.", ACCOUNT),
    ("de", "Mein Konto", "Ich habe das Passwort für mein Konto vergessen.", ACCOUNT),
    ("pt", "A minha conta", "Esqueci-me da senha da minha conta.", ACCOUNT),
    ("it", "Il mio account", "Ho dimenticato la password del mio account, vorrei disiscrivermi.", ACCOUNT),
]  # fmt: skip


@pytest.mark.parametrize(("language", "subject", "body", "category"), CATEGORY_CASES)
def test_category_and_language(language: str, subject: str, body: str, category: str) -> None:
    decision = route_offline(subject, body)
    assert (decision.category, decision.language) == (category, language)
    assert decision.confidence >= 0.5, decision


ORDER_NUMBER_CASES = [
    ("Where is order #1021?", "#1021"),
    ("¿Qué pasa con mi pedido 1021?", "#1021"),
    ("Order no. 1021 has not arrived", "#1021"),
    ("Ma commande n° 1017 n'est pas arrivée", "#1017"),
    ("Meine Bestellung 1019 ist verspätet", "#1019"),
    ("A minha encomenda #1027 está pendente", "#1027"),
    ("L'ordine 1024 non è arrivato", "#1024"),
    ("Bestellnummer: 1030", "#1030"),
    ("pedido nº 1025", "#1025"),
    ("my order number is 1029", "#1029"),
    ("Bestellnr. 1028, Rücksendung seit 12 Tagen bei euch", "#1028"),
    ("hola buenas, donde esta mi pedido? el 1048", "#1048"),
    ("Call me on +34 612 345 678 about my order", None),
    ("My phone is 0612345678, order placed yesterday", None),
    ("I paid 1021.50 EUR for it", None),
    ("The order of 2024-05-12 is late", None),
    ("Ordered on 12/05/2024, still nothing", None),
    ("order 150 € worth of socks", None),
    ("We are #1 on Google", None),
    ("Your order total was 1021 EUR", None),
]


@pytest.mark.parametrize(("text", "expected"), ORDER_NUMBER_CASES)
def test_order_number_extraction(text: str, expected: str | None) -> None:
    assert extract_order_number(text) == expected
    assert route_offline("Hello", text).order_number == expected


HANDOVER_CASES = [
    ("en", "This is a SCAM, you are thieves!!!", "anger"),
    ("es", "Sois unos ladrones, esto es una estafa", "anger"),
    ("fr", "Bande d'escrocs, c'est une arnaque", "anger"),
    ("de", "Ihr Betrüger, das ist Abzocke", "anger"),
    ("it", "Che schifo, siete dei ladri", "anger"),
    ("en", "WHERE IS MY ORDER!!! NOBODY ANSWERS", "anger"),
    ("en", "I will contact my lawyer and take you to court", "legal_threat"),
    ("en", "I will file a chargeback with my bank", "legal_threat"),
    ("es", "Voy a hablar con mi abogado y poner una denuncia", "legal_threat"),
    ("fr", "Je vais contacter mon avocat", "legal_threat"),
    ("de", "Ich schalte meinen Anwalt und die Verbraucherzentrale ein", "legal_threat"),
    ("pt", "Vou falar com o meu advogado", "legal_threat"),
    ("it", "Mi rivolgerò al mio avvocato", "legal_threat"),
    ("en", "I want to speak to a real person, not a bot", "asks_for_human"),
    ("es", "Quiero hablar con una persona, por favor", "asks_for_human"),
    ("fr", "Je voudrais parler à un humain", "asks_for_human"),
    ("de", "Ich möchte mit einem Menschen sprechen", "asks_for_human"),
    ("pt", "Quero falar com uma pessoa", "asks_for_human"),
    ("it", "Vorrei parlare con una persona", "asks_for_human"),
    ("en", "There is an unauthorised charge: I did not make this purchase", "fraud"),
    ("en", "My card was stolen and someone ordered with it, this is fraud", "fraud"),
    ("es", "Esto es un fraude, no reconozco este cargo", "fraud"),
    ("fr", "Je n'ai pas passé cette commande, c'est une fraude", "fraud"),
    ("de", "Das ist Betrug, diese Zahlung ist nicht autorisiert", "fraud"),
    ("pt", "Não reconheço esta compra, é fraude", "fraud"),
    ("it", "Non riconosco questo addebito, è una frode", "fraud"),
]


@pytest.mark.parametrize(("language", "text", "trigger"), HANDOVER_CASES)
def test_handover_triggers(language: str, text: str, trigger: str) -> None:
    decision = route_offline("Order", text)
    assert trigger in decision.handover
    assert decision.urgency == "high" or trigger == "asks_for_human"


@pytest.mark.parametrize(
    "text",
    [
        "Hi, where is my parcel? Thanks a lot!",
        "Please send me a SEUR or DHL tracking number for order #1021.",
        "IMPORTANT: my address changed.",
        "Hola, ¿dónde está mi pedido?",
    ],
)
def test_calm_messages_need_no_handover(text: str) -> None:
    assert route_offline("Question", text).handover == []


def test_sentiment_and_urgency() -> None:
    assert route_offline("Complaint", "I am disappointed, this is unacceptable.").sentiment == "negative"
    assert route_offline("Thanks", "Thank you, I love the leggings! What size is the M?").sentiment == "positive"
    assert route_offline("Order", "UNACCEPTABLE!!! WORST SERVICE EVER").sentiment == "angry"
    assert route_offline("Where is my order", "I need it tomorrow, it is urgent.").urgency == "high"
    assert route_offline("Size", "No rush, just wondering about the size of the top.").urgency == "low"


def test_unclear_message_has_low_confidence() -> None:
    decision = route_offline("Hello", "Hi there, quick question.")
    assert decision.confidence < 0.5
    assert decision.category == "AccountProfileOther"


LANGUAGE_CASES = [
    ("Hola, ¿dónde está mi pedido?", "es"),
    ("Hi, where is my order?", "en"),
    ("Bonjour, où est ma commande ?", "fr"),
    ("Hallo, wo ist meine Bestellung?", "de"),
    ("Olá, onde está a minha encomenda?", "pt"),
    ("Ciao, dov'è il mio ordine?", "it"),
    ("Gracias", "es"),
    ("Merci beaucoup pour votre aide", "fr"),
    ("Vielen Dank für die schnelle Antwort", "de"),
    ("Obrigado pela ajuda, não recebi nada", "pt"),
    ("Grazie mille, non ho ricevuto niente", "it"),
    ("", "en"),
    ("12345 !!!", "en"),
]


@pytest.mark.parametrize(("text", "expected"), LANGUAGE_CASES)
def test_language_detection(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_language_detection_returns_the_default_when_unsure() -> None:
    assert detect_language("OK", default="es") == "es"
    assert detect_language("#1021", default="fr") == "fr"


def _expected_categories() -> dict[str, str]:
    """File -> category for every PROCESS message in the sandbox README's table."""
    table = (SANDBOX / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d\d-[^`]+\.eml)` \|.*\| PROCESS: (\w+)", table, flags=re.MULTILINE)
    return dict(rows)


def test_demo_inbox_routes_every_customer_message_to_its_category(report: Callable[[str], None]) -> None:
    expected = _expected_categories()
    assert len(expected) >= 10
    wrong: list[str] = []
    started = time.perf_counter()
    for name, category in sorted(expected.items()):
        message = parse_message((SANDBOX / name).read_bytes())
        decision = route_offline(message.headers.subject or "", message.new_text)
        if decision.category != category:
            wrong.append(f"{name}: {decision.category} (expected {category})")
    per_message_ms = (time.perf_counter() - started) * 1000 / len(expected)
    correct = len(expected) - len(wrong)
    report(f"offline router, demo inbox: {correct}/{len(expected)} PROCESS messages routed correctly")
    report(f"offline router, multilingual table: {len(CATEGORY_CASES)} category cases")
    report(f"offline router, demo inbox: {per_message_ms:.2f} ms per message (routing + MIME parsing)")
    assert not wrong, wrong


def test_demo_inbox_facts() -> None:
    """Order numbers, languages and handovers of the demo messages that exercise them."""

    def route(name: str) -> tuple[str | None, str, list[str]]:
        message = parse_message(next(SANDBOX.glob(f"{name}*.eml")).read_bytes())
        decision = route_offline(message.headers.subject or "", message.new_text)
        return decision.order_number, decision.language, list(decision.handover)

    assert route("03-") == ("#1024", "it", [])
    assert route("04-") == ("#1021", "es", [])
    assert route("05-") == ("#1017", "fr", [])
    assert route("12-") == ("#1027", "pt", [])
    assert route("17-") == ("#1021", "es", [])
    order, language, handover = route("15-")
    assert (order, language) == ("#1028", "en")
    assert {"anger", "asks_for_human", "legal_threat"} <= set(handover)


SEVERAL_ORDERS = [
    ("en", "Where are my two orders? I placed them on Monday.", SHIP, None),
    ("en", "What's the status of my orders #1040 and #1041?", ORDER, "#1040"),
    ("es", "¿Dónde están mis dos pedidos? Los hice el lunes.", SHIP, None),
    ("es", "¿Cuál es el estado de mis pedidos 1040 y 1041?", ORDER, "#1040"),
    ("fr", "Où sont mes deux commandes ? Je les ai passées lundi.", SHIP, None),
    ("fr", "Quel est l'état de mes commandes 1040 et 1041 ?", ORDER, "#1040"),
    ("de", "Wo sind meine zwei Bestellungen? Ich habe sie am Montag aufgegeben.", SHIP, None),
    ("de", "Wie ist der Status meiner Bestellungen 1040 und 1041?", ORDER, "#1040"),
    ("it", "Dove sono i miei due ordini? Li ho fatti lunedì.", SHIP, None),
    ("it", "Qual è lo stato dei miei ordini 1040 e 1041?", ORDER, "#1040"),
    ("pt", "Onde estão as minhas duas encomendas? Fiz-as na segunda-feira.", SHIP, None),
    ("pt", "Qual é o estado das minhas encomendas 1040 e 1041?", ORDER, "#1040"),
]


@pytest.mark.parametrize(("language", "text", "category", "number"), SEVERAL_ORDERS)
def test_questions_about_several_orders_get_an_answer(
    language: str, text: str, category: str, number: str | None
) -> None:
    """ "Where are my orders" is asked like "where is my order": the same category, with confidence enough for a real
    answer (not the holding reply), and the first order number."""
    decision = route_offline("", text)
    assert (decision.category, decision.language, decision.order_number) == (category, language, number)
    assert decision.confidence >= 0.55 and decision.handover == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I placed two orders last week (1088 and 1091) and heard nothing since.", "#1088"),
        ("J'ai passé deux commandes ce mois-ci (n° 1081 et 1085).", "#1081"),
        ("no me ha llegado ninguno de mis dos pedidos, el 1050 y el 1052", "#1050"),
        ("Order numbers are 1064 and 1070.", "#1064"),
        ("Von meinen Bestellungen (Bestellnummern 1090 und 1093) kam nichts an.", "#1090"),
        ("I'd pay between 1500 and 2000 for a treadmill", None),
        ("My orders are usually size 38 and 40", None),
        ("Call 0612 345 678 and 0698 765 432 about my orders", None),
    ],
)
def test_order_numbers_given_as_a_pair(text: str, expected: str | None) -> None:
    assert extract_order_number(text) == expected


def test_praise_that_opens_a_question_does_not_outweigh_it() -> None:
    question = route_offline("Love the leggings!", "I love your leggings! Is the black pair coming back in size M?")
    assert (question.category, question.sentiment) == (PRODUCT, "positive")
    thanks = route_offline("Thank you", "Thank you so much, the team was amazing and I love my new leggings.")
    assert thanks.category == COMPLAINT and thanks.sentiment == "positive"


def test_words_match_their_plural_and_other_endings() -> None:
    """Rules are written in the singular: "di che (tessuto|materiale)" also reads "di che tessuti" (an Italian plural
    changes the last vowel), "wo ... meine bestellung" also "meine Bestellungen"."""
    decision = route_offline("", "Di che tessuti sono fatti i leggings?")
    assert decision.category == PRODUCT and decision.confidence >= 0.55
    decision = route_offline("", "Wo sind meine Bestellungen?")
    assert decision.category == SHIP and decision.confidence >= 0.55


def test_a_word_that_is_also_a_payment_method_does_not_make_a_payment_question() -> None:
    decision = route_offline("", "Ich möchte mit einem Menschen sprechen, sofort!")
    assert decision.category != PAY and decision.handover == ["asks_for_human"]
    assert route_offline("", "Kann ich mit Sofortüberweisung bezahlen?").category == PAY
