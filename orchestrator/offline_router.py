"""The offline router: multilingual weighted keyword rules that turn a customer email into a `RouterDecision`."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, NamedTuple, cast

from orchestrator.language import candidates, detect_language
from orchestrator.models import CATEGORIES, Category, Handover, RouterDecision, Sentiment, Urgency

# Rules are written lower-case and without accents (the text is normalised the same way). In a rule, a space matches
# any run of non-word characters, `*` any word ending, and the rest is a regular expression matched on word boundaries.
# Each `|`-separated alternative counts once per part of the message; a hit in the subject weighs SUBJECT_WEIGHT times.
# Words are written in the singular: each also matches its plural and other endings (`_inflect`).
Rules = tuple[tuple[int, str], ...]


def _pairs(rules: Iterable[list[Any]]) -> Rules:
    return tuple((int(weight), str(rule)) for weight, rule in rules)


class _RuleSet(NamedTuple):
    categories: dict[Category, Rules]
    praise: Rules
    order_words: Rules
    handover: dict[Handover, str]
    mood: dict[str, str]


def _load_rules() -> _RuleSet:
    """The rules (`templates/router_rules.toml`): weighted rules per category in six languages, the praise rules, the
    words for an order, one rule per handover reason and the mood signals (anger, negative, positive, urgent, calm)."""
    text = resources.files("orchestrator").joinpath("templates", "router_rules.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return _RuleSet(
        categories={cast(Category, c): _pairs(data[c]) for c in CATEGORIES},
        praise=_pairs(data["praise"]),
        order_words=_pairs(data["order_words"]),
        handover={cast(Handover, reason): str(rule) for reason, rule in data["handover"].items()},
        mood={str(key): str(rule) for key, rule in data["mood"].items()},
    )


_RULES = _load_rules()
_CATEGORY_RULES, _PRAISE_RULES, _HANDOVER_RULES, _MOOD_WORDS = (
    _RULES.categories,
    _RULES.praise,
    _RULES.handover,
    _RULES.mood,
)
ORDER_FAMILY: tuple[Category, ...] = (
    "OrderPlacementStatus",
    "ShippingDelivery",
    "ReturnsCancellationsExchanges",
    "PaymentBilling",
)
"""The categories that answer from the customer's order: the words for an order back whichever of them wins."""

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
    source: str
    """The rule's regular expression without its leading word boundary, so the regex engine can skip ahead on its
    first letters. Compiled on first use (`_pattern`): a message tries only the rules anchored on its words."""


@cache
def _pattern(source: str) -> re.Pattern[str]:
    """A rule's compiled expression, compiled once per process on first use (there are about 2,000 rules, and
    compiling them all would cost every process that imports the router a quarter of a second)."""
    return re.compile(source)


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
_WORD_IN_RULE = re.compile(r"(?<![\w\\\[!=<])[a-z]{4,}(?![\w*?+{\[(])")
"""A plain word of a longer rule: a whole word, not a stem (`deliver*`, `colou?r`, `hart[oa]`) or an escape."""


_PLURAL_VOWEL = {"a": "e", "o": "i", "e": "i"}
"""Italian plurals change the last vowel (taglia: taglie, ordine: ordini, prodotto: prodotti)."""


def _inflect(word: str) -> tuple[str, str]:
    """(pattern, anchor source) of one word that also matches its plural: "order": orders; "bestellung":
    bestellungen; "commande": commandes; "meine": meinen; "ordine": ordini; "taglia": taglie. A word whose last
    letter varies is anchored on its stem (the `?` tells `_anchors`), so "ordini" still finds "ordine"."""
    last = word[-1]
    if len(word) >= 5 and last in _PLURAL_VOWEL:
        return f"{word[:-1]}(?:{last}[sn]?|{_PLURAL_VOWEL[last]})", word + "?"
    return word + "(?:e[sn]?|[sn])?", word


def _inflected(rule: str) -> tuple[str, str]:
    """(pattern, anchor source) of a rule whose plain words also match their plural and other endings: a one-word
    rule of three letters or more, and every word of four letters or more in a longer rule ("status of my order"
    also matches "status of my orders"; short words such as possessives are the rule's to list: "(mio|miei)")."""
    if _PLAIN_WORD.fullmatch(rule):
        return _inflect(rule)
    pattern = _WORD_IN_RULE.sub(lambda m: _inflect(m.group(0))[0], rule)
    anchor = _WORD_IN_RULE.sub(lambda m: _inflect(m.group(0))[1], rule)
    return pattern, anchor


