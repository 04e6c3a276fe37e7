"""What a templated reply is written from: the shop's tone, the tools' facts, and the draft that collects follow-ups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

from orchestrator.phrasebook import Phrasebook
from support_core.store import CustomerOrders, DiscountCheck, OrderDetails, Policy, Product, Promotions


@dataclass(frozen=True)
class Tone:
    """How the shop sounds: who signs, the shop's name, the signature block (per language when configured) and
    whether a friendly emoji is welcome."""

    persona_name: str
    shop_name: str
    signature: str
    emoji: bool = False
    signatures: Mapping[str, str] = field(default_factory=dict)
    timezone: str | tzinfo = "UTC"
    """The shop's time zone, by IANA name ('Europe/Madrid') or as a `tzinfo`: what 'today' means in a reply."""

    def signature_for(self, language: str) -> str:
        """The signature for a reply written in `language`: its own, else the default, else the persona's name."""
        return (self.signatures.get(language) or self.signature).strip() or self.persona_name


@dataclass(frozen=True)
class ProductMatch:
    """A product the customer asked about, with the ids of the variants they named (none named: all of them) and the
    option values they named (`(("Size", ("L",)), ("Color", ("Sage",)))`), which may match no variant at all."""

    product: Product
    variant_ids: tuple[str, ...] = ()
    asked: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class PolicyExcerpt:
    """The part of a policy that answers the question: whole paragraphs, in the language the policy is written in."""

    policy: Policy
    text: str
    language: str


@dataclass(frozen=True)
class ReplyFacts:
    """What the tools returned for this message, and what the customer asked. Everything is optional: a missing fact
    becomes 'a colleague will check', never a guess."""

    customer_name: str | None = None
    orders: tuple[OrderDetails, ...] = ()
    """Every order the customer asked about (or their latest one), looked up."""
    recent_orders: CustomerOrders | None = None
    """The customer's recent orders, when they gave no number."""
    missing_orders: tuple[str, ...] = ()
    """Order numbers the customer gave that are not theirs or do not exist."""
    products: tuple[ProductMatch, ...] = ()
    product_searched: bool = False
    """The customer named something and the catalogue was searched (no products then means: we do not carry it)."""
    recommendations: tuple[ProductMatch, ...] = ()
    """Products in stock like the one asked for, when that one cannot be bought and the customer asks for another."""
    measurements: tuple[tuple[str, float], ...] = ()
    """Body measurements and sizes the customer gave (`("calf", 38.0)`, `("shoe", 44.0)`), for the size guide."""
    deadline: tuple[int, int] | None = None
    """(day, month) by which the customer needs their order, when they name one."""
    existing_customer: bool = False
    """The customer refers to an order of theirs: welcome offers for a first order are not for them."""
    discounts: tuple[DiscountCheck, ...] = ()
    promotions: Promotions | None = None
    policies: tuple[PolicyExcerpt, ...] = ()
    topics: frozenset[str] = frozenset()
    """What the customer asks about (`templates/questions.toml`): double_charge, restock, size, shipping_time..."""
    sorry: bool = False
    """The customer is unhappy: the reply apologises once."""
    ticket_id: str | None = None
    handover: bool = False
    no_contact: bool = False
    """A handover without any way to reach the customer (a chat with no email): ask for one instead of promising."""


@dataclass
class Draft:
    """One reply being written: the phrase book, today's date in the shop's time zone, and the follow-ups promised so
    far (each said once, at the end, however many orders or parcels need it)."""

    book: Phrasebook
    today: date
    category: str
    facts: ReplyFacts
    zone: tzinfo = UTC
    notes: dict[str, str] = field(default_factory=dict)
    awaiting_delivery: bool = False
    delivered: bool = False

    def day(self, moment: datetime) -> date:
        """The day a moment falls on in the shop's time zone (the one `today` is in)."""
        return moment.astimezone(self.zone).date()

    def when(self, value: datetime | date, kind: str = "on") -> str:
        return self.book.when(value, self.today, kind, zone=self.zone)

    def note(self, key: str, **values: object) -> None:
        self.notes.setdefault(key, self.book.say(key, **values))

    def asked(self, *topics: str) -> bool:
        return bool(self.facts.topics.intersection(topics))
