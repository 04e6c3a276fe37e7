"""Which catalogue products and variants a customer's question is about, for the offline engine."""

from __future__ import annotations

import re

from orchestrator.offline_router import normalize
from orchestrator.questions import COLOURS, KINDS, STOPWORDS, TOPICS, Question, words_of
from support_core.store import Product

MAX_PRODUCTS = 2
_PHRASE = re.compile(r"\b[A-Z][\w'\u2019-]*(?:[ \t]+[A-Z0-9][\w'\u2019-]*)+")
_SIZE = re.compile(r"^(?:X{0,3}[SML]|X{1,3}L|\d{1,3})$")


def product_phrases(raw: str) -> list[str]:
    """Capitalised runs ('Pro Compression Leggings'): product names as customers type them, sizes dropped."""
    found = []
    for match in _PHRASE.finditer(raw):
        words = match.group(0).split()
        while words and (_SIZE.match(words[-1]) or normalize(words[-1]) in STOPWORDS):
            words.pop()
        while words and normalize(words[0]) in STOPWORDS:
            words.pop(0)
        if len(words) >= 2:
            found.append(" ".join(words))
    return list(dict.fromkeys(found))


def search_terms(question: Question) -> list[str]:
    """Catalogue searches, most specific first: product names, product kinds (in English, as the catalogue is),
    then other content words. Colours and sizes are never searched alone (they match every product)."""
    colour_words = {w for w in question.words if any(p.fullmatch(w) for p in COLOURS.values())}
    kind_words = {w for w in question.words if any(p.fullmatch(w) for p in KINDS.values())}
    words = [
        w
        for w in words_of(question.raw)
        if len(w) >= 4 and w not in STOPWORDS and w not in colour_words and w not in kind_words
    ]
    return list(dict.fromkeys([*product_phrases(question.raw)[:2], *sorted(question.kinds), *words]))


def names_a_product(question: Question) -> bool:
    """The customer names a product (its name, its kind, or a word that is not about the question itself): 'What is
    it made of?' names none, so the reply asks which product they mean instead of searching the catalogue."""
    if product_phrases(question.raw) or question.kinds:
        return True
    words = [w for w in search_terms(question) if " " not in w]
    return any(not any(pattern.fullmatch(w) for pattern in TOPICS.values()) for w in words)


def _score(product: Product, question: Question, generic: set[str]) -> float:
    """How surely the customer means this product: its kind named (in any language), words of its title, its full
    title. A colour or a size alone never counts (the sweater the shop does not sell is not the Deep Navy legging)."""
    title, kinds = words_of(product.title), question.kinds
    score = 3.0 if kinds & set(title) else 2.0 if kinds & set(words_of(product.product_type)) else 0.0
    mentioned = question.words
    for word in set(title) - set(KINDS):
        if word in mentioned and word not in STOPWORDS:
            score += 0.5 if word in generic else 1.0
    if " ".join(title) in " ".join(words_of(question.raw)):
        score += 2.0
    return score


def rank_products(candidates: list[Product], question: Question) -> list[Product]:
    """The products the customer asks about, best first; none when nothing matches well."""
    counts: dict[str, int] = {}
    for product in candidates:
        for word in set(words_of(product.title)):
            counts[word] = counts.get(word, 0) + 1
    generic = {word for word, count in counts.items() if count > 1}
    scored = sorted(((_score(p, question, generic), p) for p in candidates), key=lambda item: -item[0])
    best = scored[0][0] if scored else 0.0
    return [p for score, p in scored if score >= max(3.0, 0.6 * best)][:MAX_PRODUCTS]


def _mentions(value: str, question: Question) -> bool:
    if value.isupper() or (len(value) <= 4 and not value.isalpha()):  # sizes (L, XL) and amounts (€25): as written
        return re.search(rf"(?<![\w/.'\u2019-]){re.escape(value)}(?![\w/'\u2019-]|\.\w)", question.raw) is not None
    if re.search(rf"(?<!\w){re.escape(normalize(value))}(?!\w)", question.text):
        return True
    colour = COLOURS.get(normalize(value).split()[-1])
    return colour is not None and colour.search(question.text) is not None


def asked_options(product: Product, question: Question) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The option values of `product` the customer names, by option in the product's order: (("Size", ("L",)),
    ("Color", ("Sage",))). Together they may match no variant (the bra that does not come in L / Sage)."""
    wanted: dict[str, list[str]] = {}
    for variant in product.variants:
        for option, value in variant.options.items():
            if value not in wanted.get(option, []) and _mentions(value, question):
                wanted.setdefault(option, []).append(value)
    return tuple((option, tuple(values)) for option, values in wanted.items())


def named_variants(product: Product, question: Question) -> tuple[str, ...]:
    """Ids of the variants whose options the customer names (size L and colour Deep Navy): none named, none."""
    wanted = asked_options(product, question)
    return tuple(v.id for v in product.variants if all(v.options.get(option) in values for option, values in wanted))


def slug(phrase: str) -> str:
    """A product handle guessed from its name ('Pro Compression Leggings' -> `pro-compression-leggings`)."""
    return "-".join(re.findall(r"[a-z0-9]+", normalize(phrase)))
