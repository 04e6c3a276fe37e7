"""What a templated reply is written from: the shop's tone, the tools' facts, and the draft that collects follow-ups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

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

    def signature_for(self, language: str) -> str:
        """The signature for a reply written in `language`: its own, else the default, else the persona's name."""
        return (self.signatures.get(language) or self.signature).strip() or self.persona_name


@dataclass(frozen=True)
class ProductMatch:
    """A product the customer asked about, with the ids of the variants they named (none named: all of them)."""

    product: Product
    variant_ids: tuple[str, ...] = ()


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
    """One reply being written: the phrase book, today's date, and the follow-ups promised so far (each said once, at
    the end, however many orders or parcels need it)."""

    book: Phrasebook
    today: date
    category: str
    facts: ReplyFacts
    notes: dict[str, str] = field(default_factory=dict)
    awaiting_delivery: bool = False
    delivered: bool = False

    def note(self, key: str, **values: object) -> None:
        self.notes.setdefault(key, self.book.say(key, **values))

    def asked(self, *topics: str) -> bool:
        return bool(self.facts.topics.intersection(topics))
