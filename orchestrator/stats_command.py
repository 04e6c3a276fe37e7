"""`support-agent stats`: its flags and the command itself (the numbers are `stats`, the page `stats_html`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import anyio

from orchestrator.errors import ConfigError, LedgerError
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
    """Add `stats` (`--since PERIOD`, `--html FILE`, `--ledger`, `--mailbox`, and the common flags of
    `common_parent`) with `add_parser`."""
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
        "--ledger",
        metavar="PATH_OR_URL",
        help="the ledger to read: a SQLite file (the demo's is DIR/ledger.sqlite3) or a postgresql:// URL "
        "(default: $SUPPORT_AGENT_LEDGER, else ~/.local/share/support-agent/ledger.sqlite3)",
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
    html_path: Path | None = getattr(args, "html", None)
    if html_path is not None and not await (await anyio.Path(html_path).expanduser()).parent.is_dir():
        raise ConfigError(
            f"Cannot write the HTML report to {html_path}: the folder {html_path.parent} does not exist; give --html "
            "a file in a folder that exists and that this user can write"
        )
    if not is_url(ledger_location) and not await (await anyio.Path(ledger_location).expanduser()).is_file():
        raise LedgerError(
            f"There is no ledger at {ledger_location}: the daemon writes it on its first run (`support-agent once`); "
            "`--ledger PATH` reads another one (the demo's is in its folder: support-agent-demo/ledger.sqlite3)"
        )
    async with Ledger(ledger_location) as ledger:
        stats = await ledger.stats(since, mailbox=getattr(args, "mailbox", None))
    out.write(render_tables(stats))
    if html_path is not None:
        page = render_html(stats, title="support-agent stats", generated_at=datetime.now(UTC))
        try:
            await anyio.Path(html_path).write_text(page, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"Cannot write the HTML report to {html_path} ({exc.strerror or exc}): give --html a file in a "
                "folder that exists and that this user can write"
            ) from None
        out.write(f"HTML report written to {html_path}\n")
    return 0
