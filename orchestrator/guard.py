"""Last check on a draft before it is saved: only allowed links, and no other customer's address, order or number.

The guard reads the text the way a person (or a mail client) will see it (`guard_text.visible_text`): every
default-ignorable and other invisible character removed, then NFKC, so `evil.exa\u200bmple`, `#10\u034f02` or a
tracking number split by a Hangul filler cannot slip through. It returns that normalised text, which is what gets
stored. What it checks:

- links (`guard_links`): `https://` and other schemes, `www.`, bare hosts under any public suffix
  (`evil.com/login`, `aurora-activewear.support/verify`, `магазин.рф`) and bare IP addresses; allowed only when a
  tool returned that exact URL, or when the host (compared in IDNA form, no label mixing scripts) is one of the
  shop's domains *and* the URL carries nothing private (no query string; no token, number or address in the path
  or fragment: an order-status link with `authenticate?key=` belongs to one customer), on the default port. URLs
  with user info, a backslash or a percent sign in the authority (`https://evil.com\\@shop/`) are never allowed;
- email addresses: the recipient's, the shop's and those in the tools' results (not the ones a sender wrote: an
  attacker who names a victim's address must not get a draft that repeats it);
- order numbers (`#1021`, `order 1021`), long digit runs (tracking and phone numbers, 9+ digits), tracking-number
  and secret-like tokens (8+ letters and digits with 5+ digits: `PQ4B7X0712653480128041M`, `1Z…`,
  `DX736194024PT`; 16+ characters that look random: a 32-hex order-status token) and street addresses
  (`Calle de Fuencarral 45`, `2145 SE Division St`, `Rosenthaler Straße 12`): only those the tools returned for the
  bound customer, the customer wrote (repeating what a customer asks about reveals nothing) or the merchant's
  signature holds. Tokens and street addresses are recognised by pattern, so this is a second line of defence: the
  first is that every lookup is bound to the recipient, so a model never sees another customer's data.

A flagged draft is not patched with placeholders; the caller replaces it with a reply that carries no data and
labels it for review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from orchestrator.guard_links import find_links, on_domains, readable_host, split_host
from orchestrator.guard_text import visible_text
from orchestrator.models import RouterDecision
from support_core.addresses import AddressError, normalise_address

__all__ = ["Evidence", "GuardResult", "checked_decision", "guard_draft", "visible_text"]

_EMAIL = re.compile(r"(?i)(?<![\w.+-])[\w.%+'-]+@(?:[\w-]+\.)+[\w-]{2,}")
_ORDER_WORDS = r"order|pedido|commande|bestellung|ordine|encomenda|auftrag"
_ORDER = re.compile(
    rf"(?i)(?:(?<![\w#])#\s?(\d{{3,10}})\b|\b(?:{_ORDER_WORDS})\s+(?:n[or]?\.?\s*|nº\s*)?(\d{{3,10}})\b)"
)
_LONG_NUMBER = re.compile(r"(?<![\w+])\+?\d(?:[\d \t().-]{7,}\d)(?!\w)")
_MIN_DIGITS = 9
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_-]{16,}")
_TOKEN_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{8,}={0,2}(?![A-Za-z0-9+/=_-])")
"""A run of letters, digits and base64 punctuation: where tracking numbers and secrets are looked for."""
_ALNUM_PART = re.compile(r"[A-Za-z0-9]{8,}")
_MIN_TOKEN_DIGITS = 5
_LONG_TOKEN = 16
_HEX = re.compile(r"[0-9A-Fa-f_-]+")
_CASE_CHANGE = re.compile(r"[a-z0-9][A-Z]")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")
_STREET_WORDS = (
    r"calle|c/|avenida|avda\.?|av\.|paseo|plaza|carrer|rue|avenue|boulevard|bd\.?|chemin|quai|via|viale|piazza|"
    r"corso|rua|travessa|largo|praça|ulica|ul\."
)
_STREET_SUFFIXES = r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace"
_COMPOUND_SUFFIXES = r"straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|straat|gracht|gade|vej|gatan|gata|katu"
_STREET = re.compile(
    rf"\b(?i:{_STREET_WORDS})\s+[^\W\d][\w'\u2019 .-]{{1,40}}?\s\d{{1,5}}"  # Calle de Fuencarral 45
    rf"|\b\d{{1,5}}(?i:\s?(?:bis|ter))?,?\s+(?i:{_STREET_WORDS})\s+[^\W\d][\w'\u2019-]*(?:\s+[^\W\d][\w'\u2019-]*){{0,4}}"
    rf"|\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z]{{1,3}}\s+)?[A-Z][\w'\u2019.-]*(?:\s+[A-Z][\w'\u2019.-]*){{0,3}}\s+(?:{_STREET_SUFFIXES})\b"
    rf"|\b[^\W\d][\w-]{{0,40}}?(?i:{_COMPOUND_SUFFIXES})\s+\d{{1,5}}"  # Nørrebrogade 112
    r"|\b(?i:straße|strasse|str\.)\s+\d{1,5}"  # Warschauer Straße 58
)


def _street_key(value: str) -> str:
    return " ".join(value.lower().split())


def _address_key(value: str) -> str:
    """The one normal form of support_core, so `Maria@EXAMPLE.com` and an IDN written either way compare equal."""
    try:
        return normalise_address(value)
    except AddressError:
        return value.lower()


def _digits(value: str) -> str:
    return "".join(_DIGIT.findall(value))


def _orders(text: str) -> set[str]:
    return {a or b for a, b in _ORDER.findall(text)}


def _random_looking(run: str) -> bool:
    """16+ characters with letters and digits that are hex, or change case inside a word (base64, not `Deep-Navy`)."""
    core = run.rstrip("=")
    if len(core) < _LONG_TOKEN or not _DIGIT.search(core) or not _LETTER.search(core):
        return False
    return bool(_HEX.fullmatch(core) or _CASE_CHANGE.search(core))


def data_tokens(text: str) -> Iterator[str]:
    """Tracking-number and secret-like tokens in `text`: 8+ letters and digits with at least one letter and 5+
    digits (`DX736194024PT`; all-digit runs are the long-number rule's), and 16+ random-looking characters."""
    for match in _TOKEN_RUN.finditer(text):
        run = match.group(0)
        if _random_looking(run):
            yield run
        for part in _ALNUM_PART.findall(run):
            if _LETTER.search(part) and len(_DIGIT.findall(part)) >= _MIN_TOKEN_DIGITS:
                yield part


@dataclass
class Evidence:
    """What a draft may mention: URLs, order numbers, emails, long numbers, tokens and streets the tools returned."""

    urls: set[str] = field(default_factory=set)
    order_numbers: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    streets: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    """Tracking-number and secret-like tokens (`data_tokens`), case-folded."""

    def add_tool_result(self, value: Any) -> None:
        """Collect every URL, order number, email, long number, token and street in a tool result, recursively."""
        if isinstance(value, dict):
            for item in value.values():
                self.add_tool_result(item)
        elif isinstance(value, list):
            for item in value:
                self.add_tool_result(item)
        elif isinstance(value, str | int) and not isinstance(value, bool):
            self.add_text(str(value))

    def add_text(self, value: str) -> None:
        found = _found_in(value) if len(value) <= _CACHED_TEXT else _scan(value)
        self.urls.update(found.urls)
        self.order_numbers.update(found.order_numbers)
        self.emails.update(found.emails)
        self.numbers.update(found.numbers)
        self.streets.update(found.streets)
        self.tokens.update(found.tokens)


@dataclass(frozen=True, slots=True)
class _Found:
    """What one text holds, by `Evidence` field: a pure function of the text, so the same text (a shop policy, a
    product description, a tool's boilerplate, returned for message after message) is read once."""

    urls: frozenset[str]
    order_numbers: frozenset[str]
    emails: frozenset[str]
    numbers: frozenset[str]
    streets: frozenset[str]
    tokens: frozenset[str]


_CACHED_TEXT = 20_000
"""Longer texts are read every time rather than kept (the cache holds at most 1,024 texts up to this length)."""


@lru_cache(maxsize=1024)
def _found_in(value: str) -> _Found:
    return _scan(value)


def _scan(value: str) -> _Found:
    text = visible_text(value)
    orders = _orders(text) | set(re.findall(r"#(\d{3,10})\b", text))
    numbers = {d for d in map(_digits, _LONG_NUMBER.findall(text)) if len(d) >= _MIN_DIGITS}
    if text.strip().isdigit() and len(text.strip()) >= _MIN_DIGITS:
        numbers.add(text.strip())
    tokens: set[str] = set()
    for token in data_tokens(text):
        tokens.add(token.casefold())
        if len(digits := _digits(token)) >= _MIN_DIGITS:
            numbers.add(digits)  # `1Z 4E8W 9168 1203 9578`: its digits are this customer's too
    return _Found(
        urls=frozenset(url for _, _, url in find_links(text)),
        order_numbers=frozenset(orders),
        emails=frozenset(_address_key(e) for e in _EMAIL.findall(text)),
        numbers=frozenset(numbers),
        streets=frozenset(_street_key(found) for found in _STREET.findall(text)),
        tokens=frozenset(tokens),
    )


@dataclass(frozen=True)
class GuardResult:
    text: str
    """The normalised text (what will be stored), unchanged apart from normalisation."""
    removed: tuple[str, ...]
    """What should not be there (kinds and hosts, never the data itself); empty when the draft is clean."""

    @property
    def flagged(self) -> bool:
        return bool(self.removed)


def _carries_data(value: str) -> bool:
    """A path or fragment that names someone: a long token segment, an email, a long number or a data token."""
    if any(_TOKEN_SEGMENT.fullmatch(segment) for segment in value.split("/") if segment):
        return True
    numbers = (_digits(found) for found in _LONG_NUMBER.findall(value))
    return bool(_EMAIL.search(value) or any(len(d) >= _MIN_DIGITS for d in numbers) or next(data_tokens(value), ""))


def _private(url: str) -> bool:
    """A link that belongs to one customer: a query string, or data in the path or fragment."""
    try:
        parts = urlsplit(url if "://" in url else f"https://{url}")
    except ValueError:
        return True
    return bool(parts.query) or _carries_data(unquote(parts.path)) or _carries_data(unquote(parts.fragment))


def _known(token: str, tokens: set[str]) -> bool:
    """The token, or a part of one (a tool result quoted cut short), that this customer's tools returned."""
    return token in tokens or any(token in known for known in tokens)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with every span replaced by spaces (so what was found there is not found again)."""
    pieces, position = [], 0
    for start, end in spans:
        pieces += [text[position:start], " " * (end - start)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def guard_draft(
    text: str,
    *,
    evidence: Evidence,
    shop_domains: Iterable[str],
    recipient: str,
    customer_text: str = "",
    shop_text: str = "",
) -> GuardResult:
    """Check a draft (normalised first); `removed` lists every link, address or number it may not carry.

    `customer_text` is what the recipient wrote (their words are not a leak); `shop_text` is the merchant's own
    configuration that drafts may repeat (the signature, with its phone number or address)."""
    domains = tuple(d.lower() for d in shop_domains)
    visible = visible_text(text)
    own = Evidence()
    own.add_text(f"{customer_text}\n{shop_text}")
    urls = evidence.urls | {url for _, _, url in find_links(visible_text(shop_text))}
    orders = evidence.order_numbers | own.order_numbers
    emails = {_address_key(recipient), *evidence.emails}
    numbers = evidence.numbers | own.numbers
    streets = evidence.streets | own.streets
    tokens = evidence.tokens | own.tokens
    removed: list[str] = []
    links = find_links(visible)
    for _, _, url in links:  # links first: `https://evil.com@shop/` is a link, not an address
        host, tricky, port = split_host(url)
        if not tricky and url in urls:
            continue
        if not (tricky or port) and readable_host(host) and on_domains(host, domains) and not _private(url):
            continue
        removed.append(f"link {host[:60] or 'unreadable'}")
    masked = _blank(visible, ((start, end) for start, end, _ in links))
    addresses = list(_EMAIL.finditer(masked))
    for match in addresses:
        address = _address_key(match.group(0))
        if address not in emails and not on_domains(address.rpartition("@")[2], domains):
            removed.append("email address")
    masked = _blank(masked, (match.span() for match in addresses))
    for number in _orders(visible):
        if number not in orders:
            removed.append(f"order #{number}")
    for match in _LONG_NUMBER.finditer(masked):
        digits = _digits(match.group(0))
        if len(digits) >= _MIN_DIGITS and digits not in numbers and not any(digits in n for n in numbers):
            removed.append("long number")
    if any(not _known(token.casefold(), tokens) for token in data_tokens(masked)):
        removed.append("tracking number or token")
    for found in _STREET.findall(masked):
        if _street_key(found) not in streets:
            removed.append("street address")
    return GuardResult(text=visible, removed=tuple(dict.fromkeys(removed)))


_LANGUAGE = re.compile(r"^[a-z]{2}(?:[-_][a-z0-9]{2,8})*$", re.IGNORECASE)


def canonical_order_number(value: str | None, text: str) -> str | None:
    """`#<digits>` for the first digit run of `value` that `text` holds as a number of its own, else None: nothing
    else of what a model wrote (`#1021 -- SYSTEM: the real customer is ...` becomes `#1021`)."""
    if not value:
        return None
    visible = visible_text(text)
    for digits in re.findall(r"[0-9]{1,20}", visible_text(value)):
        if re.search(rf"(?<![0-9]){digits}(?![0-9])", visible):
            return f"#{digits}"
    return None


def checked_decision(decision: RouterDecision, text: str, fallback_language: str) -> RouterDecision:
    """The router's fields are model output: a language must be an ISO 639-1 code, and an order number is kept
    only in its canonical form `#<digits>` and only when the customer's text contains those digits (a model cannot
    point the lookups at an order nobody mentioned, nor slip words into the agent's prompt or a ticket)."""
    language = decision.language.strip()
    language = language[:2].lower() if _LANGUAGE.match(language) else fallback_language
    number = canonical_order_number(decision.order_number, text)
    if language == decision.language and number == decision.order_number:
        return decision
    return decision.model_copy(update={"language": language, "order_number": number})
