"""The emulator's schema is a faithful subset of Shopify's Admin schema, and serves every project operation."""

from __future__ import annotations

import gzip
from pathlib import Path

import graphql
import pytest

from shopify_mcp.emulator.resolvers import executable_schema
from shopify_mcp.emulator.schema import schema_sdl
from shopify_mcp.queries import ALL_OPERATIONS

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
REAL_SCHEMA = SHARED / "shopify" / "admin-2026-07.graphql.gz"


@pytest.fixture(scope="module")
def real_schema() -> graphql.GraphQLSchema:
    if not REAL_SCHEMA.is_file():
        pytest.skip(f"../shared is absent: {REAL_SCHEMA} holds Shopify's Admin schema (present in CI)")
    sdl = gzip.decompress(REAL_SCHEMA.read_bytes()).decode("utf-8")
    return graphql.build_schema(sdl, assume_valid=True)


def _default(argument: graphql.GraphQLArgument) -> str | None:
    node = argument.ast_node
    return graphql.print_ast(node.default_value) if node is not None and node.default_value is not None else None


def _differences(mine: graphql.GraphQLSchema, real: graphql.GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, ours in mine.type_map.items():
        if name.startswith("__"):
            continue
        theirs = real.query_type if ours is mine.query_type else real.type_map.get(name)
        if theirs is None or type(theirs) is not type(ours):
            problems.append(f"type {name} is not a {type(ours).__name__} in Shopify's schema")
            continue
        if isinstance(ours, graphql.GraphQLEnumType):
            assert isinstance(theirs, graphql.GraphQLEnumType)
            problems += [f"enum value {name}.{v} is not Shopify's" for v in set(ours.values) - set(theirs.values)]
        elif isinstance(ours, graphql.GraphQLUnionType):
            assert isinstance(theirs, graphql.GraphQLUnionType)
            extra = {t.name for t in ours.types} - {t.name for t in theirs.types}
            problems += [f"union {name} has no member {member} in Shopify's schema" for member in extra]
        elif isinstance(ours, graphql.GraphQLInputObjectType):
            assert isinstance(theirs, graphql.GraphQLInputObjectType)
            for field_name, field in ours.fields.items():
                real_field = theirs.fields.get(field_name)
                if real_field is None or str(real_field.type) != str(field.type):
                    problems.append(f"input field {name}.{field_name}: {field.type} differs from Shopify's")
        elif isinstance(ours, graphql.GraphQLObjectType):
            assert isinstance(theirs, graphql.GraphQLObjectType)
            problems += _field_differences(name, ours, theirs)
    return problems


def _field_differences(name: str, ours: graphql.GraphQLObjectType, theirs: graphql.GraphQLObjectType) -> list[str]:
    problems = []
    for field_name, field in ours.fields.items():
        real_field = theirs.fields.get(field_name)
        where = f"{name}.{field_name}"
        if real_field is None:
            problems.append(f"{where} does not exist in Shopify's schema")
            continue
        if str(real_field.type) != str(field.type):
            problems.append(f"{where}: {field.type} but Shopify says {real_field.type}")
        if real_field.deprecation_reason:
            problems.append(f"{where} is deprecated in Shopify's schema")
        if list(field.args) != [a for a in real_field.args if a in field.args] or set(real_field.args) - set(
            field.args
        ):
            problems.append(f"{where}: arguments {list(field.args)} differ from Shopify's {list(real_field.args)}")
        for arg_name, arg in field.args.items():
            real_arg = real_field.args.get(arg_name)
            if real_arg is None:
                continue
            if str(real_arg.type) != str(arg.type) or _default(real_arg) != _default(arg):
                problems.append(f"{where}({arg_name}): {arg.type} = {_default(arg)} differs from Shopify's")
    return problems


def test_every_type_field_argument_and_enum_value_matches_shopify(real_schema: graphql.GraphQLSchema) -> None:
    mine = graphql.build_schema(schema_sdl())
    assert _differences(mine, real_schema) == []


def test_the_fidelity_check_notices_a_wrong_nullability(real_schema: graphql.GraphQLSchema) -> None:
    broken = graphql.build_schema(schema_sdl().replace("  processedAt: DateTime!\n", "  processedAt: DateTime\n"))
    assert _differences(broken, real_schema) == ["Order.processedAt: DateTime but Shopify says DateTime!"]


@pytest.mark.parametrize("name", sorted(ALL_OPERATIONS))
def test_every_project_operation_validates_against_the_emulator(name: str) -> None:
    document = graphql.parse(ALL_OPERATIONS[name])
    assert graphql.validate(executable_schema(), document) == []
    assert graphql.get_operation_ast(document, name) is not None


def test_discount_unions_hold_every_member_the_queries_reference() -> None:
    schema = executable_schema()
    referenced = set()
    for document in map(graphql.parse, ALL_OPERATIONS.values()):
        for definition in document.definitions:
            graphql.visit(definition, _InlineFragments(referenced))
    discount = schema.type_map["Discount"]
    assert isinstance(discount, graphql.GraphQLUnionType)
    members = {t.name for t in discount.types}
    assert {name for name in referenced if name.startswith(("DiscountCode", "DiscountAutomatic"))} <= members


class _InlineFragments(graphql.Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_inline_fragment(self, node: graphql.InlineFragmentNode, *_: object) -> None:
        if node.type_condition is not None:
            self.names.add(node.type_condition.name.value)
