"""Reply separation: quoted history, attributions in many languages, Outlook blocks and signatures."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmail_mcp.mime import parse_message
from gmail_mcp.quotes import ReplyParts, split_reply

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REPLIES = SHARED / "corpora" / "replies"
REPLY_FILES = sorted(REPLIES.glob("*.eml")) if REPLIES.is_dir() else []
ABSENT = f"../shared is absent: {REPLIES} holds the reply corpus of 12 mail clients (present in CI)"

NEW = "My order #1042 has not arrived yet.\nCan you check it?"
HISTORY = "> Hi Anna,\n> your order has shipped.\n> Best, the shop"


def expected_reply(path: Path) -> str:
    """The corpus's new text, compared as parse_message normalises text: no trailing spaces on any line."""
    reply_file = path.with_name(f"{path.stem}_reply_text")
    text = reply_file.read_text(encoding="utf-8").strip() if reply_file.exists() else "Hello"
    return "\n".join(line.rstrip() for line in text.splitlines())


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=path.name) for path in REPLY_FILES] or [pytest.param(None, marks=pytest.mark.skip(ABSENT))],
)
def test_reply_corpus_new_text_is_separated(path: Path) -> None:
    parsed = parse_message(path.read_bytes())
    assert parsed.new_text.strip() == expected_reply(path)
    assert parsed.quoted_text, "every corpus message quotes the message it answers"


def test_reply_corpus_is_complete() -> None:
    if not REPLY_FILES:
        pytest.skip(ABSENT)
    assert len(REPLY_FILES) >= 12


@pytest.mark.parametrize(
    "attribution",
    [
        pytest.param("On Mon, Apr 2, 2012 at 6:26 PM, Shop Team <team@shop.example> wrote:", id="english"),
        pytest.param("On Mon, Apr 2, 2012 at 6:26 PM, Shop Team <team@shop.example>\nwrote:", id="english-wrapped"),
        pytest.param("On 2 Apr 2012, at 18:26, Shop Team\n<team@shop.example> wrote:", id="english-wrapped-address"),
        pytest.param("El lun., 2 abr. 2012 a las 18:26, Shop Team (<team@shop.example>) escribió:", id="spanish"),
        pytest.param("Le lun. 2 avr. 2012 à 18:26, Shop Team <team@shop.example> a écrit :", id="french"),
        pytest.param("Am Mo., 2. Apr. 2012 um 18:26 Uhr schrieb Shop Team <team@shop.example>:", id="german"),
        pytest.param("Am 02.04.2012 um 18:26 schrieb Shop Team:", id="german-apple"),
        pytest.param("Em seg., 2 de abr. de 2012 às 18:26, Shop Team <team@shop.example> escreveu:", id="portuguese"),
        pytest.param("Il giorno lun 2 apr 2012 alle ore 18:26 Shop Team <team@shop.example> ha scritto:", id="italian"),
        pytest.param("Op ma 2 apr. 2012 om 18:26 schreef Shop Team <team@shop.example>:", id="dutch"),
        pytest.param(
            "2 апр. 2012 г., в 18:26, Shop Team <team@shop.example> написал(а):",  # noqa: RUF001
            id="russian",
        ),
        pytest.param('02.04.2012 18:26 пользователь "Shop Team" <\nteam@shop.example> написал:', id="russian-android"),
        pytest.param("pon., 2 kwi 2012 o 18:26 Shop Team <team@shop.example> napisał(a):", id="polish"),
        pytest.param("W dniu 2.04.2012 o 18:26, Shop Team pisze:", id="polish-thunderbird"),
        pytest.param("Den 2 apr. 2012 kl. 18:26 skrev Shop Team <team@shop.example>:", id="swedish"),
        pytest.param("man. 2. apr. 2012 kl. 18.26 skrev Shop Team <team@shop.example>:", id="danish-norwegian"),
        pytest.param("2012年4月2日(月) 18:26 Shop Team <team@shop.example>:", id="japanese-gmail"),
        pytest.param("2012/04/02 18:26、Shop Team <team@shop.example>のメール:", id="japanese-apple"),
        pytest.param("2012年4月2日 18:26 Shop Team さんは書きました:", id="japanese-thunderbird"),
    ],
)
def test_attribution_and_quote_are_history(attribution: str) -> None:
    parts = split_reply(f"{NEW}\n\n{attribution}\n\n{HISTORY}\n")
    assert parts.new_text == NEW
    assert parts.quoted_text is not None
    assert attribution.splitlines()[0] in parts.quoted_text
    assert "your order has shipped" in parts.quoted_text


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Apr 2, 2012 at 6:26 PM, Shop Team <team@shop.example> wrote:",
        "Le lun. 2 avr. 2012 à 18:26, Shop Team <team@shop.example> a écrit :",
        "Am 02.04.2012 um 18:26 schrieb Shop Team <team@shop.example>:",
    ],
)
def test_attribution_without_quote_marks_cuts_the_rest(attribution: str) -> None:
    """HTML converted without blockquotes, or clients that do not quote: the attribution starts the history."""
    parts = split_reply(f"{NEW}\n\n{attribution}\n\nHi Anna,\nyour order has shipped.")
    assert parts.new_text == NEW
    assert parts.quoted_text is not None
    assert parts.quoted_text.endswith("your order has shipped.")


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Mensaje original-----",
        "-------- Message d'origine --------",
        "-----Ursprüngliche Nachricht-----",
        "-----Mensagem original-----",
        "-----Messaggio originale-----",
        "-----Oorspronkelijk bericht-----",
    ],
)
def test_original_message_separator_cuts_the_rest(separator: str) -> None:
    parts = split_reply(f"{NEW}\n\n{separator}\nFrom: Shop Team\nSent: Monday\n\nHi Anna, your order has shipped.")
    assert parts.new_text == NEW
    assert parts.quoted_text is not None
    assert parts.quoted_text.startswith(separator)


