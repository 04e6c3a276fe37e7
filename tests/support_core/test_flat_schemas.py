"""The tool results' flattened JSON Schemas accept and reject exactly what pydantic's own schemas do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter

from support_core import store
from support_core.flat_schemas import FlatSchemaModel, Unflattenable, flat_schema, ordinary_schema
from support_core.store import (
    LineItem,
    Money,
    OrderDetails,
    OrderTotals,
    RefundInfo,
    ReturnInfo,
    Shipment,
    ShipmentItem,
    Tracking,
)

EUR = Money(amount="49.90", currency="EUR")


def an_order() -> OrderDetails:
    """An order with every kind of field: nulls and values, nested models, lists of them, an enum."""
    return OrderDetails(
        order_number="#1001",
        state="in_transit",
        created_at="2026-05-18T23:45:47Z",
        processed_at="2026-05-18T23:45:47Z",
        financial_status=None,
        fulfillment_status="FULFILLED",
        return_status="NO_RETURN",
        cancelled_at=None,
        cancel_reason=None,
        closed=False,
        customer_name="María",
        locale="es",
        ship_to=None,
        totals=OrderTotals(total=EUR, subtotal=None, shipping=EUR, tax=EUR, discounts=None, refunded=EUR),
        items=[
            LineItem(
                title="Jacket",
                variant=None,
                sku="AUR-1",
                quantity=1,
                current_quantity=1,
                unfulfilled_quantity=0,
                unit_price=EUR,
            )
        ],
        shipments=[
            Shipment(
                name="#1001-F1",
                status="SUCCESS",
                delivery_status="IN_TRANSIT",
                tracking=[Tracking(carrier="DHL", number=None, url="https://dhl.example/1")],
                shipped_at="2026-05-19T10:00:00Z",
                in_transit_at=None,
                delivered_at=None,
                estimated_delivery_at=None,
                items=[ShipmentItem(title="Jacket", quantity=1)],
            )
        ],
        refunds=[RefundInfo(created_at=None, amount=EUR, note=None)],
        returns=[ReturnInfo(name="#1001-R1", status="OPEN", created_at="2026-05-20T00:00:00Z", closed_at=None)],
        status_page_url="https://shop.example/status/1001",
    )


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    if not path:
        return value
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if value is _MISSING:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return copy


_MISSING = object()


def _variants(document: Any) -> Iterator[Any]:
    """The document, then for every value in it: that value null, a number, a string, an object, or gone."""
    yield document
    for path in _paths(document):
        for value in (None, 7, "x", {}, [], _MISSING):
            yield _replaced(document, path, value)


def test_the_order_schema_has_no_refs_and_no_unions() -> None:
    text = json.dumps(TypeAdapter(OrderDetails).json_schema())
    assert "$ref" not in text and "$defs" not in text and "anyOf" not in text
    ordinary = json.dumps(ordinary_schema(OrderDetails))
    assert "$ref" in ordinary and "anyOf" in ordinary  # what it replaces


def test_flat_and_ordinary_schemas_agree_on_every_variant_of_an_order() -> None:
    flat = Draft202012Validator(TypeAdapter(OrderDetails).json_schema())
    ordinary = Draft202012Validator(ordinary_schema(OrderDetails))
    document = an_order().model_dump(mode="json")
    checked = rejected = 0
    for variant in _variants(document):
        assert flat.is_valid(variant) == ordinary.is_valid(variant), variant
        checked += 1
        rejected += not ordinary.is_valid(variant)
    assert flat.is_valid(document)
    assert checked > 400 and rejected > 200  # the variants do exercise the constraints


def _result_models() -> list[type[BaseModel]]:
    return [
        value
        for value in vars(store).values()
        if isinstance(value, type) and issubclass(value, FlatSchemaModel) and value.model_fields
    ]


@pytest.mark.parametrize("model", _result_models(), ids=lambda model: model.__name__)
def test_every_result_model_publishes_a_flat_schema_with_the_same_properties(model: type[BaseModel]) -> None:
    flat = TypeAdapter(model).json_schema()
    ordinary = ordinary_schema(model)
    assert "$ref" not in json.dumps(flat)
    assert flat["properties"].keys() == ordinary["properties"].keys()
    assert flat.get("required") == ordinary.get("required")
    Draft202012Validator.check_schema(flat)


def test_a_nullable_enum_keeps_its_union() -> None:
    """`enum` would reject the null, so `Literal[...] | None` is not collapsed into a type list."""

    class Choice(FlatSchemaModel):
        pick: store.StockStatus | None

    schema = TypeAdapter(Choice).json_schema()
    assert "anyOf" in schema["properties"]["pick"]
    assert Draft202012Validator(schema).is_valid({"pick": None})
    assert not Draft202012Validator(schema).is_valid({"pick": "nope"})


class Node(FlatSchemaModel):
    name: str
    children: list[Node]


def test_a_recursive_model_keeps_pydantic_schema() -> None:
    with pytest.raises(Unflattenable):
        flat_schema(Node)
    schema = TypeAdapter(Node).json_schema()
    assert Draft202012Validator(schema).is_valid({"name": "a", "children": [{"name": "b", "children": []}]})
    assert not Draft202012Validator(schema).is_valid({"name": "a", "children": [{"name": 1, "children": []}]})
