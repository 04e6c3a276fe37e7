"""`python -m evaluation [router|gatekeeper ...]`: score the offline router and the gatekeeper, print the tables.

Writes evaluation/REPORT.md too, the file the README quotes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from evaluation import gatekeeper, router

HERE = Path(__file__).resolve().parent
REPORTS: dict[str, Callable[[], str]] = {"router": router.report, "gatekeeper": gatekeeper.report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    parser.add_argument("only", nargs="*", metavar="REPORT", help=f"which reports: {', '.join(REPORTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in REPORTS]
    if unknown:
        parser.error(f"unknown report {unknown[0]!r}: choose from {', '.join(REPORTS)}")
    sections = [REPORTS[name]() for name in (args.only or list(REPORTS))]
    text = "\n\n".join(sections) + "\n"
    sys.stdout.write(text)
    if not args.only:
        (HERE / "REPORT.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
