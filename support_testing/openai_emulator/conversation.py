"""Read-only views of a chat completion request that scripts decide from: texts, offered tools, tool results."""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_NUMBER = re.compile(
    r"(?:#\s?(\d{3,10})\b|\b(?:order|pedido|commande|bestellung|encomenda|ordine|n[ºo°]\.?)\D{0,12}?(\d{3,10})\b)",
    re.IGNORECASE,
)


def message_text(message: dict[str, Any]) -> str:
    """The text of one message: its string content, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def user_text(request: dict[str, Any]) -> str:
    """Everything the user role said, in order (where the orchestrator puts the customer's email)."""
    return "\n".join(message_text(m) for m in request.get("messages", []) if m.get("role") == "user")


def offered_tools(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tool name -> its parameters schema, for every function tool the request offers."""
    tools: dict[str, dict[str, Any]] = {}
    for tool in request.get("tools") or []:
        function = tool.get("function", {})
        tools[function.get("name", "")] = function.get("parameters") or {"type": "object", "properties": {}}
    return tools


def tool_rounds(request: dict[str, Any]) -> int:
    """How many assistant turns with tool calls the conversation already holds."""
    return sum(1 for m in request.get("messages", []) if m.get("role") == "assistant" and m.get("tool_calls"))


def tool_results(request: dict[str, Any]) -> list[tuple[str, str]]:
    """`(tool name, result text)` for every tool message, in order."""
    names: dict[str, str] = {}
    results: list[tuple[str, str]] = []
    for message in request.get("messages", []):
        for call in message.get("tool_calls") or []:
            names[call.get("id", "")] = call.get("function", {}).get("name", "?")
        if message.get("role") == "tool":
            results.append((names.get(message.get("tool_call_id", ""), "?"), message_text(message)))
    return results


def structured_schema(request: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a structured-output request asks for, or None for a plain chat request."""
    response_format = request.get("response_format") or {}
    if response_format.get("type") != "json_schema":
        return None
    schema = response_format.get("json_schema", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def find_order_number(text: str) -> str | None:
    """The first order number mentioned ('#1001', 'pedido 1001', 'order no. 1001'), as '#1001'."""
    match = ORDER_NUMBER.search(text)
    if match is None:
        return None
    return "#" + (match.group(1) or match.group(2))


def find_email(text: str) -> str | None:
    match = EMAIL.search(text)
    return match.group(0) if match else None
