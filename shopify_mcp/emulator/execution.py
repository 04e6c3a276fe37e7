"""One GraphQL request as Shopify answers it: parse, validate, cost limit, cost bucket, execute, extensions."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import graphql

from shopify_mcp.emulator.access import RequestContext
from shopify_mcp.emulator.cost import CostBucket, CostCalculator
from shopify_mcp.emulator.resolvers import executable_schema, execute
from shopify_mcp.emulator.store import Store

RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class Outcome:
    """What the request log keeps of one GraphQL request."""

    operation: str | None = None
    requested_cost: int | None = None
    actual_cost: int | None = None
    throttled: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


def cost_extension(bucket: CostBucket, requested: int, actual: int | None) -> dict[str, Any]:
    return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": bucket.status()}


def throttled_payload(bucket: CostBucket, requested: int) -> dict[str, Any]:
    """HTTP 200, no data: Shopify's answer when the bucket cannot pay for the query."""
    return {
        "errors": [
            {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC}},
        ],
        "extensions": {"cost": cost_extension(bucket, requested, None)},
    }


def _max_cost_payload(bucket: CostBucket, requested: int, maximum: int) -> dict[str, Any]:
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit ({maximum}).\n\n"
        f"See {RATE_LIMITS_DOC} for more information on how the\ncost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
        "See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n"
    )
    extensions = {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": maximum, "documentation": RATE_LIMITS_DOC}
    return {
        "errors": [{"message": message, "extensions": extensions}],
        "extensions": {"cost": cost_extension(bucket, requested, None)},
    }


def _errors_only(errors: list[graphql.GraphQLError], bucket: CostBucket) -> dict[str, Any]:
    return {"errors": [error.formatted for error in errors], "extensions": {"cost": cost_extension(bucket, 0, 0)}}


@functools.lru_cache(maxsize=256)
def checked_document(query: str) -> tuple[graphql.DocumentNode | None, tuple[graphql.GraphQLError, ...]]:
    """The parsed document and what validation found in it, once per distinct query text: a client sends the same
    few operations again and again, and parsing plus validating is most of the emulator's work per request. The
    document is only read afterwards (execution and the cost calculator never change it)."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError as error:
        return None, (error,)
    return document, tuple(graphql.validate(executable_schema(), document))


def requested_cost(query: str, variables: dict[str, Any] | None, operation_name: str | None) -> Outcome:
    """The operation name and requested cost of a request, without running it (None when it does not parse)."""
    schema = executable_schema()
    document, problems = checked_document(query)
    if document is None:
        return Outcome(operation=operation_name)
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None or problems:
        return Outcome(operation=operation_name)
    name = operation.name.value if operation.name else operation_name
    return Outcome(operation=name, requested_cost=CostCalculator(schema, document, operation, variables).requested())


def run_graphql(
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    *,
    store: Store,
    scopes: frozenset[str],
    bucket: CostBucket,
    max_cost: int | None,
) -> Outcome:
    """The JSON payload (always HTTP 200) for one request, and the facts the request log records."""
    outcome = Outcome(operation=operation_name)
    schema = executable_schema()
    document, problems = checked_document(query)
    if document is None or problems:
        outcome.payload = _errors_only(list(problems), bucket)
        return outcome
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f"No operation named {operation_name!r}."
            if operation_name
            else "An operation name is required when the document holds several operations."
        )
        outcome.payload = _errors_only([graphql.GraphQLError(message)], bucket)
        return outcome
    outcome.operation = operation.name.value if operation.name else operation_name
    calculator = CostCalculator(schema, document, operation, variables)
    requested = calculator.requested()
    outcome.requested_cost = requested
    if max_cost is not None and requested > max_cost:
        outcome.payload = _max_cost_payload(bucket, requested, max_cost)
        return outcome
    if not bucket.spend(requested):
        outcome.throttled = True
        outcome.payload = throttled_payload(bucket, requested)
        return outcome
    context = RequestContext(store=store, scopes=scopes)
    result = execute(document, variables, outcome.operation, context)
    actual = min(calculator.actual(result.data), requested)
    bucket.refund(requested - actual)
    outcome.actual_cost = actual
    payload: dict[str, Any] = {}
    errors = result.errors or []
    if errors:
        payload["errors"] = [error.formatted for error in errors]
    if result.data is not None or any(error.path for error in errors):
        payload["data"] = result.data  # request errors (bad variables) carry no data, as on Shopify
    extensions: dict[str, Any] = {"cost": cost_extension(bucket, requested, actual)}
    if context.search:
        extensions["search"] = context.search
    payload["extensions"] = extensions
    outcome.payload = payload
    return outcome
