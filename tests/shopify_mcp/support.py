"""Helpers shared by the Shopify server tests: settings for a test server and result accessors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.types import CallToolResult

from shopify_mcp.config import ShopifySettings

OWNER = "maria.garcia@example.com"
"""Sandbox VIP with seven orders (#1001, #1002 older than 60 days; #1021 shipped in two parcels)."""


def make_settings(tmp_path: Path, **overrides: Any) -> ShopifySettings:
    values: dict[str, Any] = {
        "ticket_db": tmp_path / "tickets.sqlite3",
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "max_retries": 2,
        "timeout": 5.0,
    }
    values.update(overrides)
    return ShopifySettings(_env_file=None, **values)  # type: ignore[call-arg]


def error_text(result: CallToolResult) -> str:
    assert result.is_error, f"expected an error, got {result.structured_content}"
    return " ".join(getattr(c, "text", "") for c in result.content)


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, " ".join(getattr(c, "text", "") for c in result.content)
    assert result.structured_content is not None
    return result.structured_content
