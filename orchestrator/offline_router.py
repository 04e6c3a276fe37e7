"""The offline router: multilingual weighted keyword rules that turn a customer email into a `RouterDecision`."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from importlib import resources
from typing import NamedTuple, cast

from orchestrator.language import detect_language
from orchestrator.models import CATEGORIES, Category, Handover, RouterDecision, Sentiment, Urgency

# Rules are written lower-case and without accents (the text is normalised the same way). In a rule, a space matches
# any run of non-word characters, `*` any word ending, and the rest is a regular expression matched on word boundaries.
# Each `|`-separated alternative counts once per part of the message; a hit in the subject weighs SUBJECT_WEIGHT times.
Rules = tuple[tuple[int, str], ...]


def _load_category_rules() -> dict[Category, Rules]:
    """The category rules (`templates/router_rules.toml`): weighted keyword and phrase rules in six languages."""
    text = resources.files("orchestrator").joinpath("templates", "router_rules.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {cast(Category, c): tuple((int(weight), str(rule)) for weight, rule in data[c]) for c in CATEGORIES}


_CATEGORY_RULES = _load_category_rules()

_HANDOVER_RULES: dict[Handover, str] = {
    "legal_threat": "lawyer|attorney|sue|suing|court|legal action|lawsuit|small claims|consumer protection"
    "|trading standards|charge( )?back|dispute (the|this) (charge|payment)|file a dispute"
    "|abogado|denuncia*|demandar*|tribunal*|juzgado|(oficina|organizacion|asociacion) de consumidores|contracargo"
    "|avocat|poursuites|action en justice|mise en demeure|protection des consommateurs|contester le paiement"
    "|anwalt|rechtsanwalt|gericht|verklagen|rechtliche schritte|verbraucherzentrale|verbraucherschutz|ruckbuchung"
    "|advogado|processar|(processo|acao|accao) judicial|deco|livro de reclamacoes|defesa do consumidor"
    "|avvocato|tribunale|denunciare|azione legale|vie legali|codacons|tutela dei consumatori|contestare l addebito",
    "asks_for_human": "(speak|talk|chat) (to|with) ((a|an|your|some) )?((real|actual|live) )?(person|human|manager"
    "|supervisor|agent|representative|somebody|someone)|real (person|human)|human being|not (a|another) (bot|robot)"
    "|another automated|hablar con (una |un )?(persona|humano|responsable|encargado|agente)|persona real|ser humano"
    "|parler (a|avec) (un |une )?(vraie? )?(personne|humain|responsable|conseillere?)|vraie personne|etre humain"
    "|(einem|einen) (echten )?(menschen|mitarbeiter)|echte person|mit jemandem sprechen|kein (bot|roboter)"
    "|falar com (uma |um )?(pessoa|humano|responsavel|gerente|assistente)|pessoa real"
    "|parlare con (una |un )?(persona|operatore|umano|responsabile)|persona reale|essere umano|operatore umano",
    "fraud": "fraud*|unauthori[sz]ed (charge|transaction|payment|purchase|order)|someone used my card"
    "|did(n't| not) (make|place|authori[sz]e) (this|that|the|these) (purchase|order|payment|charge|transaction)"
    "|stolen card|card (was|has been) stolen|identity theft|fraude*|fraudulent*|(cargo|compra) no autorizad[oa]"
    "|no reconozco (este|el|esta|ese|la) (cargo|compra|pedido|cobro)|tarjeta robada|robado la tarjeta"
    "|frauduleu*|(paiement|achat) non autorise|je n ai pas (passe|fait|effectue) cette commande|carte volee"
    "|betrug|betrugerisch*|nicht autorisiert*|unberechtigte abbuchung|karte gestohlen|gestohlene karte"
    "|habe ich nicht bestellt|nao autorizad[oa]|nao reconheco|cartao roubado|roubaram o meu cartao"
    "|frode|fraudolent*|non autorizzat[oa]|non riconosco|carta rubata|rubato la carta",
}

_ANGER_WORDS = (
    "fuck*|shit*|idiot*|stupid|moron*|incompetent|scam*|thie(f|ves)|disgusting|worst (service|company|experience)"
    "|pathetic|estafa*|ladrones|sinverguenza*|mierda|idiota*|inutiles|timo|arnaque*|escroc*|voleurs|merde"
    "|incompetents|betruger|abzocke*|diebe|scheiss*|unverschamt|frechheit|idioten|inkompetent|vigaristas|ladroes"
    "|burla|merda|vergonha|incompetentes|palhacada|truffa*|ladri|vergogna|schifo|incompetenti|vergognoso"
)
_NEGATIVE_WORDS = (
    "still (not|no|nothing|waiting)|again|nobody|no one|late|delayed|worried|problem|sigo sin|todavia no|nadie|tarde"
    "|retraso|toujours pas|personne|retard|probleme|immer noch|niemand|verspatet|problem|ainda nao|ninguem|atraso"
    "|problema|ancora|nessuno|ritardo|in ritardo|insist*"
)
_POSITIVE_WORDS = (
    "thank you|thanks|love|great|happy|gracias|encanta|genial|merci|super|ravie?|danke|begeistert|toll"
    "|obrigad[oa]|adoro|otimo|grazie|ottimo|fantastic[oa]"
)
_URGENT_WORDS = (
    "urgent*|asap|as soon as possible|immediately|today|tomorrow|right now|cuanto antes|hoy|manana|inmediatamente"
    "|au plus vite|aujourd hui|demain|immediatement|dringend|sofort|heute|(?<!guten.)morgen|so schnell wie moglich"
    "|hoje|amanha|imediatamente|o mais rapido|oggi|domani|subito|al piu presto|immediatamente"
)
_CALM_WORDS = (
    "no rush|no hurry|when(ever)? you (can|have time)|sin prisa|pas press*|keine eile|sem pressa|nessuna fretta"
)

SUBJECT_WEIGHT = 2
ANGER_THRESHOLD = 3
_ACRONYMS = frozenset(
    re.findall(r"\w+", "DHL UPS GLS DPD SEUR CTT USPS BRT SDA EUR USD GBP CHF VIP SKU FAQ PDF GDPR RGPD DSGVO URL SMS")
    + re.findall(r"\w+", "IBAN BIC PAYPAL MBWAY CVV NIF DNI IVA VAT TVA MWST USA EU UK OK AI CEO PS")
)


def _split_alternatives(source: str) -> list[str]:
    """Top-level `|` alternatives of a rule (alternatives inside parentheses stay together)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(source):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
    parts.append(source[start:])
    return [part for part in parts if part]


