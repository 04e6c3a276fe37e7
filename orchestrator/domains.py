"""Domain names for the gatekeeper: owners from the Public Suffix List, look-alikes of the shop and of brands.

The Public Suffix List (`publicsuffixlist`, bundled, offline) says where a name ends and a public suffix starts, so
`evil.myshopify.com` is another shop than `aurora-activewear.myshopify.com`, and `shop.example.co.uk` is the name
`example` under `co.uk`; a hand-written guess at two-part suffixes gets private suffixes such as `myshopify.com`
wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

__all__ = [
    "domain_matches",
    "edit_distance",
    "first_match",
    "lookalike_of",
    "name_key",
    "private_labels",
    "public_suffix",
    "read_as_latin",
    "registrable",
    "split_address",
]

_HOMOGLYPHS = str.maketrans(
    "01345789"  # digits that pass for letters, then Cyrillic and Greek letters that look like Latin ones
    "аеорсухіјѕԁһԛԝвкмнтɡ"
    "αβεικνορτυχ",
    "oleastbgaeopcyxijsdhqwbkmhtgabeiknoptux",
)
_PHISHING_WORDS = frozenset({
    "secure", "security", "support", "help", "helpdesk", "service", "services", "account", "accounts", "verify",
    "verification", "login", "signin", "billing", "payment", "payments", "update", "alert", "alerts", "notice",
    "team", "merchant", "merchants", "center", "centre", "admin", "online", "care", "id", "auth", "resolution",
})  # fmt: skip


def lookalike_of(domain: str, protected: Iterable[str], *, strict: bool = False, own: bool = False) -> str | None:
    """The protected domain that `domain` imitates, or None.

    A domain's name is its labels left of the public suffix, read from the Public Suffix List (`publicsuffixlist`,
    bundled, offline) rather than guessed: `aurora-activewear.myshopify.com` is the name `aurora-activewear` under
    the suffix `myshopify.com`, so `evil.myshopify.com` is another shop (not the protected one, nor a lookalike of
    it), and `shop.example.co.uk` is `example` under `co.uk`. A protected domain that is itself a public suffix
    (`myshopify.com`) has no name of its own to imitate.

    Default (used when DMARC already failed): edit distance <= 2 (1 for brands of 5 letters), 0/o 1/l rn/m and
    Cyrillic or Greek look-alike letters, or the brand inside a longer name (`aurora-activewear-help`). `strict`
    (used on mail that passed or lacks DMARC, where the domain is really the sender's): only deliberate imitations
    count, so a customer at `applebee.example` or `strive.example` is not taken for Apple or Stripe: look-alike
    letters (`paypa1`, `aurora-activevvear`), a brand of 7 letters or more one edit away (`shopiify`), a brand
    joined to a word like 'secure' or 'support' (`paypal-secure`), and for `own` domains (the shop's) also any
    name within two edits of the shop's or holding it (`auroraactivewear-help`). The same name under another
    suffix (`paypal.de`) is not an imitation in strict mode.
    """
    return _lookalike(domain.lower().rstrip("."), tuple(protected), strict=strict, own=own)


def _lookalike(domain: str, protected: tuple[str, ...], *, strict: bool, own: bool) -> str | None:
    if not domain or first_match(domain, protected):
        return None  # the real thing (or its subdomain), not an imitation
    raws = private_labels(domain)
    for real in protected:
        real_labels = private_labels(real)
        if not real_labels:
            continue
        raw_brand = real_labels[-1]
        brand = read_as_latin(raw_brand)
        if len(brand) < 4:
            continue
        limit = 1 if len(brand) <= 5 else 2
        for raw in raws:
            name = read_as_latin(raw)
            if strict and _imitates(raw, name, raw_brand, brand, own=own):
                return real
            if not strict and (
                brand in name or any(edit_distance(token, brand, limit) <= limit for token in {name, *name.split("-")})
            ):
                return real
    return None


def _imitates(raw: str, name: str, raw_brand: str, brand: str, *, own: bool) -> bool:
    """Whether the name `raw` (normalised: `name`) deliberately imitates `raw_brand` (see `lookalike_of`)."""
    if raw == raw_brand:
        return False
    tokens = name.split("-")
    if name == brand or name.replace("-", "") == brand.replace("-", ""):
        return True
    if brand in tokens and any(token in _PHISHING_WORDS for token in tokens):
        return True
    if len(brand) >= 7 and any(token != brand and edit_distance(token, brand, 1) <= 1 for token in tokens):
        return True
    if not own:
        return False
    compact, target = name.replace("-", ""), brand.replace("-", "")
    if len(target) >= 8 and target in compact:
        return True
    if len(target) < 6:
        return False
    limit = 1 if len(target) <= 7 else 2
    sizes = (len(target) - 1, len(target), len(target) + 1)
    windows = {compact[i : i + size] for size in sizes for i in range(max(1, len(compact) - size + 1))}
    return any(edit_distance(window, target, limit) <= limit for window in windows)


def name_key(name: str) -> str:
    """A name for comparison: accents dropped, look-alike letters and digits read as Latin, words of a-z only."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z]+", read_as_latin(text)))


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain.rstrip(".")


def domain_matches(domain: str, entry: str) -> bool:
    """`domain` is `entry` or a subdomain of it with the same owner; `name.*` is `name` under any public suffix."""
    if entry.endswith(".*"):
        owner = registrable(domain)
        return owner is not None and owner == f"{entry[:-2]}.{public_suffix(domain)}"
    if domain == entry:
        return True
    if not domain.endswith("." + entry):
        return False
    owner = registrable(domain)  # under a public suffix (myshopify.com) each subdomain has its own owner
    return owner is None or len(owner) <= len(entry)


def first_match(domain: str, entries: Iterable[str]) -> str | None:
    return next((entry for entry in entries if domain_matches(domain, entry)), None) if domain else None


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled list: no network


@lru_cache(maxsize=4096)
def public_suffix(domain: str) -> str:
    return _suffix_list().publicsuffix(domain) or domain


@lru_cache(maxsize=4096)
def registrable(domain: str) -> str | None:
    """The registrable domain (public suffix plus one label): `a.b.example.co.uk` -> `example.co.uk`."""
    return _suffix_list().privatesuffix(domain)


def private_labels(domain: str) -> list[str]:
    """The labels left of the public suffix (`shop.example.co.uk` -> ['shop', 'example'], `myshopify.com` -> [])."""
    domain = domain.strip().lower().rstrip(".")
    suffix = public_suffix(domain)
    return domain[: -len(suffix) - 1].split(".") if domain != suffix and domain.endswith("." + suffix) else []


def read_as_latin(label: str) -> str:
    return label.translate(_HOMOGLYPHS).replace("rn", "m").replace("vv", "w")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it is certainly larger than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
