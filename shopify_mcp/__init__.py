"""Shopify MCP server: Admin GraphQL lookups (orders, customers, products, discounts, policies) and escalation."""

from __future__ import annotations

import argparse
import functools
import logging
import sys

import anyio

from shopify_mcp.config import ShopifySettings, load_settings
from support_core.errors import ConfigError
from support_core.http_limits import HttpLimits, add_http_flags, http_limits
from support_core.transport import OneLineErrorParser, Transport, add_stateful_flag
from support_core.version import __version__

__all__ = ["__version__", "main", "serve"]

logger = logging.getLogger(__name__)
FORWARDED_ENV = "SHOPIFY_MCP_FORWARDED_ALLOW_IPS"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog="shopify-mcp",
        description="MCP server for Shopify customer support. With no SHOPIFY_STORE set it serves the sandbox store.",
    )
    parser.add_argument(
        "--transport", choices=["stdio", "streamable-http", "sse"], default="stdio", help="default: stdio"
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_http_flags(parser, forwarded_env=FORWARDED_ENV)
    add_stateful_flag(parser)
    return parser.parse_args(argv)


async def serve(
    settings: ShopifySettings,
    transport: Transport,
    host: str,
    port: int,
    log_level: str,
    limits: HttpLimits | None = None,
    *,
    stateless: bool = True,
) -> None:
    """Open the services and run the server on the chosen transport until it is stopped (`limits`: over
    HTTP; `stateless`: Streamable HTTP without sessions, so replicas can share a load balancer)."""
    from shopify_mcp.context import open_context
    from shopify_mcp.server import create_server
    from support_core.transport import run_server

    async with open_context(settings) as ctx:
        logger.info("shopify-mcp ready (%s, %s)", transport, ctx.mode)
        await run_server(
            create_server(ctx),
            transport,
            settings,
            host=host,
            port=port,
            log_level=log_level,
            limits=limits,
            stateless=stateless,
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
        limits = http_limits(args, settings.mcp_forwarded_allow_ips)
        run = functools.partial(serve, stateless=not args.stateful)
        anyio.run(run, settings, args.transport, args.host, args.port, args.log_level, limits)
    except ConfigError as exc:
        print(f"shopify-mcp: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
