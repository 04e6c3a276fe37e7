"""`support-agent stats`: its flags and the command itself (the numbers are `stats`, the page `stats_html`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import anyio

from orchestrator.errors import LedgerError
from orchestrator.stats import parse_period, render_tables
from orchestrator.stats_html import render_html

__all__ = ["AddParser", "add_stats_parser", "run_stats"]

AddParser = Callable[..., argparse.ArgumentParser]
"""`parser.add_subparsers().add_parser`: how a sub-command adds itself (argparse has no public type for it)."""


def _period_argument(text: str) -> str:
    try:
        parse_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().lower()


def add_stats_parser(add_parser: AddParser, common_parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `stats` (`--since PERIOD`, `--html FILE`, and the common flags of `common_parent`) with `add_parser`."""
    stats = add_parser(
        "stats",
        parents=[common_parent],
        help="numbers from the ledger over a period: categories, time to draft, escalations, tools, verdicts, tokens",
    )
    stats.add_argument(
        "--since",
        default="7d",
        type=_period_argument,
        metavar="PERIOD",
        help="messages updated in the last PERIOD: 24h, 7d, 30d, 2w, … or 'all' (default: 7d)",
    )
    stats.add_argument(
        "--html", type=Path, metavar="FILE", help="also write one self-contained HTML page with charts to FILE"
    )
    stats.add_argument(
        "--mailbox",
        metavar="NAME",
        help="only this mailbox's messages (default: every mailbox; the output names those counted)",
    )
    return stats


async def run_stats(args: argparse.Namespace, ledger_location: str | Path, out: TextIO) -> int:
    """Print the tables for `args.since` (default all) and `args.mailbox` (default every one), and write
    `args.html` if given; 0, or LedgerError if the ledger is a path with no file."""
    from orchestrator.ledger import Ledger
    from orchestrator.ledger_engine import is_url

    since = parse_period(getattr(args, "since", None) or "all")
    if not is_url(ledger_location) and not await anyio.Path(ledger_location).is_file():
        raise LedgerError(
            f"There is no ledger at {ledger_location}: the daemon writes it on its first run (`support-agent once`), "
            "or point the configuration's ledger path at an existing one"
        )
    async with Ledger(ledger_location) as ledger:
        stats = await ledger.stats(since, mailbox=getattr(args, "mailbox", None))
    out.write(render_tables(stats))
    html_path: Path | None = getattr(args, "html", None)
    if html_path is not None:
        page = render_html(stats, title="support-agent stats", generated_at=datetime.now(UTC))
        await anyio.Path(html_path).write_text(page, encoding="utf-8")
        out.write(f"HTML report written to {html_path}\n")
    return 0
