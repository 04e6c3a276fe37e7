"""The emulator's schema subset: reading `schema.graphql`, building it once, scalar serialisers, enum values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import graphql

SCHEMA_FILE = "schema.graphql"


@cache
def schema_sdl() -> str:
    """The SDL text shipped with the package."""
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def _enums() -> dict[str, frozenset[str]]:
    """Every enum of the schema with its values, from one parse of the SDL (parsed, not built: cheap enough for
    store validation at start-up)."""
    document = graphql.parse(schema_sdl(), no_location=True)
    return {
        definition.name.value: frozenset(value.name.value for value in definition.values or ())
        for definition in document.definitions
        if isinstance(definition, graphql.EnumTypeDefinitionNode)
    }


def enum_values(name: str) -> frozenset[str]:
    """Values of the schema enum `name`."""
    try:
        return _enums()[name]
    except KeyError:
        raise KeyError(f"no enum {name} in the emulator schema") from None


def format_datetime(value: dt.datetime) -> str:
    """Shopify's DateTime: UTC, whole seconds, `Z` suffix (`2026-11-20T14:03:11Z`)."""
    utc = value.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def format_decimal(value: Decimal) -> str:
    """Shopify's Decimal (`MoneyV2.amount`): no trailing zeros but at least one decimal (`49.9`, `10.0`)."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def format_money(value: Decimal) -> str:
    """Shopify's Money scalar (`ProductVariant.price`): two decimals (`69.90`)."""
    return f"{value.quantize(Decimal('0.01')):f}"


def _serialize_datetime(value: Any) -> str:
    return format_datetime(value) if isinstance(value, dt.datetime) else str(value)


def _serialize_decimal(value: Any) -> str:
    return format_decimal(value) if isinstance(value, Decimal) else str(value)


def _serialize_money(value: Any) -> str:
    return format_money(value) if isinstance(value, Decimal) else str(value)


def _serialize_text(value: Any) -> str:
    return str(value)


_SERIALIZERS = {
    "DateTime": _serialize_datetime,
    "Decimal": _serialize_decimal,
    "Money": _serialize_money,
    "UnsignedInt64": _serialize_text,
    "URL": _serialize_text,
    "HTML": _serialize_text,
}


def build_base_schema() -> graphql.GraphQLSchema:
    """A fresh executable-less schema with Shopify's scalar serialisations; resolvers are attached elsewhere."""
    schema = graphql.build_schema(schema_sdl())
    for name, serialize in _SERIALIZERS.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, graphql.GraphQLScalarType)
        # graphql-core 3.3 calls `coerce_output_value`; 3.2 calls `serialize`.
        if hasattr(scalar, "coerce_output_value"):
            scalar.coerce_output_value = serialize
        scalar.serialize = serialize  # type: ignore[method-assign]
    return schema