def _index_rules(sources: Iterable[tuple[str, int, str]]) -> dict[str, list[tuple[int, _Rule]]]:
    """Every rule alternative, numbered and filed under each of its anchors."""
    index: dict[str, list[tuple[int, _Rule]]] = {}
    number = 0
    for key, weight, source in sources:
        for alternative in _split_alternatives(source):
            inflected, anchor_source = _inflected(normalize(alternative))
            body = inflected.replace("*", r"\w*").replace(" ", r"\W+")
            source = rf"(?:{body})(?!\w)"
            number += 1
            for anchor in set(_anchors(anchor_source)):
                index.setdefault(anchor[:_PREFIX], []).append((number, _Rule(key, weight, source)))
    return index


def _sources() -> Iterable[tuple[str, int, str]]:
    for category, rules in _CATEGORY_RULES.items():
        yield from ((category, weight, source) for weight, source in rules)
    yield from (("praise", weight, source) for weight, source in _PRAISE_RULES)
    yield from (("order_words", weight, source) for weight, source in _RULES.order_words)
    yield from ((f"handover:{reason}", 1, source) for reason, source in _HANDOVER_RULES.items())
    yield from ((key, 1, source) for key, source in _MOOD_WORDS.items())


@cache
def _rule_index() -> dict[str, list[tuple[int, _Rule]]]:
    """The rules filed by anchor, built on first use (commands that never route, such as `doctor` or `stats`, do not
    pay for it)."""
    return _index_rules(_sources())


def _evidence(raw: str) -> dict[str, int]:
    """Summed weight per key of the rules found in `raw`: each rule alternative counts once, and rules of one key
    that match the very same words (`arriv*` and `arrivat*`, one word listed in two languages) count once."""
    text = normalize(raw)
    words = set(re.findall(r"\w+", text))
    prefixes = {word[:end] for word in words for end in range(1, min(len(word), _PREFIX) + 1)} | {""}
    hits: dict[tuple[str, int, int], int] = {}
    tried: set[int] = set()
    index = _rule_index()
    for anchor in index.keys() & prefixes:
        for number, rule in index[anchor]:
            if number in tried:
                continue
            tried.add(number)
            for match in _pattern(rule.source).finditer(text):
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
    r"(?:orders?|pedidos?|commandes?|bestellung(?:en)?|bestellnummer(?:n)?|bestellnr|auftrag|auftrage|encomendas?"
    r"|ordine|ordini|ordem|ordens|orden|ordenes)"
)
_CONNECTOR = (
    r"(?:\s*(?:no\.?|nos\.?|nr\.?|n°|n\.|num\.?|numbers?|numeros?|numeri|nummer|nummern|is|are|was|es|son|est|sont"
    r"|ist|sind|e|sono|sao|el|la|il|o|:|#|-|\?|\.))*\s*"
)
_NUMBER_END = r"(?!\d)(?![.,/:-]\d)(?!\s?(?:€|eur\b|euros?\b|\$|usd\b|£|gbp\b|chf\b|dollars?\b|%))"
_ORDER_NUMBER = re.compile(
    rf"(?<![\w&])#\s?(\d{{3,10}}){_NUMBER_END}|(?<!\w){_ORDER_WORD}(?!\w){_CONNECTOR}#?(\d{{3,10}}){_NUMBER_END}"
)
_NUMBER_PAIR = re.compile(
    rf"(?<![\w#.,/:-])(?<!\d\s)(\d{{3,7}}){_NUMBER_END}(?!\s\d)\s*(?:and|y|et|und|e|&|\+|,)\s*"
    rf"(?:the |el |la |le |il |o |a )?#?\d{{3,7}}{_NUMBER_END}(?!\s\d)"
)
"""Two numbers joined like a list ("1088 and 1091", "el 1095 y el 1096"): order numbers when the text speaks of orders,
even with no order word or '#' right before them ("two orders last week (1088 and 1091)"). Never a group of a longer
number written with spaces (a phone number)."""
_ORDER_MENTION = re.compile(rf"(?<!\w){_ORDER_WORD}(?!\w)")


