"""JSON Schemas that a client validates cheaply: nested models written out in place, nullable fields as type lists.

An MCP client checks every structured tool result against the tool's output schema (the SDK's `Client` does it
with `jsonschema`, compiled once per tool, then walked once per result). What a walk costs depends on the schema's
shape more than on its meaning: each `$ref` is a lookup in a registry, and each `anyOf: [{X}, {"type": "null"}]`
(pydantic's way of writing `X | None`) tries the first branch, builds a `ValidationError` when the value is null,
then tries the second. `FlatSchemaModel` publishes the same constraints without either: a nested model's schema
is copied where it is used (so `$defs` goes away; pydantic drops definitions nothing refers to), and `X | None` is
`{..X, "type": [X's type, "null"]}` when that means the same thing (X has a single type and only keywords that
apply to that type alone, so a null passes them). On `lookup_order`'s result this takes a third off the check.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from pydantic import BaseModel
from pydantic.annotated_handlers import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaMode
from pydantic_core import CoreSchema

Resolve = Callable[[dict[str, Any]], dict[str, Any]]

NULL = {"type": "null"}
TYPE_ONLY_KEYWORDS = frozenset(
    {
        # annotations (no effect on validation)
        "title",
        "description",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        # each applies to one type only, so a null instance passes it
        "format",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
)
"""Keywords a nullable branch may carry and still be merged with `{"type": "null"}` into a type list. `enum`,
`const`, `anyOf` and the like are not here: they would reject the null."""


class Unflattenable(ValueError):
    """A schema this module does not rewrite (a recursive model, or a `$ref` beside keywords of its own)."""


ANNOTATIONS = frozenset({"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"})


def flatten(node: Any, resolve: Resolve, expanding: tuple[str, ...] = ()) -> Any:
    """`node` with every `$ref` replaced by (a copy of) its definition and nullable unions collapsed, recursively;
    `Unflattenable` for what cannot be written out that way."""
    if isinstance(node, list):
        return [flatten(item, resolve, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        reference = str(node["$ref"])
        if reference in expanding:
            raise Unflattenable(f"{reference} refers to itself")
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if not set(siblings) <= ANNOTATIONS:
            raise Unflattenable(f"{reference} has keywords beside it: {sorted(siblings)}")
        target = flatten(copy.deepcopy(resolve(node)), resolve, (*expanding, reference))
        return {**target, **siblings}  # the field's own title/description win over the model's
    return _nullable({key: flatten(value, resolve, expanding) for key, value in node.items()})


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [X, {"type": "null"}], ...}` as `{...X, "type": [X.type, "null"], ...}` when equivalent."""
    branches = node.get("anyOf")
    if not (isinstance(branches, list) and len(branches) == 2 and NULL in branches):
        return node
    other = branches[0] if branches[1] == NULL else branches[1]
    kind = other.get("type") if isinstance(other, dict) else None
    if not isinstance(kind, str) or kind == "null" or not set(other) - {"type"} <= TYPE_ONLY_KEYWORDS:
        return node
    siblings = {key: value for key, value in node.items() if key != "anyOf"}
    if "type" in siblings or set(siblings) & set(other) - {"title", "description"}:
        return node  # a keyword on both levels: keep both (and the union) rather than pick one
    return {**other, **siblings, "type": [kind, "null"]}


_BUILDING: ContextVar[bool] = ContextVar("flat_schemas_building", default=False)
"""True while `FlatSchemaModel` asks pydantic for a model's ordinary schema (whose models are then left as they are)."""
_LOCAL_DEFS = "#/$defs/"


def ordinary_schema(model: type[BaseModel], mode: JsonSchemaMode = "validation") -> dict[str, Any]:
    """`model`'s JSON Schema as pydantic writes it (with `$defs`, `$ref`s and `anyOf`s), even for a
    `FlatSchemaModel`."""
    token = _BUILDING.set(True)
    try:
        return model.model_json_schema(mode=mode)
    finally:
        _BUILDING.reset(token)


def flat_schema(model: type[BaseModel], mode: JsonSchemaMode = "validation") -> dict[str, Any]:
    """`model`'s ordinary JSON Schema, flattened (see the module); `Unflattenable` when it cannot be."""
    return copy.deepcopy(_flat_schema(model, mode))


@functools.cache
def _flat_schema(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
    """Computed once per model (a server publishing a dozen tools asks for the same models again and again)."""
    ordinary = ordinary_schema(model, mode)
    definitions: dict[str, Any] = ordinary.pop("$defs", {})

    def resolve(reference: dict[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], definitions[str(reference["$ref"]).removeprefix(_LOCAL_DEFS)])

    return cast(dict[str, Any], flatten(ordinary, resolve))


class FlatSchemaModel(BaseModel):
    """A model whose JSON Schema has no `$ref`s to other models and no `anyOf` for `X | None` (see the module).

    pydantic still writes the model into the schema being generated as a definition and refers to it; its
    definition is replaced by the flattened schema, so the models it contains are no longer referred to from it.
    """

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        schema = handler(core_schema)
        if _BUILDING.get():
            return schema
        try:
            flat = flat_schema(cls, handler.mode)
        except Unflattenable:  # published as pydantic writes it: the same meaning, only slower to check
            return schema
        definition = handler.resolve_ref_schema(schema)
        definition.clear()
        definition.update(flat)
        return schema
