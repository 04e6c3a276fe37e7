"""`python -m evaluation [router|gatekeeper ...]`: score the offline router and the gatekeeper, print the tables.

The full run (no report named) also writes evaluation/REPORT.md and the numbers block of the README (between its
`<!-- eval:begin -->` and `<!-- eval:end -->` markers), so the README always quotes the current evaluation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evaluation import gatekeeper, readme, router

HERE = Path(__file__).resolve().parent
REPORTS = ("router", "gatekeeper")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    parser.add_argument("only", nargs="*", metavar="REPORT", help=f"which reports: {', '.join(REPORTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in REPORTS]
    if unknown:
        parser.error(f"unknown report {unknown[0]!r}: choose from {', '.join(REPORTS)}")
    chosen = args.only or list(REPORTS)
    scores = router.evaluate() if "router" in chosen else None
    gate = gatekeeper.score() if "gatekeeper" in chosen else None
    rspamd = gatekeeper.rspamd_counts() if gate is not None else None
    sections = []
    if scores is not None:
        sections.append(router.render(scores))
    if gate is not None:
        sections.append(gatekeeper.report(gate, rspamd))
    text = "\n\n".join(sections) + "\n"
    sys.stdout.write(text)
    if not args.only and scores is not None and gate is not None:
        (HERE / "REPORT.md").write_text(text, encoding="utf-8")
        try:
            changed = readme.write(readme.block(scores, gate, rspamd))
        except readme.ReadmeError as exc:
            sys.stderr.write(f"python -m evaluation: {exc}; REPORT.md is written, the README is not.\n")
            return 1
        sys.stderr.write("README.md: evaluation numbers updated.\n" if changed else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