def extract_order_number(*texts: str) -> str | None:
    """The first order number mentioned ('#1021'): after '#' or an order word, or the first of a pair of numbers in
    a text about orders; never a price, date or phone."""
    for text in texts:
        match = _ORDER_NUMBER.search(normalize(text))
        if match:
            return "#" + (match.group(1) or match.group(2))
    for text in texts:
        normalized = normalize(text)
        pair = _NUMBER_PAIR.search(normalized)
        if pair and _ORDER_MENTION.search(normalized):
            return "#" + pair.group(1)
    return None


def _shouting(raw: str) -> bool:
    """Caps-lock shouting: several all-capital words that are not acronyms or codes."""
    words = [word for word in re.findall(r"\b[^\W\d_]{3,}\b", raw) if word.isupper() and word not in _ACRONYMS]
    return len(words) >= 2


def _order_words(in_subject: dict[str, int], in_body: dict[str, int]) -> float:
    return float(SUBJECT_WEIGHT * in_subject.get("order_words", 0) + in_body.get("order_words", 0))


def _scores(in_subject: dict[str, int], in_body: dict[str, int]) -> dict[Category, float]:
    """Evidence per category; the words for an order count for order status (a bare "my order #1021?" asks where it
    stands)."""
    scores = {c: float(SUBJECT_WEIGHT * in_subject.get(c, 0) + in_body.get(c, 0)) for c in _CATEGORY_RULES}
    scores["OrderPlacementStatus"] += _order_words(in_subject, in_body)
    return scores


def _lead(scores: dict[Category, float], category: Category, shared: float) -> tuple[float, float]:
    """(best, runner-up) for the confidence. The words for an order back whichever of the order categories won and
    are no argument against it: "have my orders shipped?" is a shipping question, not a tie with order status."""
    if category not in ORDER_FAMILY:
        return scores[category], max(score for c, score in scores.items() if c != category)
    generic = {"OrderPlacementStatus": shared}
    best = scores[category] + (shared - generic.get(category, 0.0))
    return best, max(score - generic.get(c, 0.0) for c, score in scores.items() if c != category)


def _praise(in_subject: dict[str, int], in_body: dict[str, int], text: str) -> float:
    """The weight of thanks and praise. Half when the message also asks something: "I love the leggings! Is the L
    coming back?" wants its question answered, and the praise is only how it opens."""
    praise = float(SUBJECT_WEIGHT * in_subject.get("praise", 0) + in_body.get("praise", 0))
    return praise / 2 if "?" in text else praise


def category_scores(subject: str, body: str) -> dict[Category, float]:
    """Weighted keyword evidence per category (subject hits count SUBJECT_WEIGHT times), thanks and praise included."""
    in_subject, in_body = _evidence(subject), _evidence(body)
    scores = _scores(in_subject, in_body)
    scores["CustomerComplaintsSatisfaction"] += _praise(in_subject, in_body, f"{subject}\n{body}")
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


def route_offline(
    subject: str, body: str, *, default_language: str = "en", languages: Iterable[str] | None = None
) -> RouterDecision:
    """Route one customer email without a model: category, language (one of `languages`, the shop's, when given;
    `default_language` when unsure, or the first of `languages` when that is not one of them), order number, mood,
    urgency and handovers."""
    text = f"{subject}\n{body}"
    in_subject, in_body = _evidence(subject), _evidence(body)
    scores = _scores(in_subject, in_body)

    def signal(key: str) -> int:
        return max(in_subject.get(key, 0), in_body.get(key, 0))

    complaint = scores["CustomerComplaintsSatisfaction"]
    praise = _praise(in_subject, in_body, text)
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

    category, best = max(scores.items(), key=lambda item: item[1])
    if best <= 0:
        category = "AccountProfileOther"
    best, second = _lead(scores, category, _order_words(in_subject, in_body))

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
    allowed = candidates(languages)
    fallback = default_language if default_language in allowed else allowed[0]
    language = detect_language(body, default="", languages=allowed) or detect_language(
        text, default=fallback, languages=allowed
    )
    return RouterDecision(
        category=category,
        language=language,
        order_number=extract_order_number(subject, body),
        sentiment=sentiment,
        urgency=urgency,
        handover=handover,
        confidence=_confidence(best, second),
    )
