"""Query cost as Shopify computes it (requested before, actual after execution) and the leaky cost bucket."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import graphql
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

DEFAULT_BUCKET_SIZE = 2000.0
DEFAULT_RESTORE_RATE = 100.0
MAX_QUERY_COST = 1000
"""Shopify refuses (MAX_COST_EXCEEDED) any single query whose requested cost is above this."""

_REQUESTED = object()
"""Marker for 'no data': the walker then assumes every connection returns `first` nodes."""


class CostCalculator:
    """Shopify's documented rules: scalars and enums 0, objects 1, interfaces and unions the costliest member,
    connections (and plain lists given `first`) 2 + size x (1 + the node's cost). Requested cost takes the size from
    `first`/`last` (literal or variable, `@skip`/`@include` honoured); actual cost counts what the response holds:
    the nodes each connection returned, and 1 for an object that came back null (Shopify charges `product(id:)` that
    finds nothing 1 point). Not documented, so kept simple: a list without `first` (`shopPolicies`,
    `Fulfillment.trackingInfo`) costs as one object. The emulator has no mutations (Shopify charges those 10).
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: graphql.DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables: dict[str, Any] = {}
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                self.variables[definition.variable.name.value] = graphql.value_from_ast_untyped(
                    definition.default_value
                )
        self.variables.update(variables or {})
        self.operation = operation
        root = schema.query_type
        assert root is not None
        self.root = root

    def requested(self) -> int:
        return self._object_cost(self.root, [self.operation.selection_set], _REQUESTED)

    def actual(self, data: dict[str, Any] | None) -> int:
        return 0 if data is None else self._object_cost(self.root, [self.operation.selection_set], data)

    # --- walking ---

    def _argument(self, node: FieldNode | Any, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return graphql.value_from_ast_untyped(argument.value, self.variables)
        return None

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            condition = self._argument(directive, "if")
            if directive.name.value == "skip" and condition is True:
                return False
            if directive.name.value == "include" and condition is not True:
                return False
        return True

    def _applies(self, condition: str | None, object_type: GraphQLObjectType) -> bool:
        if condition is None or condition == object_type.name:
            return True
        abstract = self.schema.get_type(condition)
        return isinstance(abstract, graphql.GraphQLUnionType | graphql.GraphQLInterfaceType) and (
            self.schema.is_sub_type(abstract, object_type)
        )

    def _collect(
        self, object_type: GraphQLObjectType, selection_sets: list[SelectionSetNode], fields: dict[str, list[FieldNode]]
    ) -> dict[str, list[FieldNode]]:
        for selection_set in selection_sets:
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition.name.value if selection.type_condition else None
                    if self._applies(condition, object_type):
                        self._collect(object_type, [selection.selection_set], fields)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment is not None and self._applies(fragment.type_condition.name.value, object_type):
                        self._collect(object_type, [fragment.selection_set], fields)
        return fields

    def _object_cost(self, object_type: GraphQLObjectType, selection_sets: list[SelectionSetNode], data: Any) -> int:
        total = 0
        for key, nodes in self._collect(object_type, selection_sets, {}).items():
            name = nodes[0].name.value
            definition = object_type.fields.get(name)
            if definition is None:
                continue
            value = data if data is _REQUESTED else (data.get(key) if isinstance(data, dict) else None)
            total += self._field_cost(definition.type, nodes, value)
        return total

    def _field_cost(self, field_type: Any, nodes: list[FieldNode], value: Any) -> int:
        named = graphql.get_named_type(field_type)
        if graphql.is_leaf_type(named):
            return 0
        if value is None:
            return 1  # an object that came back null still costs its own point (its selections cost nothing)
        children = [node.selection_set for node in nodes if node.selection_set is not None]
        size = _size(self._argument(nodes[0], "first")) or _size(self._argument(nodes[0], "last"))
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            return 2 + self._connection_nodes_cost(named, children, value, size)
        is_list = graphql.is_list_type(graphql.get_nullable_type(field_type))
        if is_list and size is not None:
            items = [_REQUESTED] * size if value is _REQUESTED else list(value)
            return 2 + sum(1 + self._value_cost(named, children, item) for item in items)
        if is_list:
            items = [_REQUESTED] if value is _REQUESTED else list(value)
            return 1 + max((self._value_cost(named, children, item) for item in items), default=0)
        return 1 + self._value_cost(named, children, value)

    def _connection_nodes_cost(
        self, connection: GraphQLObjectType, children: list[SelectionSetNode], value: Any, size: int | None
    ) -> int:
        fields = self._collect(connection, children, {})
        node_type = graphql.get_named_type(connection.fields["nodes"].type)
        costs = [0]
        for key, nodes in fields.items():
            name = nodes[0].name.value
            sub = [node.selection_set for node in nodes if node.selection_set is not None]
            if name == "nodes":
                items = self._items(value, key, size)
                costs.append(sum(1 + self._value_cost(node_type, sub, item) for item in items))
            elif name == "edges":
                edge_type = graphql.get_named_type(connection.fields["edges"].type)
                assert isinstance(edge_type, GraphQLObjectType)
                node_fields = self._collect(edge_type, sub, {})
                node_sets = [n.selection_set for k in node_fields for n in node_fields[k] if n.name.value == "node"]
                node_key = next((k for k in node_fields if node_fields[k][0].name.value == "node"), "node")
                items = [
                    item if item is _REQUESTED else (item or {}).get(node_key) for item in self._items(value, key, size)
                ]
                costs.append(sum(1 + self._value_cost(node_type, [s for s in node_sets if s], i) for i in items))
        return max(costs)

    @staticmethod
    def _items(value: Any, key: str, size: int | None) -> list[Any]:
        if value is _REQUESTED:
            return [_REQUESTED] * (size or 0)
        found = value.get(key) if isinstance(value, dict) else None
        return list(found) if isinstance(found, list) else []

    def _value_cost(self, named: Any, children: list[SelectionSetNode], value: Any) -> int:
        if value is None or not children:
            return 0
        if isinstance(named, GraphQLObjectType):
            return self._object_cost(named, children, value)
        candidates = list(self.schema.get_possible_types(named))
        if isinstance(value, dict) and isinstance(value.get("__typename"), str):
            candidates = [t for t in candidates if t.name == value["__typename"]] or candidates
        return max((self._object_cost(t, children, value) for t in candidates), default=0)


def _size(value: Any) -> int | None:
    """A page size from `first`/`last`; anything but a non-negative integer counts as absent."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class CostBucket:
    """Shopify's leaky bucket: `maximum` points, refilled continuously at `restore_rate` points per second."""

    def __init__(
        self,
        maximum: float = DEFAULT_BUCKET_SIZE,
        restore_rate: float = DEFAULT_RESTORE_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._level = self.maximum
        self._at = clock()

    def available(self) -> float:
        now = self._clock()
        self._level = min(self.maximum, self._level + max(now - self._at, 0.0) * self.restore_rate)
        self._at = now
        return self._level

    def spend(self, cost: float) -> bool:
        """Take `cost` points if the bucket holds them; False (nothing taken) when it would be throttled."""
        if cost > self.available():
            return False
        self._level -= cost
        return True

    def refund(self, points: float) -> None:
        """Give back the difference between requested and actual cost after execution."""
        self._level = min(self.maximum, self.available() + max(points, 0.0))

    def drain(self, points: float | None = None) -> None:
        """Empty the bucket (or remove `points`), as a burst of other traffic would."""
        self._level = 0.0 if points is None else max(0.0, self.available() - points)

    def status(self) -> dict[str, float | int]:
        """`throttleStatus` as Shopify sends it."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": math.floor(self.available()),
            "restoreRate": self.restore_rate,
        }
