"""Support-agent orchestrator: the inbox daemon (gatekeeper, router, category agents over MCP) and its CLI."""

from __future__ import annotations

import argparse
import logging
import sys

import anyio

__all__ = ["main"]
__version__ = "0.1.0"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="support-agent", description="Autonomous customer support for Shopify.")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="tour the sandbox store through the Shopify MCP server over stdio (no accounts, no keys, no network)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from orchestrator.demo import run_demo

        failures = anyio.run(run_demo)
        raise SystemExit(1 if failures else 0)