@pytest.mark.parametrize(
    "block",
    [
        "From: Shop Team [mailto:team@shop.example]\nSent: Monday, April 2, 2012 6:26 PM\nTo: Anna\nSubject: Order",
        "________________________________\nFrom: Shop Team <team@shop.example>\nSent: Monday\nTo: Anna\nSubject: Order",
        "*From:* Shop Team <team@shop.example>\n*Sent:* Monday\n*To:* Anna\n*Subject:* Order",
        "De : Shop Team\nEnvoyé : lundi 2 avril 2012 18:26\nÀ : Anna\nObjet : Commande",
        "Von: Shop Team\nGesendet: Montag, 2. April 2012 18:26\nAn: Anna\nBetreff: Bestellung",
        "Da: Shop Team\nInviato: lunedì 2 aprile 2012 18:26\nA: Anna\nOggetto: Ordine",
        "De: Shop Team\nEnviado: lunes, 2 de abril de 2012 18:26\nPara: Anna\nAsunto: Pedido",
        "De: Shop Team\nEnviada em: segunda-feira, 2 de abril de 2012 18:26\nPara: Anna\nAssunto: Pedido",
        "Van: Shop Team\nVerzonden: maandag 2 april 2012 18:26\nAan: Anna\nOnderwerp: Bestelling",
        "Från: Shop Team\nSkickat: den 2 april 2012 18:26\nTill: Anna\nÄmne: Beställning",
        "Od: Shop Team\nWysłano: poniedziałek, 2 kwietnia 2012 18:26\nDo: Anna\nTemat: Zamówienie",
        "От: Shop Team\nОтправлено: 2 апреля 2012 г. 18:26\nКому: Anna\nТема: Заказ",  # noqa: RUF001
    ],
    ids=["en", "en-rule", "en-bold", "fr", "de", "it", "es", "pt", "nl", "sv", "pl", "ru"],
)
def test_outlook_header_block_cuts_the_rest(block: str) -> None:
    parts = split_reply(f"{NEW}\n\n{block}\n\nHi Anna, your order has shipped.")
    assert parts.new_text == NEW
    assert parts.quoted_text is not None
    assert parts.quoted_text.endswith("your order has shipped.")


def test_two_header_lines_in_the_customers_text_are_not_a_block() -> None:
    text = "Please send it to:\nFrom: the warehouse\nTo: my office\n\nIs that possible?"
    assert split_reply(text) == ReplyParts(new_text=text, quoted_text=None, signature=None)


@pytest.mark.parametrize(
    "device",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for Android",
        "Enviado desde mi iPhone",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Enviado do meu iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Отправлено с iPhone",  # noqa: RUF001
        "Skickat från min iPhone",
        "iPhoneから送信",
    ],
)
def test_device_signature_is_reported_and_kept_in_new_text(device: str) -> None:
    text = f"{NEW}\n\n{device}\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Shop <team@shop.example> wrote:\n\n{HISTORY}"
    parts = split_reply(text)
    assert parts.new_text == f"{NEW}\n\n{device}"
    assert parts.signature == device


