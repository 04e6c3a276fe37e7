"""Typed accessors over one JSON object of a store file; every error names the record and the key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, TypeVar

from shopify_mcp.emulator.schema import enum_values

T = TypeVar("T")


class RecordFields:
    """One object of the store file, addressed as `where` (e.g. `orders[#1004].refunds[0]`) in errors."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"store {where}: expected an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where

    def fail(self, message: str) -> NoReturn:
        raise ValueError(f"store {self.where}: {message}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        if self.data.get(key) is None:
            self.fail(f"missing `{key}`")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"`{key}` must be a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(f"`{key}` must be a string or null")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        if default is not None and not self.has(key):
            return default
        value = self.raw(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"`{key}` must be an integer")
        return value

    def opt_integer(self, key: str) -> int | None:
        return self.integer(key) if self.has(key) else None

    def number(self, key: str) -> float:
        value = self.raw(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(f"`{key}` must be a number")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return self.number(key) if self.has(key) else None

    def boolean(self, key: str, default: bool | None = None) -> bool:
        if default is not None and not self.has(key):
            return default
        value = self.raw(key)
        if not isinstance(value, bool):
            self.fail(f"`{key}` must be true or false")
        return value

    def amount(self, key: str, default: str | None = None) -> Decimal:
        value = self.data.get(key, default) if default is not None else self.raw(key)
        if value is None:
            value = default
        try:
            if not isinstance(value, str):
                raise InvalidOperation
            result = Decimal(value)
        except InvalidOperation:
            self.fail(f'`{key}` must be a decimal string such as "49.90", not {value!r}')
        if not result.is_finite() or result < 0:
            self.fail(f"`{key}` must be a non-negative amount, not {value!r}")
        return result

    def opt_amount(self, key: str) -> Decimal | None:
        return self.amount(key) if self.has(key) else None

    def enum(self, key: str, enum: str, default: str | None = None) -> str:
        if default is not None and not self.has(key):
            return default
        value = self.raw(key)
        if value not in enum_values(enum):
            self.fail(f"`{key}` is {value!r}, not one of Shopify's {enum} values")
        return str(value)

    def opt_enum(self, key: str, enum: str) -> str | None:
        return self.enum(key, enum) if self.has(key) else None

    def enums(self, key: str, enum: str) -> list[str]:
        values = self.strings(key)
        for value in values:
            if value not in enum_values(enum):
                self.fail(f"`{key}` contains {value!r}, not one of Shopify's {enum} values")
        return values

    def choice(self, key: str, allowed: Iterable[str]) -> str:
        value = self.raw(key)
        options = sorted(allowed)
        if value not in options:
            self.fail(f"`{key}` is {value!r}, not one of {', '.join(options)}")
        return str(value)

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(f"`{key}` must be a list of strings")
        return list(value)

    def items(self, key: str) -> list[RecordFields]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"`{key}` must be a list")
        return [RecordFields(item, f"{self.where}.{key}[{index}]") for index, item in enumerate(value)]

    def child(self, key: str) -> RecordFields | None:
        value = self.data.get(key)
        return None if value is None else RecordFields(value, f"{self.where}.{key}")

    def moment(self, key: str, now: dt.datetime) -> dt.datetime:
        """A `*_days_ago` value as a timestamp (a `*_in_days` key counts forward instead)."""
        days = self.number(key)
        return now + dt.timedelta(days=days) if key.endswith("_in_days") else now - dt.timedelta(days=days)

    def opt_moment(self, key: str, now: dt.datetime) -> dt.datetime | None:
        return self.moment(key, now) if self.has(key) else None


def unique(records: list[T], key: Callable[[T], Hashable], kind: str, name: str) -> dict[Hashable, T]:
    """Index `records` by `key`; `ValueError` on the first duplicate."""
    index: dict[Hashable, T] = {}
    for record in records:
        value = key(record)
        if value in index:
            raise ValueError(f"store {kind}: duplicate {name} {value!r}")
        index[value] = record
    return index
