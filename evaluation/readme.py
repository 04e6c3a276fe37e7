"""The README's evaluation numbers, written by `make eval` between markers so they cannot drift from the evaluation.

The block holds only what the evaluation decides (counts, accuracies, verdicts), never timings, so the same code and
data always write the same block, and a test can check that the README says what the evaluation finds today.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from evaluation import gatekeeper
from evaluation.router import RouterScores

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- eval:begin -->"
END = "<!-- eval:end -->"
RSPAMD_HEADING = "The gatekeeper on the rspamd project's test corpus"
_REASONS = {
    "sender:missing": "no From address a reply could go to",
    "review:sender": "ambiguous sender: a reply without data, for review",
}


class ReadmeError(Exception):
    """The README has no evaluation block to write (its markers are missing or out of order)."""


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def block(scores: RouterScores, gate: gatekeeper.Score, rspamd: Counter[tuple[str, str]] | None) -> str:
    """The README's evaluation block (markers included) for one evaluation. `rspamd` is the verdicts by reason on
    the rspamd corpus, or None when `../shared` is absent (the block then says so)."""
    outcomes = scores.outcomes
    count = scores.total
    unnumbered = [o for o in outcomes if not o.message.order_numbers]
    tp, fp, fn = scores.handover_counts()
    ignored = len(gate.customers_ignored)
    robots = len(gate.robots)
    lines = [
        BEGIN,
        "<!-- Written by `make eval` (python -m evaluation); edit evaluation/readme.py, not these lines. -->",
        "",
        f"Today: {count} customer messages and {robots} robot and spam mails.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| router category accuracy | {_ratio(sum(o.category_ok for o in outcomes), count)} | ≥ 95% |",
        "| router language accuracy (py3langid, restricted to the six languages) | "
        f"{_ratio(sum(o.language_ok for o in outcomes), count)} | ≥ 98% |",
        f"| order numbers found exactly | {_ratio(sum(o.order_ok for o in outcomes), count)}; none invented: "
        f"{sum(o.order_ok for o in unnumbered)} of {len(unnumbered)} messages without one | |",
        f"| handover precision / recall | {_pct(tp / (tp + fp) if tp + fp else 0)} / "
        f"{_pct(tp / (tp + fn) if tp + fn else 0)} | |",
        f"| holding replies | {_pct(scores.holding_share())} "
        f"({_pct(scores.holding_share(expected_handover=False))} among messages with no handover trigger) | |",
        f"| customers the gatekeeper ignored | {ignored} of {len(gate.customers)} | 0 |",
        f"| robots and spam ignored (partners alerted) | {gate.robots_right} of {robots} | "
        f"≥ {gatekeeper.ROBOT_TARGET:.0%} |",
        "",
    ]
    if rspamd is None:
        lines += [f"{RSPAMD_HEADING} is skipped here: `../shared/corpora/mime/rspamd` is absent.", END]
        return "\n".join(lines)
    lines += [
        f"{RSPAMD_HEADING} (`../shared/corpora/mime/rspamd`, {sum(rspamd.values())} messages, not tuned on,",
        "no labels of ours: most are MIME and header test cases, so PROCESS is not a miss count):",
        "",
        "| verdict | reason | messages |",
        "|---|---|---|",
    ]
    for (verdict, reason), number in sorted(rspamd.items(), key=lambda item: (-item[1], item[0])):
        note = f" ({_REASONS[reason]})" if reason in _REASONS else ""
        lines.append(f"| {verdict} | `{reason}`{note} | {number} |")
    return "\n".join([*lines, END])


def current(path: Path = README) -> str | None:
    """The block the README holds now (markers included), or None when it has none."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def write(new_block: str, path: Path = README) -> bool:
    """Put `new_block` in place of the README's block; True when the README changed. `ReadmeError` when the README
    has no block (the markers were removed): the numbers then go nowhere rather than somewhere unexpected."""
    old = current(path)
    if old is None:
        raise ReadmeError(f"{path} has no '{BEGIN}' ... '{END}' block for the evaluation numbers")
    if old == new_block:
        return False
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new_block, 1), encoding="utf-8")
    return True
