"""Every GraphQL operation the client can send is valid against Shopify's 2026-07 schema, with no deprecated field."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

import graphql
import pytest
from graphql.utilities import TypeInfo, TypeInfoVisitor

from shopify_mcp.queries import ALL_OPERATIONS
from tests.conftest import SHARED

SCHEMA_FILE = SHARED / "shopify" / "admin-2026-07.graphql.gz"


@cache
def admin_schema(path: Path = SCHEMA_FILE) -> graphql.GraphQLSchema:
    # assume_valid: graphql-core rejects Shopify's SDL over deprecation rules on interface fields otherwise.
    return graphql.build_schema(gzip.decompress(path.read_bytes()).decode(), assume_valid=True)


@pytest.fixture(scope="module")
def schema() -> graphql.GraphQLSchema:
    if not SCHEMA_FILE.is_file():
        pytest.skip(f"{SCHEMA_FILE} is absent: the Shopify schema lives in ../shared beside the checkout")
    return admin_schema()


def deprecated_fields(schema: graphql.GraphQLSchema, document: graphql.DocumentNode) -> list[str]:
    found: list[str] = []
    info = TypeInfo(schema)

    class Visitor(graphql.Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: object) -> None:
            definition = info.get_field_def()
            parent = info.get_parent_type()
            if definition is not None and definition.deprecation_reason:
                found.append(f"{parent}.{node.name.value}: {definition.deprecation_reason}")

    graphql.visit(document, TypeInfoVisitor(info, Visitor()))
    return found


@pytest.mark.parametrize("name", sorted(ALL_OPERATIONS))
def test_operation_is_valid_against_the_admin_schema(schema: graphql.GraphQLSchema, name: str) -> None:
    document = graphql.parse(ALL_OPERATIONS[name])
    errors = graphql.validate(schema, document)
    assert not errors, [e.message for e in errors]
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    assert [op.name.value for op in operations if op.name] == [name], "the operation name is what the client logs"


@pytest.mark.parametrize("name", sorted(ALL_OPERATIONS))
def test_operation_selects_no_deprecated_field(schema: graphql.GraphQLSchema, name: str) -> None:
    assert deprecated_fields(schema, graphql.parse(ALL_OPERATIONS[name])) == []


def test_the_checker_catches_a_deprecated_field(schema: graphql.GraphQLSchema) -> None:
    document = graphql.parse('query Q { customerByIdentifier(identifier: {emailAddress: "a@b.c"}) { email } }')
    assert deprecated_fields(schema, document), "Customer.email is deprecated and must be reported"
