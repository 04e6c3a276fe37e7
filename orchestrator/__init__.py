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
    from support_core.arguments import OneLineErrorParser

    parser = OneLineErrorParser(prog="support-agent", description="Autonomous customer support for Shopify.")
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
    """The `support-agent` command. Exit codes: 0 done; 1 some message failed (`once`), `doctor` found a problem,
    or an unexpected error; 2 a problem with the input or the configuration (one line says what to fix); 130
    interrupted."""
    args = parse_args(argv)
    level = "DEBUG" if args.debug else args.log_level
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        raise SystemExit(_run(args))
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # an unexpected error: one line, the traceback only with --debug
        if args.debug:
            raise
        what = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1 else exc
        print(
            f"support-agent: unexpected error: {type(what).__name__}: {str(what)[:300]} (run again with --debug "
            "for the traceback, and report it if it is a bug)",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_UNEXPECTED) from None


EXIT_UNEXPECTED = 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from pathlib import Path

        from orchestrator.inbox_demo import run_inbox_demo

        anyio.run(run_inbox_demo, Path(args.dir))
        return 0
    if args.command == "tour":
        from orchestrator.demo import run_demo

        failures = anyio.run(run_demo)
        return 1 if failures else 0
    from orchestrator.cli import run_command

    return run_command(args)
