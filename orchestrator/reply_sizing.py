"""Size advice from a product's own size guide: which sizes the measurements a customer gives fall into."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.offline_router import normalize
from orchestrator.questions import MEASURES
from orchestrator.reply_facts import Draft
from support_core.store import Product

GUIDE_SOURCES = ("size_guide", "fit")
"""Product facts (`custom.*` metafields) read for size ranges, before the description."""
_SIZE = r"(?:X{0,3}S|M|X{0,3}L|\d{1,2}XL)"
_RANGE = r"(\d{1,3}(?:[.,]\d)?)\s*[-\u2013]\s*(\d{1,3}(?:[.,]\d)?)"
_ROW = re.compile(rf"^\s*({_SIZE})\s*:\s*(.+)$", re.MULTILINE)
"""A size guide line: 'M: calf 33-38 cm, shoe EU 39-42'."""
_LABELLED = re.compile(rf"([^\W\d][^\d,;]*?)\s+{_RANGE}")
_INLINE = re.compile(rf"(?<!\w)({_SIZE})\s+{_RANGE}\s*cm")
"""Sizes in running text: 'S 30-35 cm, M 35-40 cm, L 40-45 cm' (the measurement is named before the first one)."""


@dataclass(frozen=True)
class SizeRange:
    size: str
    low: float
    high: float


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _measure(label: str) -> str | None:
    """Which measurement a size guide's label is ('calf', 'shoe EU' -> shoe), by the [measures] rules."""
    text = normalize(label)
    return next((name for name, pattern in MEASURES.items() if pattern.search(text)), None)


def _rows(text: str) -> dict[str, list[SizeRange]]:
    guide: dict[str, list[SizeRange]] = {}
    for size, rest in _ROW.findall(text):
        for label, low, high in _LABELLED.findall(rest):
            name = _measure(label)
            if name is not None:
                guide.setdefault(name, []).append(SizeRange(size, _number(low), _number(high)))
    return guide


def _inline(text: str) -> dict[str, list[SizeRange]]:
    found = list(_INLINE.finditer(text))
    if len(found) < 2:
        return {}
    name = _measure(text[: found[0].start()].rsplit(".", 1)[-1])
    if name is None:
        return {}
    return {name: [SizeRange(m.group(1), _number(m.group(2)), _number(m.group(3))) for m in found]}


def size_guide(product: Product) -> dict[str, list[SizeRange]]:
    """The product's size ranges by measurement ('calf' -> S 28-33, M 33-38, L 38-43), from its size guide, its fit
    note or its description, whichever has them first; empty when the product has none."""
    texts = [product.details.get(key, "") for key in GUIDE_SOURCES] + [product.description]
    for text in filter(None, texts):
        guide = _rows(text) or _inline(text)
        if guide:
            return guide
    return {}


def _value(d: Draft, value: float) -> str:
    return f"{value:g}".replace(".", d.book.data["format"]["decimal"])


def sizing_lines(d: Draft, product: Product) -> list[str]:
    """What the size guide says about each measurement the customer gave, and the one size that fits them all when
    there is one. Empty when the product has no size guide or the customer gave no measurement it covers. Only the
    guide's numbers decide: nothing is guessed."""
    guide = size_guide(product)
    given = [(name, value) for name, value in d.facts.measurements if name in guide]
    if not given:
        return []
    book = d.book
    lines = [book.say("size_advice", title=book.quoted(product.title))]
    fitting: list[set[str]] = []
    for name, value in given:
        measure = book.word("measures", name).replace("$value", _value(d, value))
        sizes = [r.size for r in guide[name] if r.low <= value <= r.high]
        fitting.append(set(sizes))
        if not sizes:
            lines.append(book.say("size_measure_outside", measure=measure))
        elif len(sizes) == 1:
            lines.append(book.say("size_measure_one", measure=measure, size=sizes[0]))
        else:
            lines.append(book.say("size_measure_boundary", measure=measure, low=sizes[0], high=sizes[-1]))
    common = set.intersection(*fitting)
    if len(given) > 1 and len(common) == 1:
        lines.append(book.say("size_fits_all", size=common.pop()))
    elif any(len(sizes) != 1 for sizes in fitting):
        d.note("note_size")
    return lines
