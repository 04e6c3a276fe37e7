"""The customer's question as the offline engine reads it, with the rules of `templates/questions.toml`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

from orchestrator.models import LANGUAGES, RouterDecision
from orchestrator.offline_router import _ORDER_NUMBER, normalize  # the router's own order-number pattern
from orchestrator.phrasebook import phrasebook

MAX_ORDERS = 5
"""Order numbers looked up per message (each is one call)."""

_CODE = re.compile(r"\b[A-Z][A-Z0-9]{3,19}\b")
_GAP = r"(?:[^\w.!?]+\w+){0,6}[^\w.!?]+"
"""`~` in a rule: up to six words in between, within one sentence ('zweimal von der Kreditkarte abgebucht')."""
_QUOTED = re.compile(r"«([^»]{12,})»|“([A-Z][^”\n]{11,})”|„([^“”]{12,})[“”]|\"([A-Z][^\"\n]{11,})\"")
"""Text the customer quotes: an error message copied word for word."""


def _compile(rule: str) -> re.Pattern[str]:
    """A rule of `templates/questions.toml` (router syntax, plus `~` for a few words in between) as a regular
    expression on normalised text."""
    body = " ".join(rule.split()).replace("*", r"\w*").replace(" ", r"\W+").replace("~", _GAP)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


def _load_rules() -> dict[str, Any]:
    text = resources.files("orchestrator").joinpath("templates", "questions.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


_RULES = _load_rules()
TOPICS = {name: _compile(rule) for name, rule in _RULES["topics"].items()}
POLICY_TOPICS = {name: _compile(rule) for name, rule in _RULES["policy_topics"].items()}
POLICY_KINDS: dict[str, list[str]] = _RULES["policy_kinds"]
KINDS = {name: _compile(rule) for name, rule in _RULES["product_kinds"].items()}
COLOURS = {name: _compile(rule) for name, rule in _RULES["colours"].items()}
COUNTRIES = {name: _compile(rule) for name, rule in _RULES["countries"].items()}
COUNTRY_CODES: dict[str, str] = _RULES["country_codes"]
STOPWORDS = frozenset(_RULES["search"]["stopwords"].split())
MEASURES = {name: _compile(rule) for name, rule in _RULES["measures"].items()}
FIRST_ORDER_OFFER = _compile(_RULES["offers"]["first_order"])
_NUMBER = r"(\d{2,3}(?:[.,]\d)?)(?![\d.,]\d)"
_MONTHS = {
    normalize(month): index
    for language in LANGUAGES
    for index, month in enumerate(phrasebook(language).data["format"]["months"], start=1)
}
_DEADLINE = re.compile(
    rf"(?<!\w)(?:{_RULES['deadline']['words']})(?!\w){_GAP.replace('{0,6}', '{0,4}')}(?:"
    rf"(\d{{1,2}})(?:st|nd|rd|th|er|\.|o)?\W+(?:de\W+)?({'|'.join(_MONTHS)})"
    rf"|({'|'.join(_MONTHS)})\W+(\d{{1,2}})(?:st|nd|rd|th)?)(?!\w)"
)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words_of(text: str) -> list[str]:
    """The words of `text`, normalised and in the singular (`socks` -> `sock`)."""
    return [_singular(word) for word in re.findall(r"[^\W_]+", normalize(text))]


@dataclass(frozen=True)
class Question:
    """What the customer asks, read from the subject and the new part of the body."""

    raw: str
    text: str
    """Normalised (lower case, no accents)."""
    topics: frozenset[str]
    order_numbers: tuple[str, ...]
    codes: tuple[str, ...]
    countries: tuple[str, ...]
    """English names of the countries mentioned (as an English policy names them)."""
    measurements: tuple[tuple[str, float], ...] = ()
    """Measurements and sizes the customer gives ('calf 38 cm', 'shoe size 44'), by [measures] name."""
    deadline: tuple[int, int] | None = None
    """(day, month) the customer needs their order by ('avant mon trail du 13 décembre')."""

    @cached_property
    def words(self) -> set[str]:
        return set(words_of(self.raw))

    @cached_property
    def kinds(self) -> set[str]:
        """Product kinds the customer names (`sock` for 'chaussettes')."""
        return {kind for kind, pattern in KINDS.items() if pattern.search(self.text)}


def order_numbers(*texts: str, first: str | None = None) -> tuple[str, ...]:
    """Every order number in the texts ('#1021', '#1029'), with the router's pattern; `first` (the router's) leads."""
    found = [first] if first else []
    for text in texts:
        found += [match.group(1) or match.group(2) for match in _ORDER_NUMBER.finditer(normalize(text))]
    numbers = [f"#{digits}" for digits in (re.sub(r"\D", "", n) for n in found) if digits]
    return tuple(dict.fromkeys(numbers))[:MAX_ORDERS]


def discount_codes(text: str) -> list[str]:
    """Upper-case tokens with a digit (SUMMER25, WELCOME10): what customers paste from an email or an ad."""
    return [code for code in dict.fromkeys(_CODE.findall(text)) if any(c.isdigit() for c in code)][:3]


def measurements(text: str) -> tuple[tuple[str, float], ...]:
    """The measurements in normalised `text`: a number of two or three digits right after (or just before) the word
    for a body measurement or a shoe size, in any of the six languages ('Wadenumfang ist genau 38 cm')."""
    found = []
    for name, pattern in MEASURES.items():
        word = pattern.pattern
        after = re.search(rf"{word}(?:\W+\w+){{0,3}}?\W+{_NUMBER}", text)
        before = re.search(rf"{_NUMBER}\s*(?:cm)?\W+(?:\w+\W+){{0,1}}{word}", text)
        match = after or before
        if match:
            found.append((name, float(match.group(1).replace(",", "."))))
    return tuple(found)


def deadline(text: str) -> tuple[int, int] | None:
    """(day, month) of a date the customer needs something by ('before 13 December', 'bis zum 20. Dezember')."""
    match = _DEADLINE.search(text)
    if match is None:
        return None
    day, month = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
    number = int(day)
    return (number, _MONTHS[month]) if 1 <= number <= 31 else None


def read_question(subject: str, body: str, decision: RouterDecision) -> Question:
    raw = f"{subject}\n{body}"
    text = normalize(raw)
    topics = {name for name, pattern in TOPICS.items() if pattern.search(text)}
    if any(len(quote.split()) >= 4 for match in _QUOTED.finditer(body) for quote in match.groups() if quote):
        topics.add("error_quoted")
    return Question(
        raw=raw,
        text=text,
        topics=frozenset(topics),
        order_numbers=order_numbers(subject, body, first=decision.order_number),
        codes=tuple(discount_codes(raw)),
        countries=tuple(name for name, pattern in COUNTRIES.items() if pattern.search(text)),
        measurements=measurements(text),
        deadline=deadline(text),
    )