class _Rule(NamedTuple):
    key: str
    """What a hit is evidence for: a category, 'handover:<reason>', or a mood signal ('anger', 'urgent', ...)."""
    weight: int
    pattern: re.Pattern[str]
    """The rule without its leading word boundary, so the regex engine can skip ahead on its first letters."""


def _anchors(rule: str) -> tuple[str, ...]:
    """The letters every match of `rule` starts with, one per leading alternative (`(a|b) c` -> a, b)."""
    if rule.startswith("("):
        depth = [0]
        for char in rule:
            depth.append(depth[-1] + {"(": 1, ")": -1}.get(char, 0))
        end = depth.index(0, 1) - 1
        if rule[end + 1 : end + 2] in ("?", "*"):
            return ("",)
        return tuple(anchor for part in _split_alternatives(rule[1:end]) for anchor in _anchors(part))
    letters = re.match(r"[a-z0-9]*", rule)
    anchor = letters.group(0) if letters else ""
    return (anchor[:-1] if rule[len(anchor) : len(anchor) + 1] == "?" else anchor,)


def normalize(text: str) -> str:
    """Lower-case, without accents (ß -> ss, U+2019 -> '), so rules match with or without diacritics."""
    text = text.lower().replace("ß", "ss").replace("\u2019", "'")
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_PREFIX = 8
"""Rules are indexed by the first letters of their anchor (at most this many), words of a text by their prefixes."""


def _index_rules(sources: Iterable[tuple[str, int, str]]) -> dict[str, list[tuple[int, _Rule]]]:
    """Every rule alternative, numbered and filed under each of its anchors."""
    index: dict[str, list[tuple[int, _Rule]]] = {}
    number = 0
    for key, weight, source in sources:
        for alternative in _split_alternatives(source):
            rule = normalize(alternative)
            body = rule.replace("*", r"\w*").replace(" ", r"\W+")
            pattern = re.compile(rf"(?:{body})(?!\w)")
            number += 1
            for anchor in set(_anchors(rule)):
                index.setdefault(anchor[:_PREFIX], []).append((number, _Rule(key, weight, pattern)))
    return index


def _sources() -> Iterable[tuple[str, int, str]]:
    for category, rules in _CATEGORY_RULES.items():
        yield from ((category, weight, source) for weight, source in rules)
    yield from ((f"handover:{reason}", 1, source) for reason, source in _HANDOVER_RULES.items())
    signals = {"anger": _ANGER_WORDS, "negative": _NEGATIVE_WORDS, "positive": _POSITIVE_WORDS}
    signals |= {"urgent": _URGENT_WORDS, "calm": _CALM_WORDS}
    yield from ((key, 1, source) for key, source in signals.items())


_RULE_INDEX = _index_rules(_sources())


