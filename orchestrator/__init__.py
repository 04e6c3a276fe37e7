"""Support-agent orchestrator: the inbox daemon (gatekeeper, router, category agents over MCP) and its CLI."""

from __future__ import annotations

import argparse
import logging
import sys

import anyio

from support_core.version import __version__

__all__ = ["__version__", "main"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from orchestrator.cli import add_commands, add_common_flags

    parser = argparse.ArgumentParser(prog="support-agent", description="Autonomous customer support for Shopify.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common_flags(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on a sandbox inbox and store, offline (no accounts, no keys, no network)",
    )
    demo.add_argument("--dir", default="support-agent-demo", help="where the demo mailbox, drafts and ledger go")
    commands.add_parser("tour", help="call each Shopify tool on the sandbox store over stdio and show the answers")
    add_commands(commands.add_parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from pathlib import Path

        from orchestrator.inbox_demo import run_inbox_demo

        anyio.run(run_inbox_demo, Path(args.dir))
    elif args.command == "tour":
        from orchestrator.demo import run_demo

        failures = anyio.run(run_demo)
        raise SystemExit(1 if failures else 0)
    else:
        from orchestrator.cli import run_command

        raise SystemExit(run_command(args))
