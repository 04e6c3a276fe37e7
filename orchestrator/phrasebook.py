"""Per-language phrase books (`templates/<language>.toml`): phrases with placeholders, and date and number formats."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from orchestrator.models import LANGUAGES
from support_core.store import Money

FALLBACK_LANGUAGE = "en"
_RELATIVE = {"on": {0: "today", 1: "tomorrow", -1: "yesterday"}, "until": {0: "until_today", 1: "until_tomorrow"}}
"""Dates said relative to today ([relative] in the phrase books), by kind and distance in days (`by`, a deadline the
customer gave, is always said as a date)."""
Day = date
"""`date` by another name, for annotations inside `Phrasebook` (whose method `date` hides the type)."""


class Phrasebook:
    """One language's phrases (`templates/<language>.toml`) and its date and number formats."""

    def __init__(self, language: str, data: dict[str, Any]) -> None:
        self.language = language
        self.data = data

    def say(self, key: str, **values: object) -> str:
        """The phrase `key` with `$placeholders` filled (a missing value is a bug, so it raises)."""
        return Template(self.data["text"][key]).substitute({name: str(value) for name, value in values.items()})

    def word(self, table: str, key: str) -> str:
        """A word from a table (order states, stock statuses...), or the colleague-will-check phrase for unknowns."""
        words: dict[str, str] = self.data[table]
        return words.get(key) or words["unknown"]

    def date(self, value: Day) -> str:
        fmt = self.data["format"]
        day = fmt["first_day"] if value.day == 1 else str(value.day)
        return Template(fmt["date"]).substitute(day=day, month=fmt["months"][value.month - 1], year=value.year)

    def when(self, value: datetime | Day, today: Day, kind: str = "on", zone: tzinfo = UTC) -> str:
        """A date as the reply says it: 'today', 'tomorrow', 'yesterday', or 'on 5 December 2026' (`kind` 'on'),
        'until 5 December 2026' (`kind` 'until'), 'by 5 December 2026' (`kind` 'by'), with the language's
        preposition. A moment is first turned into a day in `zone` (the shop's time zone, like `today`)."""
        day = value.astimezone(zone).date() if isinstance(value, datetime) else value
        key = _RELATIVE.get(kind, {}).get((day - today).days)
        if key is not None:
            return str(self.data["relative"][key])
        fmt = self.data["format"]
        pattern = fmt[f"{kind}_elided"] if day.day in fmt["elided_days"] else fmt[kind]
        return Template(pattern).substitute(date=self.date(day))

    def money(self, money: Money) -> str:
        try:
            amount = Decimal(money.amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            return str(money)
        return f"{str(amount).replace('.', self.data['format']['decimal'])} {money.currency}"

    def percent(self, value: float) -> str:
        number = f"{value:g}".replace(".", self.data["format"]["decimal"])
        return Template(self.data["format"]["percent"]).substitute(value=number)

    def quoted(self, text: str) -> str:
        """A name the merchant wrote (a product, a policy, an offer), in the language's quotation marks."""
        return Template(self.data["format"]["quote"]).substitute(text=text)


@cache
def phrasebook(language: str) -> Phrasebook:
    """The phrase book for `language`, or the English one when the language has none."""
    if language not in LANGUAGES:
        language = FALLBACK_LANGUAGE
    text = resources.files("orchestrator").joinpath("templates", f"{language}.toml").read_text(encoding="utf-8")
    return Phrasebook(language, tomllib.loads(text))
