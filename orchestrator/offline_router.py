"""The offline router: multilingual weighted keyword rules that turn a customer email into a `RouterDecision`."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from importlib import resources
from typing import Any, NamedTuple, cast

from orchestrator.language import detect_language
from orchestrator.models import CATEGORIES, Category, Handover, RouterDecision, Sentiment, Urgency

# Rules are written lower-case and without accents (the text is normalised the same way). In a rule, a space matches
# any run of non-word characters, `*` any word ending, and the rest is a regular expression matched on word boundaries.
# Each `|`-separated alternative counts once per part of the message; a hit in the subject weighs SUBJECT_WEIGHT times.
Rules = tuple[tuple[int, str], ...]


def _pairs(rules: Iterable[list[Any]]) -> Rules:
    return tuple((int(weight), str(rule)) for weight, rule in rules)


def _load_rules() -> tuple[dict[Category, Rules], Rules, dict[Handover, str], dict[str, str]]:
    """The rules (`templates/router_rules.toml`): weighted rules per category in six languages, the praise rules, one
    rule per handover reason and the mood signals (anger, negative, positive, urgent, calm)."""
    text = resources.files("orchestrator").joinpath("templates", "router_rules.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    categories = {cast(Category, c): _pairs(data[c]) for c in CATEGORIES}
    handover = {cast(Handover, reason): str(rule) for reason, rule in data["handover"].items()}
    mood = {str(key): str(rule) for key, rule in data["mood"].items()}
    return categories, _pairs(data["praise"]), handover, mood


_CATEGORY_RULES, _PRAISE_RULES, _HANDOVER_RULES, _MOOD_WORDS = _load_rules()

SUBJECT_WEIGHT = 2
ANGER_THRESHOLD = 3
LEGAL_THREAT_WEIGHT = 6
FRAUD_WEIGHT = 4
DISCOUNT_CODE_WEIGHT = 3
_DISCOUNT_CODE = re.compile(r"(?<![\w#])[A-Z]{3,}[0-9]{1,3}(?!\w)")
"""A word in capitals ending in a few digits ("SUMMER25", "VERANO15") is how shops write discount codes."""
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


_CONTRACTION = re.compile(r"n't\b")
"""English contractions are written with and without the apostrophe ("doesn't", "doesnt"): both become "doesnt"."""


def normalize(text: str) -> str:
    """Lower-case, without accents (ß -> ss, U+2019 -> '), so rules match with or without diacritics."""
    text = _CONTRACTION.sub("nt", text.lower().replace("ß", "ss").replace("\u2019", "'"))
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_PREFIX = 8
"""Rules are indexed by the first letters of their anchor (at most this many), words of a text by their prefixes."""


_PLAIN_WORD = re.compile(r"[a-z]{3,}")


def _inflected(rule: str) -> str:
    """A one-word rule also matches its plural, and a Romance word its other endings ("colore": colori, colores)."""
    if not _PLAIN_WORD.fullmatch(rule):
        return rule
    if len(rule) >= 5 and rule[-1] in "aeo":
        return rule[:-1] + "(?:[aeio]s?)"
    return rule + "(?:e?s)?"


def _index_rules(sources: Iterable[tuple[str, int, str]]) -> dict[str, list[tuple[int, _Rule]]]:
    """Every rule alternative, numbered and filed under each of its anchors."""
    index: dict[str, list[tuple[int, _Rule]]] = {}
    number = 0
    for key, weight, source in sources:
        for alternative in _split_alternatives(source):
            rule = normalize(alternative)
            body = _inflected(rule).replace("*", r"\w*").replace(" ", r"\W+")
            pattern = re.compile(rf"(?:{body})(?!\w)")
            number += 1
            for anchor in set(_anchors(rule)):
                index.setdefault(anchor[:_PREFIX], []).append((number, _Rule(key, weight, pattern)))
    return index


def _sources() -> Iterable[tuple[str, int, str]]:
    for category, rules in _CATEGORY_RULES.items():
        yield from ((category, weight, source) for weight, source in rules)
    yield from (("praise", weight, source) for weight, source in _PRAISE_RULES)
    yield from ((f"handover:{reason}", 1, source) for reason, source in _HANDOVER_RULES.items())
    yield from ((key, 1, source) for key, source in _MOOD_WORDS.items())


_RULE_INDEX = _index_rules(_sources())


def _evidence(raw: str) -> dict[str, int]:
    """Summed weight per key of the rules found in `raw`: each rule alternative counts once, and rules of one key
    that match the very same words (`arriv*` and `arrivat*`, one word listed in two languages) count once."""
    text = normalize(raw)
    words = set(re.findall(r"\w+", text))
    prefixes = {word[:end] for word in words for end in range(1, min(len(word), _PREFIX) + 1)} | {""}
    hits: dict[tuple[str, int, int], int] = {}
    tried: set[int] = set()
    for anchor in _RULE_INDEX.keys() & prefixes:
        for number, rule in _RULE_INDEX[anchor]:
            if number in tried:
                continue
            tried.add(number)
            for match in rule.pattern.finditer(text):
                start = match.start()
                if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
                    span = (rule.key, start, match.end())
                    hits[span] = max(hits.get(span, 0), rule.weight)
                    break
    scores: dict[str, int] = {}
    for (key, _, _), weight in hits.items():
        scores[key] = scores.get(key, 0) + weight
    if _DISCOUNT_CODE.search(raw):
        scores["PromotionsDiscountsPricing"] = scores.get("PromotionsDiscountsPricing", 0) + DISCOUNT_CODE_WEIGHT
    return scores


_ORDER_WORD = (
    r"(?:order|orders|pedido|commande|bestellung|bestellnummer|bestellnr|auftrag|encomenda|ordine|ordem|orden)"
)
_CONNECTOR = r"(?:\s*(?:no\.?|nr\.?|n°|n\.|num\.?|number|numero|nummer|is|was|es|est|ist|e|el|la|il|o|:|#|-|\?|\.))*\s*"
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
    """Weighted keyword evidence per category (subject hits count SUBJECT_WEIGHT times), thanks and praise included."""
    in_subject, in_body = _evidence(subject), _evidence(body)
    scores = _scores(in_subject, in_body)
    scores["CustomerComplaintsSatisfaction"] += SUBJECT_WEIGHT * in_subject.get("praise", 0) + in_body.get("praise", 0)
    return scores


def _confidence(best: float, second: float) -> float:
    """How clearly the best category won: the strength of its evidence times its lead over the runner-up.

    The lead is absolute (points ahead), not relative, so a long message that mentions several topics but is clearly
    about one is not held back; a tie halves the confidence. One strong phrase ("where is my order", weight 5) alone
    clears the default `min_confidence` of 0.55; a lone weight-2 keyword does not."""
    if best <= 0:
        return 0.0
    strength = best / (best + 2.0)
    lead = best - second
    return round(strength * (0.5 + 0.5 * lead / (lead + 2.0)), 3)


def route_offline(subject: str, body: str, *, default_language: str = "en") -> RouterDecision:
    """Route one customer email without a model: category, language, order number, mood, urgency and handovers."""
    text = f"{subject}\n{body}"
    in_subject, in_body = _evidence(subject), _evidence(body)
    scores = _scores(in_subject, in_body)

    def signal(key: str) -> int:
        return max(in_subject.get(key, 0), in_body.get(key, 0))

    complaint = scores["CustomerComplaintsSatisfaction"]
    praise = SUBJECT_WEIGHT * in_subject.get("praise", 0) + in_body.get("praise", 0)
    scores["CustomerComplaintsSatisfaction"] += praise
    anger = 3 * signal("anger") + (2 if _shouting(text) else 0) + (2 if "!!!" in text else 0) + ("???" in text)
    anger += 1 if complaint >= 3 else 0
    handover: list[Handover] = ["anger"] if anger >= ANGER_THRESHOLD else []
    handover += [reason for reason in _HANDOVER_RULES if signal(f"handover:{reason}")]
    if "anger" in handover:
        scores["CustomerComplaintsSatisfaction"] += anger
    if "legal_threat" in handover:
        # A threat of lawyers or consumer bodies is a complaint first, whatever it is about.
        scores["CustomerComplaintsSatisfaction"] += LEGAL_THREAT_WEIGHT
    if "fraud" in handover:
        # A charge the customer did not make is a payment matter, even when it names an order.
        scores["PaymentBilling"] += FRAUD_WEIGHT

    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (category, best), (_, second) = ranked[0], ranked[1]
    if best <= 0:
        category = "AccountProfileOther"

    sentiment: Sentiment = "neutral"
    if "anger" in handover:
        sentiment = "angry"
    elif complaint >= 2 or signal("negative") >= 2 or {"legal_threat", "fraud"} & {*handover}:
        sentiment = "negative"
    elif praise or signal("positive"):
        sentiment = "positive"

    urgency: Urgency = "normal"
    if (handover and set(handover) != {"asks_for_human"}) or signal("urgent"):
        urgency = "high"
    elif signal("calm"):
        urgency = "low"

    # The body is the customer's own words; a subject is often the shop's ("Re: Your order has shipped").
    language = detect_language(body, default="") or detect_language(text, default=default_language)
    return RouterDecision(
        category=category,
        language=language,
        order_number=extract_order_number(subject, body),
        sentiment=sentiment,
        urgency=urgency,
        handover=handover,
        confidence=_confidence(best, second),
    )
