"""The tool specs the agent offers the model: made once per server listing and allow-list, identity always hidden."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.llm import to_openai_tool
from orchestrator.llm_agent import _tool_specs
from orchestrator.servers import ServerConnection, ServerSpec
from orchestrator.tools import BoundTools

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORDERS = ("lookup_order", "list_customer_orders", "search_products")


@pytest.fixture
def shopify_server(tmp_path: Path) -> Callable[[str], AbstractAsyncContextManager[ServerConnection]]:
    @asynccontextmanager
    async def start(name: str) -> AsyncIterator[ServerConnection]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "SHOPIFY_TICKET_DB": str(tmp_path / name)}
        connection = ServerConnection(ServerSpec("shopify", module="shopify_mcp", env=env))
        async with anyio.create_task_group() as tg:
            await tg.start(connection.keep)
            yield connection
            connection.close()

    return start


async def test_specs_are_made_once_per_listing_and_never_show_the_identity(
    shopify_server: Callable[[str], AbstractAsyncContextManager[ServerConnection]],
) -> None:
    async with shopify_server("a.db") as shopify:
        maria = BoundTools(shopify, "maria.garcia@example.com", ORDERS)
        oliver = BoundTools(shopify, "oliver.bennett@example.net", ORDERS)
        first = await _tool_specs(maria)
        assert await _tool_specs(oliver) is first  # another customer, same listing and allow-list: reused
        fresh = [to_openai_tool(t.name, t.description, t.input_schema) for t in await oliver.schemas()]
        assert first == fresh
        assert [spec["function"]["name"] for spec in first] == list(ORDERS)
        assert not _identity_in(first)
        tickets = await _tool_specs(BoundTools(shopify, "maria.garcia@example.com", ("escalate_ticket",)))
        assert [spec["function"]["name"] for spec in tickets] == ["escalate_ticket"]
        assert not _identity_in(tickets)
        async with shopify_server("b.db") as other:  # another server (another store): its own specs
            theirs = await _tool_specs(BoundTools(other, "maria.garcia@example.com", ORDERS))
            assert theirs is not first and theirs == first


def _identity_in(specs: list[dict[str, Any]]) -> bool:
    """Whether any spec lets the model pass the customer's address (a property or a required name)."""
    parameters = [spec["function"]["parameters"] for spec in specs]
    return any("customer_email" in json.dumps([p.get("properties", {}), p.get("required", [])]) for p in parameters)
