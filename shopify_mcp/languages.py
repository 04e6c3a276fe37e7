"""Language codes: reading a customer's language (ISO 639-1) and matching it to the locales a shop publishes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shopify_mcp.errors import InvalidInputError

ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en
    eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja
    jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb
    nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """.split()  # noqa: SIM905 (183 codes: as a list literal the formatter would give each its own line)
)
"""The two-letter language codes of ISO 639-1."""

_TAG = re.compile(r"([A-Za-z]{2})(?:[-_]([A-Za-z]{2}))?")


@dataclass(frozen=True, slots=True)
class LanguageTag:
    """A customer's language: `language` ('pt') and, when a region was given, the locale as Shopify spells it."""

    language: str
    locale: str
    """'pt-BR' with a region, else the language itself ('pt')."""


def language_tag(value: str) -> LanguageTag:
    """'de', 'DE', 'pt-BR', 'pt_br' -> a tag; anything else raises `InvalidInputError` saying what to pass."""
    match = _TAG.fullmatch(value.strip())
    language = match.group(1).lower() if match else ""
    if language not in ISO_639_1:
        raise InvalidInputError(
            f"Unknown language {value!r}: pass the customer's language as an ISO 639-1 code such as 'de', 'fr' or "
            "'pt' (a region is allowed: 'pt-BR'), or leave `language` out for the shop's own texts."
        )
    region = match.group(2) if match else None
    return LanguageTag(language=language, locale=f"{language}-{region.upper()}" if region else language)


def language_of(locale: str) -> str:
    """The language part of a Shopify locale: 'pt-BR' -> 'pt'."""
    return locale.split("-", 1)[0].lower()


def match_locale(tag: LanguageTag, locales: Iterable[str]) -> str | None:
    """The shop locale that serves `tag`: the exact locale, else the bare language, else one of its regional
    variants ('pt' is served by 'pt-PT'); None when the shop publishes none of them."""
    candidates = list(locales)
    for wanted in (tag.locale, tag.language):
        exact = next((locale for locale in candidates if locale.lower() == wanted.lower()), None)
        if exact is not None:
            return exact
    return next((locale for locale in candidates if language_of(locale) == tag.language), None)
