"""The labelled evaluation set: customer messages (router and gatekeeper) and robots/spam mail (gatekeeper).

Customer messages live in `evaluation/data/customers_<language>.toml`, one `[[message]]` table each:

    [[message]]
    id = "es-wismo-01"                 # unique, stable
    subject = "¿Dónde está mi pedido?"  # may be empty
    body = "Hola, hice el pedido #1021 hace una semana y no me ha llegado."
    category = "ShippingDelivery"      # one of the nine categories
    language = "es"                    # ISO 639-1, one of the six the offline engine speaks
    order_numbers = ["1021"]           # every order number in the text, digits only (may be empty)
    handover = []                      # anger, legal_threat, asks_for_human, fraud (may be empty)
    sender = "lucia.fernandez@example.es"   # optional; a plausible customer address is made up when absent

Robots and spam are raw RFC 822 files in `evaluation/data/robots/*.eml`; the expected verdict and reason family
are in `evaluation/data/robots/labels.toml` (`[labels] "file.eml" = { verdict = "IGNORE", kind = "spam" }`).
Everything here is written by the project; nothing is copied from elsewhere.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from support_core.categories import CATEGORIES

DATA = Path(__file__).resolve().parent / "data"
LANGUAGES = ("es", "en", "fr", "de", "pt", "it")
HANDOVERS = frozenset({"anger", "legal_threat", "asks_for_human", "fraud"})


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    subject: str
    body: str
    category: str
    language: str
    order_numbers: tuple[str, ...] = ()
    handover: tuple[str, ...] = ()
    sender: str = ""

    @property
    def address(self) -> str:
        return self.sender or f"{self.id.replace('_', '-').lower()}@customers.example"


@dataclass(frozen=True)
class LabelledMail:
    path: Path
    verdict: str
    kind: str
    raw: bytes = field(repr=False, default=b"")


def customer_messages(data: Path = DATA) -> list[LabelledMessage]:
    """Every labelled customer message, checked: a bad label fails loudly instead of skewing the scores."""
    found: list[LabelledMessage] = []
    for path in sorted(data.glob("customers_*.toml")):
        for entry in tomllib.loads(path.read_text("utf-8")).get("message", []):
            message = LabelledMessage(
                id=entry["id"],
                subject=entry.get("subject", ""),
                body=entry["body"],
                category=entry["category"],
                language=entry["language"],
                order_numbers=tuple(str(n).lstrip("#") for n in entry.get("order_numbers", [])),
                handover=tuple(entry.get("handover", [])),
                sender=entry.get("sender", ""),
            )
            problems = []
            if message.category not in CATEGORIES:
                problems.append(f"category {message.category!r}")
            if message.language not in LANGUAGES:
                problems.append(f"language {message.language!r}")
            if not set(message.handover) <= HANDOVERS:
                problems.append(f"handover {message.handover!r}")
            if problems:
                raise ValueError(f"{path.name}: {message.id}: invalid {', '.join(problems)}")
            found.append(message)
    ids = [m.id for m in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate message ids: {duplicates[:5]}")
    return found


def robot_mails(data: Path = DATA) -> list[LabelledMail]:
    folder = data / "robots"
    labels_file = folder / "labels.toml"
    if not labels_file.is_file():
        return []
    labels = tomllib.loads(labels_file.read_text("utf-8")).get("labels", {})
    mails = []
    for name, label in sorted(labels.items()):
        path = folder / name
        mails.append(LabelledMail(path=path, verdict=label["verdict"], kind=label["kind"], raw=path.read_bytes()))
    return mails
