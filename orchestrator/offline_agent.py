"""The offline engine's category agent: rules read the question and pick the tools; the templates write the reply."""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

from orchestrator.errors import ToolCallError
from orchestrator.language import detect_language
from orchestrator.models import RouterDecision
from orchestrator.offline_router import _ORDER_NUMBER, normalize  # the router's own order-number pattern
from orchestrator.templates import (
    FALLBACK_LANGUAGE,
    PolicyExcerpt,
    ProductMatch,
    ReplyFacts,
    Tone,
    render_reply,
)
from orchestrator.tools import BoundTools
from support_core.store import (
    CustomerOrders,
    DiscountCheck,
    OrderDetails,
    OrderSummary,
    Policies,
    Policy,
    Product,
    ProductSearch,
    Promotions,
)

logger = logging.getLogger(__name__)

ORDER_CATEGORIES = frozenset(
    {
        "OrderPlacementStatus",
        "ShippingDelivery",
        "ReturnsCancellationsExchanges",
        "PaymentBilling",
        "CustomerComplaintsSatisfaction",
    }
)
"""Categories whose answer starts from the customer's orders."""
SHIPPING_TOPICS = frozenset({"shipping_time", "shipping_cost", "customs", "ship_to"})
MAX_ORDERS = 5
"""Order numbers looked up per message (each is one call)."""
MAX_SEARCHES = 5
"""Catalogue searches per message."""
MAX_PRODUCTS = 2
POLICY_EXCERPT = 900
"""Longest policy excerpt quoted in a reply, in characters: whole paragraphs only (a link to the full text follows)."""
FINAL_STATES = frozenset({"delivered", "cancelled", "refunded", "returned"})

_CODE = re.compile(r"\b[A-Z][A-Z0-9]{3,19}\b")
_PHRASE = re.compile(r"\b[A-Z][\w'\u2019-]*(?:[ \t]+[A-Z0-9][\w'\u2019-]*)+")
_SIZE = re.compile(r"^(?:X{0,3}[SML]|X{1,3}L|\d{1,3})$")


def _compile(rule: str) -> re.Pattern[str]:
    """A rule of `templates/questions.toml` (router syntax) as a regular expression on normalised text."""
    body = " ".join(rule.split()).replace("*", r"\w*").replace(" ", r"\W+")
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


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
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

    @cached_property
    def words(self) -> set[str]:
        return set(_words(self.raw))

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


def read_question(subject: str, body: str, decision: RouterDecision) -> Question:
    raw = f"{subject}\n{body}"
    text = normalize(raw)
    return Question(
        raw=raw,
        text=text,
        topics=frozenset(name for name, pattern in TOPICS.items() if pattern.search(text)),
        order_numbers=order_numbers(subject, body, first=decision.order_number),
        codes=tuple(discount_codes(raw)),
        countries=tuple(name for name, pattern in COUNTRIES.items() if pattern.search(text)),
    )


# --- Products ------------------------------------------------------------------------------------------------------


def _phrases(raw: str) -> list[str]:
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
        for w in _words(question.raw)
        if len(w) >= 4 and w not in STOPWORDS and w not in colour_words and w not in kind_words
    ]
    return list(dict.fromkeys([*_phrases(question.raw)[:2], *sorted(question.kinds), *words]))


def _score(product: Product, question: Question, generic: set[str]) -> float:
    """How surely the customer means this product: its kind named (in any language), words of its title, its full
    title. A colour or a size alone never counts (the sweater the shop does not sell is not the Deep Navy legging)."""
    title, kinds = _words(product.title), question.kinds
    score = 3.0 if kinds & set(title) else 2.0 if kinds & set(_words(product.product_type)) else 0.0
    mentioned = question.words
    for word in set(title) - set(KINDS):
        if word in mentioned and word not in STOPWORDS:
            score += 0.5 if word in generic else 1.0
    if " ".join(title) in " ".join(_words(question.raw)):
        score += 2.0
    return score


def rank_products(candidates: list[Product], question: Question) -> list[Product]:
    """The products the customer asks about, best first; none when nothing matches well."""
    counts: dict[str, int] = {}
    for product in candidates:
        for word in set(_words(product.title)):
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


def named_variants(product: Product, question: Question) -> tuple[str, ...]:
    """Ids of the variants whose options the customer names (size L and colour Deep Navy): none named, none."""
    wanted: dict[str, set[str]] = {}
    for variant in product.variants:
        for option, value in variant.options.items():
            if _mentions(value, question):
                wanted.setdefault(option, set()).add(value)
    if not wanted:
        return ()
    return tuple(
        v.id for v in product.variants if all(v.options.get(option) in values for option, values in wanted.items())
    )