def _evidence(raw: str) -> dict[str, int]:
    """Summed weight per key of the rules found in `raw` (each rule alternative counted once)."""
    text = normalize(raw)
    words = set(re.findall(r"\w+", text))
    prefixes = {word[:end] for word in words for end in range(1, min(len(word), _PREFIX) + 1)} | {""}
    scores: dict[str, int] = {}
    tried: set[int] = set()
    for anchor in _RULE_INDEX.keys() & prefixes:
        for number, rule in _RULE_INDEX[anchor]:
            if number in tried:
                continue
            tried.add(number)
            for match in rule.pattern.finditer(text):
                start = match.start()
                if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
                    scores[rule.key] = scores.get(rule.key, 0) + rule.weight
                    break
    return scores


_ORDER_WORD = r"(?:order|orders|pedido|commande|bestellung|bestellnummer|auftrag|encomenda|ordine|ordem|orden)"
_CONNECTOR = r"(?:\s*(?:no\.?|nr\.?|n°|n\.|num\.?|number|numero|nummer|is|es|est|ist|e|:|#|-))*\s*"
_NUMBER_END = r"(?!\d)(?![.,/:-]\d)(?!\s?(?:€|eur\b|euros?\b|\$|usd\b|£|gbp\b|chf\b|dollars?\b|%))"
_ORDER_NUMBER = re.compile(
    rf"(?<![\w&])#\s?(\d{{3,10}}){_NUMBER_END}|(?<!\w){_ORDER_WORD}(?!\w){_CONNECTOR}#?(\d{{3,10}}){_NUMBER_END}"
)


def extract_order_number(*texts: str) -> str | None:
    """The first order number mentioned ('#1021'): after '#' or an order word, never a price, date or phone."""
    for text in texts:
        match = _ORDER_NUMBER.search(normalize(text))
        if match:
            return "#" + (match.group(1) or match.group(2))
    return None


def _shouting(raw: str) -> bool:
    """Caps-lock shouting: several all-capital words that are not acronyms or codes."""
    words = [word for word in re.findall(r"\b[^\W\d_]{3,}\b", raw) if word.isupper() and word not in _ACRONYMS]
    return len(words) >= 2


def _scores(in_subject: dict[str, int], in_body: dict[str, int]) -> dict[Category, float]:
    return {c: float(SUBJECT_WEIGHT * in_subject.get(c, 0) + in_body.get(c, 0)) for c in _CATEGORY_RULES}


def category_scores(subject: str, body: str) -> dict[Category, float]:
    """Weighted keyword evidence per category (subject hits count SUBJECT_WEIGHT times)."""
    return _scores(_evidence(subject), _evidence(body))


def _confidence(best: float, second: float) -> float:
    """How clearly the best category won: the strength of its evidence times its margin over the runner-up."""
    if best <= 0:
        return 0.0
    strength = best / (best + 2.5)
    margin = (best - second) / best
    return round(strength * (0.4 + 0.6 * margin), 3)


def route_offline(subject: str, body: str, *, default_language: str = "en") -> RouterDecision:
    """Route one customer email without a model: category, language, order number, mood, urgency and handovers."""
    text = f"{subject}\n{body}"
    in_subject, in_body = _evidence(subject), _evidence(body)
    scores = _scores(in_subject, in_body)

    def signal(key: str) -> int:
        return max(in_subject.get(key, 0), in_body.get(key, 0))

    anger = 3 * signal("anger") + (2 if _shouting(text) else 0) + (2 if "!!!" in text else 0)
    anger += 1 if scores["CustomerComplaintsSatisfaction"] >= 3 else 0
    handover: list[Handover] = ["anger"] if anger >= ANGER_THRESHOLD else []
    handover += [reason for reason in _HANDOVER_RULES if signal(f"handover:{reason}")]
    if "anger" in handover:
        scores["CustomerComplaintsSatisfaction"] += anger

    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (category, best), (_, second) = ranked[0], ranked[1]
    if best <= 0:
        category = "AccountProfileOther"

    sentiment: Sentiment = "neutral"
    if "anger" in handover:
        sentiment = "angry"
    elif (
        scores["CustomerComplaintsSatisfaction"] >= 2
        or signal("negative") >= 2
        or {"legal_threat", "fraud"} & {*handover}
    ):
        sentiment = "negative"
    elif signal("positive"):
        sentiment = "positive"

    urgency: Urgency = "normal"
    if (handover and set(handover) != {"asks_for_human"}) or signal("urgent"):
        urgency = "high"
    elif signal("calm"):
        urgency = "low"

    return RouterDecision(
        category=category,
        language=detect_language(text, default=default_language),
        order_number=extract_order_number(subject, body),
        sentiment=sentiment,
        urgency=urgency,
        handover=handover,
        confidence=_confidence(best, second),
    )