def test_dash_dash_delimiter_starts_the_signature() -> None:
    parts = split_reply(f"{NEW}\n\n-- \nAnna Smith\nACME Ltd | +44 20 7946 0000\n\n{HISTORY}")
    assert parts.signature == "Anna Smith\nACME Ltd | +44 20 7946 0000"
    assert parts.new_text.startswith(NEW)
    assert parts.new_text.endswith("ACME Ltd | +44 20 7946 0000")


def test_dash_dash_without_trailing_space_also_counts() -> None:
    assert split_reply("Where is my parcel?\n--\nAnna").signature == "Anna"


@pytest.mark.parametrize(
    "sign_off",
    [
        "Best regards,",
        "Kind regards",
        "Thanks,",
        "Thanks!",
        "Thank you - Anna",
        "Saludos,",
        "Cordialement,",
        "Mit freundlichen Grüßen",
        "Atenciosamente,",
        "Cordiali saluti",
        "Met vriendelijke groet,",
        "С уважением,",  # noqa: RUF001 (Russian)
    ],
)
def test_sign_off_block_is_the_signature(sign_off: str) -> None:
    parts = split_reply(f"{NEW}\n\n{sign_off}\nAnna Smith\nACME Ltd")
    assert parts.signature == f"{sign_off}\nAnna Smith\nACME Ltd"
    assert parts.new_text == f"{NEW}\n\n{sign_off}\nAnna Smith\nACME Ltd", "the sign-off stays in new_text"
    assert parts.quoted_text is None


def test_sign_off_followed_by_a_long_block_is_not_a_signature() -> None:
    tail = "\n".join(f"line {index} of a long story about the parcel" for index in range(6))
    assert split_reply(f"{NEW}\n\nThanks,\n{tail}").signature is None


def test_a_sentence_starting_with_thanks_is_not_a_sign_off() -> None:
    text = "Thanks for the quick answer, the tracking number works now.\nI will wait for the parcel."
    assert split_reply(text).signature is None


def test_inline_answers_between_quotes_are_kept() -> None:
    text = "> Which size do you need?\nMedium, please.\n> And which colour?\nBlue.\n"
    parts = split_reply(text)
    assert parts.new_text == "Medium, please.\nBlue."
    assert parts.quoted_text == "> Which size do you need?\n\n> And which colour?"


def test_bottom_posted_reply_keeps_text_below_the_quote() -> None:
    parts = split_reply("On 04/02/2012 06:26 PM, Shop Team wrote:\n> Hi\nHello, it arrived.")
    assert parts.new_text == "Hello, it arrived."
    assert parts.quoted_text == "On 04/02/2012 06:26 PM, Shop Team wrote:\n> Hi"


def test_text_without_history_is_all_new() -> None:
    parts = split_reply(f"{NEW}\n\nOn Monday the courier said:\nit was delivered to a neighbour.")
    assert parts.new_text == f"{NEW}\n\nOn Monday the courier said:\nit was delivered to a neighbour."
    assert parts.quoted_text is None
    assert parts.signature is None


def test_empty_text() -> None:
    assert split_reply("") == split_reply("\n\n")
    assert split_reply("").new_text == ""


def test_html_quotes_are_separated_through_parse_message() -> None:
    """Quoted history in HTML-only mail (Gmail, Apple, Outlook, Yahoo) comes out as '> ' lines and is split off."""
    bodies = {
        "gmail": '<div>Thanks, it arrived.</div><div class="gmail_quote">On Mon, Shop wrote:<br>'
        '<blockquote class="gmail_quote">Your parcel shipped.</blockquote></div>',
        "apple": '<div>Thanks, it arrived.</div><blockquote type="cite">Your parcel shipped.</blockquote>',
        "outlook": '<div>Thanks, it arrived.</div><div id="appendonsend"></div><hr>'
        '<div id="divRplyFwdMsg"><b>From:</b> Shop</div><div>Your parcel shipped.</div>',
        "outlook-reply-of-reply": '<div>Thanks, it arrived.</div><div id="x_divRplyFwdMsg"><b>From:</b> Shop</div>'
        "<div>Your parcel shipped.</div>",
        "yahoo": '<div>Thanks, it arrived.</div><div class="yahoo_quoted"><div>Your parcel shipped.</div></div>',
    }
    for client, body in bodies.items():
        raw = f"From: a@example.com\nContent-Type: text/html; charset=utf-8\n\n<html><body>{body}</body></html>"
        parsed = parse_message(raw.encode())
        assert parsed.new_text == "Thanks, it arrived.", client
        assert parsed.quoted_text is not None, client
        assert "Your parcel shipped." in parsed.quoted_text, client