def _slug(phrase: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", normalize(phrase)))


# --- Policies ------------------------------------------------------------------------------------------------------


def _is_heading(block: str) -> bool:
    return "\n" not in block and len(block) <= 60 and not block.startswith("- ") and block[-1] not in ".:;!?)"


def _countries_in(text: str) -> set[str]:
    named = {name for name in COUNTRIES if re.search(rf"\b{re.escape(name)}\b", text)}
    return named | ({"United Kingdom"} if re.search(r"\bUK\b", text) else set())


def _for_country(paragraphs: list[str], countries: tuple[str, ...]) -> list[str]:
    """Of the lines that name countries, the customer's; a 'rest of the world' line only when none names it."""
    if not countries:
        return paragraphs
    rest = [p for p in paragraphs if re.search(r"(?i)\brest of\b|\bworldwide\b", p)]
    exact = [p for p in paragraphs if _countries_in(p) & set(countries)]
    general = [p for p in paragraphs if not _countries_in(p) and p not in rest]
    chosen = set(general) | set(exact or rest)
    return [p for p in paragraphs if p in chosen]


def _sections(text: str) -> list[tuple[str | None, list[str]]]:
    """A policy as (heading, paragraphs) pairs; bullets are paragraphs of their own."""
    sections: list[tuple[str | None, list[str]]] = []
    for block in (b.strip() for b in re.split(r"\n\s*\n", text)):
        if not block:
            continue
        if _is_heading(block):
            sections.append((block, []))
            continue
        if not sections:
            sections.append((None, []))
        sections[-1][1].extend(_bullets(block))
    return sections


def _bullets(block: str) -> list[str]:
    """A block split into its bullets ('- ' lines, with their continuation lines); a plain paragraph stays whole."""
    items: list[str] = []
    for line in block.splitlines():
        if line.startswith("- ") or not items:
            items.append(line)
        else:
            items[-1] += "\n" + line
    return items


def _about(sections: list[tuple[str | None, list[str]]], pattern: re.Pattern[str]) -> set[str]:
    """The paragraphs about one topic: every paragraph of the sections whose heading names it, or else the single
    paragraphs that mention it ('Refunds' is the section about refunds, not every line that says 'refund')."""
    titled = {p for heading, ps in sections if heading and pattern.search(normalize(heading)) for p in ps}
    return titled or {p for _, paragraphs in sections for p in paragraphs if pattern.search(normalize(p))}


def policy_excerpt(policy: Policy, topics: list[str], countries: tuple[str, ...]) -> PolicyExcerpt | None:
    """The paragraphs of `policy` about `topics` (under their headings, for the customer's country), whole, at most
    POLICY_EXCERPT characters; None when nothing in it is about them."""
    sections = _sections(policy.text)
    wanted: set[str] = set()
    for topic in topics:
        if topic in POLICY_TOPICS:
            wanted |= _about(sections, POLICY_TOPICS[topic])
    blocks: list[str] = []
    size = 0
    for heading, paragraphs in sections:
        picked = _for_country([p for p in paragraphs if p in wanted], countries)
        lines = ([heading] if heading else []) + picked
        added = sum(len(line) + 1 for line in lines)
        if not picked or size + added > POLICY_EXCERPT:
            continue
        blocks.append("\n".join(lines))
        size += added
    if not blocks:
        return None
    text = re.sub(r"(\S+@\S+?|https?://\S+?) \(\1\)", r"\1", "\n\n".join(blocks))  # a link's text and its target
    return PolicyExcerpt(policy=policy, text=text, language=detect_language(policy.text, default=FALLBACK_LANGUAGE))


# --- Gathering the facts -------------------------------------------------------------------------------------------


@dataclass
class _Gatherer:
    tools: BoundTools
    decision: RouterDecision
    question: Question
    facts: dict[str, Any] = field(default_factory=dict)

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """An allowed tool's result, or None when the category may not use it or the tool reports an error."""
        if tool not in self.tools.allowed:
            return None
        try:
            return await self.tools.call(tool, arguments)
        except ToolCallError as exc:
            logger.info("%s could not answer (%s); the reply hands it to a colleague", tool, type(exc).__name__)
            return None

    @property
    def category(self) -> str:
        return self.decision.category

    async def orders(self) -> None:
        if not self.tools.customer_email:
            return
        if self.question.order_numbers and "lookup_order" in self.tools.allowed:
            found, missing = [], []
            for number in self.question.order_numbers:
                result = await self.call("lookup_order", {"order_number": number})
                if result is None:
                    missing.append(number)
                else:
                    found.append(OrderDetails.model_validate(result))
            self.facts.update(orders=tuple(found), missing_orders=tuple(missing))
            return
        topics = self.question.topics
        if self.category == "ShippingDelivery" and topics & SHIPPING_TOPICS and "where_is_order" not in topics:
            return  # a general shipping question: the shipping policy answers it, no order needed
        listed = await self.call("list_customer_orders", {"limit": 5})
        if listed is None:
            return
        recent = CustomerOrders.model_validate(listed)
        self.facts["recent_orders"] = recent
        if self.category == "ReturnsCancellationsExchanges":
            return  # which order to return is the customer's to say: the list (with status pages) is the answer
        found = []
        for summary in self._focus(recent.orders):
            result = await self.call("lookup_order", {"order_number": summary.order_number})
            if result is not None:
                found.append(OrderDetails.model_validate(result))
        self.facts["orders"] = tuple(found)

    def _focus(self, orders: list[OrderSummary]) -> list[OrderSummary]:
        """The orders a customer without a number most likely means: the open ones (at most two), else the newest."""
        if not orders:
            return []
        if self.category == "PaymentBilling":
            return orders[:1]
        return [o for o in orders if o.state not in FINAL_STATES][:2] or orders[:1]

    async def products(self) -> None:
        question = self.question
        terms = search_terms(question)
        if not terms:
            return
        found: dict[str, Product] = {}
        for searched, term in enumerate(terms[:MAX_SEARCHES], start=1):
            result = await self.call("search_products", {"query": term[:200], "limit": 10})
            for product in ProductSearch.model_validate(result).products if result else []:
                found.setdefault(product.handle, product)
            specific = len(_phrases(question.raw)[:2]) + len(question.kinds)
            if searched >= specific and rank_products(list(found.values()), question):
                break
        ranked = rank_products(list(found.values()), question)
        if not ranked:  # a product named exactly but no longer listed (archived) is still found by its handle
            for phrase in _phrases(question.raw)[:2]:
                result = await self.call("get_product", {"handle": _slug(phrase)})
                if result is not None:
                    found.setdefault(result["handle"], Product.model_validate(result))
            ranked = rank_products(list(found.values()), question)
        matches = []
        for product in ranked:
            detailed = await self.call("get_product", {"handle": product.handle})
            product = Product.model_validate(detailed) if detailed else product
            matches.append(ProductMatch(product=product, variant_ids=named_variants(product, question)))
        self.facts.update(products=tuple(matches), product_searched=True)

    async def discounts(self) -> None:
        checks = []
        for code in self.question.codes:
            result = await self.call("check_discount_code", {"code": code})
            if result is not None:
                checks.append(DiscountCheck.model_validate(result))
        self.facts["discounts"] = tuple(checks)
        promotions = await self.call("list_promotions", {})
        if promotions is not None:
            self.facts["promotions"] = Promotions.model_validate(promotions)

    def _policy_topics(self) -> dict[str, list[str]]:
        """Which policies answer the question, each with the topics to quote from it."""
        topics, category = self.question.topics, self.category
        wanted: dict[str, list[str]] = {}
        for kind, kind_topics in POLICY_KINDS.items():
            asked = [t for t in kind_topics if t in topics and t != "hygiene"]
            if asked:
                wanted[kind] = asked + (["hygiene"] if kind == "refund" and "hygiene" in topics else [])
        if category == "ReturnsCancellationsExchanges":
            return {"refund": wanted.get("refund") or ["returns", *(["hygiene"] if "hygiene" in topics else [])]}
        if category == "ShippingDelivery":
            shipping = wanted.get("shipping", [])
            orders: tuple[OrderDetails, ...] = self.facts.get("orders", ())
            unshipped = not orders or any(o.state in ("processing", "on_hold", "awaiting_payment") for o in orders)
            if "shipping_time" in shipping and not unshipped:
                shipping.remove("shipping_time")
            return {"shipping": shipping} if shipping else {}
        if category == "AccountProfileOther":
            return dict(list(wanted.items())[:2])
        return {}

    async def policies(self) -> None:
        excerpts = []
        orders: tuple[OrderDetails, ...] = self.facts.get("orders", ())
        destinations = [COUNTRY_CODES.get((o.ship_to or "").rpartition(", ")[2].upper()) for o in orders]
        countries = self.question.countries or tuple(dict.fromkeys(filter(None, destinations)))
        for kind, topics in self._policy_topics().items():
            result = await self.call("get_policies", {"kind": kind})
            for policy in Policies.model_validate(result).policies[:1] if result else []:
                excerpt = policy_excerpt(policy, topics, countries)
                if excerpt is not None:
                    excerpts.append(excerpt)
        self.facts["policies"] = tuple(excerpts)


async def answer_offline(
    tools: BoundTools,
    decision: RouterDecision,
    *,
    subject: str,
    body: str,
    customer_name: str | None,
    tone: Tone,
    handover: bool,
    ticket_id: str | None = None,
) -> str:
    """Read the question, gather its facts with the category's allowed tools, and render the reply in the customer's
    language. A handover gets the holding reply and no lookups (a person answers)."""
    base: dict[str, Any] = {"customer_name": customer_name, "handover": handover, "ticket_id": ticket_id}
    if handover:
        return render_reply(decision.category, decision.language, ReplyFacts(**base), tone=tone)
    question = read_question(subject, body, decision)
    gatherer = _Gatherer(tools, decision, question)
    category = decision.category
    if category in ORDER_CATEGORIES:
        await gatherer.orders()
    if category == "ProductInfoAvailability":
        await gatherer.products()
    if category == "PromotionsDiscountsPricing":
        await gatherer.discounts()
    await gatherer.policies()
    sorry = decision.sentiment in ("negative", "angry")
    facts = ReplyFacts(**base, **gatherer.facts, topics=question.topics, sorry=sorry)
    return render_reply(category, decision.language, facts, tone=tone)
