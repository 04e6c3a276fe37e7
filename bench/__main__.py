"""`python -m bench [--quick] [--only NAME ...]`: run the benchmarks, print the tables, write the report.

Writes bench/results/report.md (gitignored) and, for a full (not --quick) run of every benchmark, bench/LATEST.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import anyio

from bench import budget, cost_curve, scale, scale_out, startup, throughput, tool_latency
from bench.report import Section, machine

HERE = Path(__file__).resolve().parent
BENCHMARKS: dict[str, Callable[[bool], Awaitable[Section]]] = {
    # run order: benchmark 1 first, so its first run gives benchmark 4 the daemon's peak memory
    "throughput": throughput.run,
    "tool_latency": tool_latency.run,
    "budget": budget.run,
    "startup": startup.run,
    "scale": scale.run,
    "scale_out": scale_out.run,
    "cost_curve": cost_curve.run,
}
ORDER = ["throughput", "tool_latency", "budget", "startup", "scale", "scale_out", "cost_curve"]
"""How the report lists them (the issue's numbering)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer messages, cells and calls: a smoke run")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "report.md")
    return parser.parse_args(argv)


def render(sections: dict[str, Section], *, quick: bool, seconds: float) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        "# support-agent benchmarks",
        "",
        f"Run {stamp}{' (**--quick**)' if quick else ''} in {seconds:,.0f} s on {machine()}.",
        "",
        "Targets are reported, not asserted; where one is missed the notes say why and what would close it.",
        "",
    ]
    body = [sections[name].markdown() for name in ORDER if name in sections]
    return "\n".join(head + body)


async def main_async(args: argparse.Namespace) -> str:
    chosen = args.only or list(BENCHMARKS)
    sections: dict[str, Section] = {}
    started = time.perf_counter()
    for name in BENCHMARKS:
        if name not in chosen:
            continue
        began = time.perf_counter()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        sections[name] = await BENCHMARKS[name](args.quick)
        print(f"== {name}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    return render(sections, quick=args.quick, seconds=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    report = anyio.run(main_async, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    if not args.only and not args.quick:  # LATEST.md is only ever a full run of everything
        (HERE / "LATEST.md").write_text(report, encoding="utf-8")
    print(report)
    print(f"Report written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
