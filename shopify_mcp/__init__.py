"""Shopify MCP server: Admin GraphQL lookups (orders, customers, products, discounts, policies) and escalation."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from shopify_mcp.config import ShopifySettings, load_settings
from support_core.server_main import ServerProgram, server_parser
from support_core.version import __version__

if TYPE_CHECKING:
    from mcp.server import MCPServer

__all__ = ["PROGRAM", "__version__", "main", "open_server"]

FORWARDED_ENV = "SHOPIFY_MCP_FORWARDED_ALLOW_IPS"


PROGRAM_DESCRIPTION = "MCP server for Shopify customer support. With no SHOPIFY_STORE set it serves the sandbox store."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server_parser("shopify-mcp", PROGRAM_DESCRIPTION, default_port=8000, forwarded_env=FORWARDED_ENV)
    return parser.parse_args(argv)


@asynccontextmanager
async def open_server(settings: ShopifySettings) -> AsyncIterator[tuple[MCPServer, str]]:
    """The store's services (the Admin API or the sandbox, tickets, caches) and the MCP server over them."""
    from shopify_mcp.context import open_context
    from shopify_mcp.server import create_server

    async with open_context(settings) as ctx:
        yield create_server(ctx), ctx.mode


PROGRAM = ServerProgram("shopify-mcp", load_settings, open_server)


def main(argv: list[str] | None = None) -> None:
    PROGRAM.main(parse_args(argv))
