"""Last check on a draft before it is saved: only allowed links, and no other customer's address, order or number.

The guard reads the text the way a person (or a mail client) will see it: NFKC-normalised, with zero-width and
other invisible format characters removed, so `evil.exa\u200bmple` or `#10\u200b02` cannot slip through. It returns
that normalised text, which is what gets stored. What it checks:

- links: `https://`, `www.` and bare domains (`evil.com/login`); allowed only when a tool returned that exact URL,
  or when the host is one of the shop's domains *and* the URL carries nothing private (no query string, no long
  token in the path: an order-status link with `authenticate?key=` belongs to one customer). URLs with user info
  or a backslash in the authority (`https://evil.com\\@shop/`) are never allowed;
- email addresses: the recipient's, the shop's and those in the tools' results (not the ones a sender wrote: an
  attacker who names a victim's address must not get a draft that repeats it);
- order numbers (`#1021`, `order 1021`), long digit runs (tracking and phone numbers, 9+ digits) and street
  addresses (`Calle de Fuencarral 45`, `2145 SE Division St`, `Rosenthaler Straße 12`): only those the tools
  returned, the customer wrote (repeating what a customer asks about reveals nothing) or the merchant's signature
  holds. Street addresses are recognised by pattern, so this is a second line of defence: the first is that every
  lookup is bound to the recipient, so a model never sees another customer's address.

A flagged draft is not patched with placeholders; the caller replaces it with a reply that carries no data and
labels it for review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from orchestrator.models import RouterDecision
from support_core.addresses import AddressError, normalise_address

_TLDS = (
    "com net org info biz io co app shop store online site xyz top club me ly gl gg ai dev page link click live ru cn "
    "tk ml ga cf gq pw cc tv ws su us uk de fr es it nl pt eu ca au in br mx jp kr ch at be se no dk pl cz ie nz za "
    "tr ua ro gr hu fi sk vn id my sg hk tw ar cl pe ve example test invalid zip mov icu buzz rest fun"
)
_TLD = "|".join(sorted(_TLDS.split(), key=len, reverse=True))
_SCHEME_URL = r"\b(?:https?|ftp)://[^\s<>\"'`]+"
_WWW_URL = r"\bwww\.[^\s<>\"'`]+"
_BARE_URL = rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLD})\b(?![@-])(?:[/:?#][^\s<>\"'`]*)?"
_URL = re.compile(rf"(?i){_SCHEME_URL}|{_WWW_URL}|{_BARE_URL}")
_EMAIL = re.compile(r"(?i)(?<![\w.+-])[\w.%+'-]+@(?:[\w-]+\.)+[\w-]{2,}")
_ORDER_WORDS = r"order|pedido|commande|bestellung|ordine|encomenda|auftrag"
_ORDER = re.compile(
    rf"(?i)(?:(?<![\w#])#\s?(\d{{3,10}})\b|\b(?:{_ORDER_WORDS})\s+(?:n[or]?\.?\s*|nº\s*)?(\d{{3,10}})\b)"
)
_LONG_NUMBER = re.compile(r"(?<![\w+])\+?\d(?:[\d \t().-]{7,}\d)(?!\w)")
_MIN_DIGITS = 9
_TRAILING = ".,;:!?)]}'\""
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_-]{16,}")
_LINE_SEPARATORS = {0x2028: "\n", 0x2029: "\n\n"}
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


def visible_text(text: str) -> str:
    """What a reader sees: NFKC, invisible format characters removed (zero-width space, joiners, bidi controls)."""
    text = unicodedata.normalize("NFKC", text.translate(_LINE_SEPARATORS))
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cf", "Cc", "Co", "Cs"))


def _street_key(value: str) -> str:
    return " ".join(value.lower().split())


def _address_key(value: str) -> str:
    """The one normal form of support_core, so `Maria@EXAMPLE.com` and an IDN written either way compare equal."""
    try:
        return normalise_address(value)
    except AddressError:
        return value.lower()


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _orders(text: str) -> set[str]:
    return {a or b for a, b in _ORDER.findall(text)}


@dataclass
class Evidence:
    """What a draft may mention: URLs, order numbers, emails and long numbers the tools returned for this customer."""

    urls: set[str] = field(default_factory=set)
    order_numbers: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    streets: set[str] = field(default_factory=set)

    def add_tool_result(self, value: Any) -> None:
        """Collect every URL, order number, email and long number in a tool result, recursively."""
        if isinstance(value, dict):
            for item in value.values():
                self.add_tool_result(item)
        elif isinstance(value, list):
            for item in value:
                self.add_tool_result(item)
        elif isinstance(value, str | int) and not isinstance(value, bool):
            self.add_text(str(value))

    def add_text(self, value: str) -> None:
        text = visible_text(value)
        self.urls.update(_clean_url(u) for u in _URL.findall(text))
        self.order_numbers.update(_orders(text))
        self.order_numbers.update(re.findall(r"#(\d{3,10})\b", text))
        self.emails.update(_address_key(e) for e in _EMAIL.findall(text))
        self.numbers.update(d for d in map(_digits, _LONG_NUMBER.findall(text)) if len(d) >= _MIN_DIGITS)
        if text.strip().isdigit() and len(text.strip()) >= _MIN_DIGITS:
            self.numbers.add(text.strip())
        self.streets.update(_street_key(found) for found in _STREET.findall(text))


@dataclass(frozen=True)
class GuardResult:
    text: str
    """The normalised text (what will be stored), unchanged apart from normalisation."""
    removed: tuple[str, ...]
    """What should not be there (kinds and hosts, never the data itself); empty when the draft is clean."""

    @property
    def flagged(self) -> bool:
        return bool(self.removed)


def _clean_url(url: str) -> str:
    return url.rstrip(_TRAILING)


def _host(url: str) -> tuple[str, bool]:
    """(host as a browser reads it, whether the authority is tricky: user info, backslash, odd port)."""
    target = url if "://" in url else f"https://{url}"
    scheme_end = target.index("://") + 3
    authority = re.split(r"[/?#\\]", target[scheme_end:], maxsplit=1)[0]
    tricky = "\\" in target[scheme_end : scheme_end + len(authority) + 1] or "@" in authority
    host = authority.rpartition("@")[2].split(":")[0].lower().rstrip(".")
    return host, tricky


def _domain_allowed(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith(f".{d}") for d in domains)


def _private(url: str) -> bool:
    """A link that belongs to one customer: a query string, or a long token in the path."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return bool(parts.query) or any(_TOKEN_SEGMENT.fullmatch(s) for s in parts.path.split("/") if s)


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
    evidence = Evidence(
        urls=evidence.urls | {_clean_url(u) for u in _URL.findall(visible_text(shop_text))},
        order_numbers=evidence.order_numbers,
        emails=evidence.emails,
        numbers=evidence.numbers,
        streets=evidence.streets,
    )
    orders = evidence.order_numbers | own.order_numbers
    emails = {_address_key(recipient), *evidence.emails}
    numbers = evidence.numbers | own.numbers
    streets = evidence.streets | own.streets
    removed: list[str] = []
    masked = visible
    for match in _URL.finditer(visible):  # links first: `https://evil.com@shop/` is a link, not an address
        url = _clean_url(match.group(0))
        masked = masked.replace(match.group(0), " " * len(match.group(0)))
        host, tricky = _host(url)
        if url in evidence.urls and not tricky:
            continue
        if not tricky and _domain_allowed(host, domains) and not _private(url):
            continue
        removed.append(f"link {host[:60] or 'unreadable'}")
    for match in _EMAIL.finditer(masked):
        address = _address_key(match.group(0))
        if address not in emails and not _domain_allowed(address.rpartition("@")[2].lower(), domains):
            removed.append("email address")
        masked = masked.replace(match.group(0), " " * len(match.group(0)))
    for number in _orders(visible):
        if number not in orders:
            removed.append(f"order #{number}")
    for match in _LONG_NUMBER.finditer(masked):
        digits = _digits(match.group(0))
        if len(digits) >= _MIN_DIGITS and digits not in numbers and not any(digits in n for n in numbers):
            removed.append("long number")
    for found in _STREET.findall(masked):
        if _street_key(found) not in streets:
            removed.append("street address")
    return GuardResult(text=visible, removed=tuple(dict.fromkeys(removed)))


_LANGUAGE = re.compile(r"^[a-z]{2}(?:[-_][a-z0-9]{2,8})*$", re.IGNORECASE)


def checked_decision(decision: RouterDecision, text: str, fallback_language: str) -> RouterDecision:
    """The router's fields are model output: a language must be an ISO 639-1 code, and an order number is kept
    only when the customer's text contains it (a model cannot point the lookups at an order nobody mentioned)."""
    language = decision.language.strip()
    language = language[:2].lower() if _LANGUAGE.match(language) else fallback_language
    number = decision.order_number
    if number is not None:
        digits = "".join(c for c in number if c.isdigit())
        visible = visible_text(text)
        if not digits or not re.search(rf"(?<!\d){digits}(?!\d)", visible):
            number = None
    if language == decision.language and number == decision.order_number:
        return decision
    return decision.model_copy(update={"language": language, "order_number": number})
