"""Shopify tool calls on behalf of one customer: identity bound in code, per-category allow-list, evidence kept."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from mcp.types import Tool

from orchestrator.errors import ToolCallError, ToolNotAllowedError
from orchestrator.guard import Evidence
from orchestrator.servers import ServerConnection

logger = logging.getLogger(__name__)

ECHOING_TOOLS = frozenset({"escalate_ticket", "list_tickets"})
"""Their results repeat what the caller wrote (a ticket's summary), so they are never evidence for the draft guard:
otherwise a model could launder another customer's address or a foreign link through a ticket."""
BOUND_ARGUMENT = "customer_email"
"""Set by the orchestrator to the address the draft goes to; removed from every schema a model sees."""


@dataclass
class ToolCallRecord:
    tool: str
    ok: bool
    ms: float
    error: str | None = None


@dataclass
class BoundTools:
    """The Shopify tools for one message. `customer_email` is always the recipient's, whatever the caller passes."""

    shopify: ServerConnection
    customer_email: str | None
    allowed: tuple[str, ...]
    evidence: Evidence = field(default_factory=Evidence)
    calls: list[ToolCallRecord] = field(default_factory=list)

    async def schemas(self) -> list[Tool]:
        """The allowed tools as the model should see them: without the bound identity argument."""
        visible = []
        for tool in await self.shopify.tools():
            if tool.name not in self.allowed:
                continue
            schema = copy.deepcopy(tool.input_schema)
            schema.get("properties", {}).pop(BOUND_ARGUMENT, None)
            if BOUND_ARGUMENT in schema.get("required", []):
                schema["required"] = [r for r in schema["required"] if r != BOUND_ARGUMENT]
            visible.append(tool.model_copy(update={"input_schema": schema}))
        return visible

    async def call(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call an allowed tool with the identity bound; the result also becomes evidence for the draft guard."""
        if tool not in self.allowed:
            raise ToolNotAllowedError(f"{tool} is not available for this kind of message.")
        args = {k: v for k, v in (arguments or {}).items() if k != BOUND_ARGUMENT}
        if await self._takes_identity(tool):
            if self.customer_email is None:
                raise ToolCallError("shopify", tool, "No verified customer address: order details cannot be shown.")
            args[BOUND_ARGUMENT] = self.customer_email
        started = time.perf_counter()
        try:
            result = await self.shopify.call(tool, args)
        except ToolCallError as exc:
            self.calls.append(ToolCallRecord(tool, False, (time.perf_counter() - started) * 1000, str(exc)))
            raise
        self.calls.append(ToolCallRecord(tool, True, (time.perf_counter() - started) * 1000))
        if tool not in ECHOING_TOOLS:
            self.evidence.add_tool_result(result)
        return result

    async def _takes_identity(self, tool: str) -> bool:
        for candidate in await self.shopify.tools():
            if candidate.name == tool:
                return BOUND_ARGUMENT in candidate.input_schema.get("properties", {})
        return False
