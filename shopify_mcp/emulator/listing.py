"""Relay connections over in-memory lists: `first`/`after`/`last`/`before`, `reverse`, opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from graphql import GraphQLError

T = TypeVar("T")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor for current pagination: {cursor!r}.") from None
    if not isinstance(offset, int) or offset < 0:
        raise GraphQLError(f"Invalid cursor for current pagination: {cursor!r}.")
    return offset


def _page_size(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise GraphQLError(f"`{name}` must be a non-negative integer.")
    return int(value)


def connection(items: Sequence[T], args: dict[str, Any]) -> dict[str, Any]:
    """A `...Connection` dict (nodes, edges, pageInfo) for the page `args` ask for; Shopify requires first or last."""
    first = _page_size("first", args.get("first"))
    last = _page_size("last", args.get("last"))
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    ordered = list(reversed(items)) if args.get("reverse") else list(items)
    start, end = 0, len(ordered)
    if args.get("after") is not None:
        start = min(decode_cursor(str(args["after"])) + 1, end)
    if args.get("before") is not None:
        end = max(min(decode_cursor(str(args["before"])), end), start)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    window = range(start, end)
    edges = [{"cursor": encode_cursor(i), "node": ordered[i]} for i in window]
    return {
        "nodes": [ordered[i] for i in window],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": end < len(ordered),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def first_items(items: Sequence[T], first: Any) -> list[T]:
    """A plain list field sized by an optional `first` (Order.fulfillments, Fulfillment.trackingInfo, ...)."""
    size = _page_size("first", first)
    return list(items) if size is None else list(items[:size])
