"""`support-agent stats`: what the ledger says about a period, as plain-text tables (and `--html FILE`, a page).

The numbers, all computed in SQL by `Ledger.stats` (`ledger_stats`) over the messages updated in the period:

* **time to draft** of a drafted message = the sum of its stage timings (fetch, gatekeeper, router, agent, draft,
  label, … summed over attempts): the work spent on it, without queue waits or retry backoff. A row without timings
  (written before timings existed) falls back to `finished_at - first_seen_at`, wall-clock time that includes waiting.
  Per category: average and p95 (nearest rank: an observed value, ``sorted[ceil(0.95 n) - 1]``).
* **escalation rate** = customer messages (verdict PROCESS) whose tools include `escalate_ticket`, over customer
  messages. Internal alerts open a ticket by design, so they are counted apart (`alerts_escalated`).
* **tool error rate** = failed calls / calls, per tool (a tool called twice counts twice).
* **engine share** = offline vs llm among drafted messages.
* **tokens per message** = average prompt / completion tokens over messages with at least one LLM call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "ESCALATION_TOOL",
    "CategoryStats",
    "Stats",
    "ToolStats",
    "parse_period",
    "render_tables",
]

ESCALATION_TOOL = "escalate_ticket"
ENGINES = ("offline", "llm")
NO_VERDICT = "(none yet)"
TOP_REASONS = 5
_PERIOD = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class CategoryStats:
    """One category: messages routed to it, and time to draft (ms) over those drafted (None when none was)."""

    category: str
    count: int
    drafted: int
    avg_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class ToolStats:
    """One tool: how often it was called and how many of those calls failed."""

    tool: str
    calls: int
    errors: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Stats:
    """The ledger's numbers over a period (`since` None: all time). Mappings are read-only, in display order."""

    since: datetime | None
    total: int
    states: Mapping[str, int]
    """Every ledger state (needs_human included), zeros too."""
    verdicts: Mapping[str, int]
    """Every verdict, zeros too, and `NO_VERDICT` for messages the gatekeeper has not decided yet (if any)."""
    top_reasons: tuple[tuple[str, int], ...]
    """The gatekeeper's most frequent reasons (at most 5), most frequent first."""
    categories: tuple[CategoryStats, ...]
    """The nine categories in their usual order (zeros too), then any other category found in the ledger."""
    processed: int
    """Customer messages: verdict PROCESS."""
    drafted: int
    escalated: int
    """Customer messages whose tools include `escalate_ticket`."""
    alerts_escalated: int
    """Internal alerts (and other non-customer messages) that opened a ticket."""
    tools: tuple[ToolStats, ...]
    """Most called first."""
    engines: Mapping[str, int]
    """Drafted messages per engine: offline, llm (and `unknown` if a draft has no recorded engine)."""
    llm_messages: int
    tokens_prompt: int
    tokens_completion: int
    needs_human: int
    mailboxes: tuple[str, ...] = ()
    """The mailboxes counted: the one asked for, or every mailbox with messages in the period."""

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.processed if self.processed else None

    @property
    def offline_share(self) -> float | None:
        return self.engines.get("offline", 0) / self.drafted if self.drafted else None

    @property
    def avg_tokens_prompt(self) -> float | None:
        return self.tokens_prompt / self.llm_messages if self.llm_messages else None

    @property
    def avg_tokens_completion(self) -> float | None:
        return self.tokens_completion / self.llm_messages if self.llm_messages else None

    @property
    def tool_calls(self) -> int:
        return sum(tool.calls for tool in self.tools)

    @property
    def tool_errors(self) -> int:
        return sum(tool.errors for tool in self.tools)


# --- text ------------------------------------------------------------------------------------------------------


def percent(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def period_text(stats: Stats) -> str:
    return "all time" if stats.since is None else f"since {stats.since.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], *, numbers: bool = True) -> list[str]:
    """An aligned table: the first column left-aligned, the others right-aligned if `numbers`, else left-aligned."""
    cells = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 or not numbers else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [title, line(header), rule, *(line(row) for row in cells[1:]), ""]


def render_tables(stats: Stats) -> str:
    """The numbers as aligned plain-text tables (or one readable line when the period has no messages)."""
    if not stats.total:
        return (
            f"No messages in this period ({period_text(stats)}): try a longer one, e.g. --since 30d or --since all.\n"
        )
    lines = [f"support-agent stats: {stats.total} messages, {period_text(stats)}"]
    if stats.mailboxes:
        lines.append(f"mailboxes: {', '.join(stats.mailboxes)}")
    lines.append("")
    lines += _table(
        "Messages by state",
        ("state", "messages", "share"),
        [(state, str(n), percent(n, stats.total)) for state, n in stats.states.items()],
    )
    lines += _table(
        "Gatekeeper verdicts",
        ("verdict", "messages", "share"),
        [(verdict, str(n), percent(n, stats.total)) for verdict, n in stats.verdicts.items()],
    )
    lines += _table(
        f"Top {TOP_REASONS} gatekeeper reasons",
        ("reason", "messages"),
        [(reason, str(n)) for reason, n in stats.top_reasons] or [("(none)", "0")],
    )
    routed = sum(c.count for c in stats.categories)
    lines += _table(
        "Categories (time to draft = sum of stage timings, ms)",
        ("category", "messages", "share", "drafted", "avg ms", "p95 ms"),
        [
            (c.category, str(c.count), percent(c.count, routed), str(c.drafted), ms(c.avg_ms), ms(c.p95_ms))
            for c in stats.categories
        ],
    )
    lines += _table(
        "Tools",
        ("tool", "calls", "errors", "error rate"),
        [(t.tool, str(t.calls), str(t.errors), percent(t.errors, t.calls)) for t in stats.tools]
        or [("(none)", "0", "0", "—")],
    )
    lines += _table(
        "Drafts by engine",
        ("engine", "drafts", "share"),
        [(engine, str(n), percent(n, stats.drafted)) for engine, n in stats.engines.items()],
    )
    tokens = "no LLM calls"
    if stats.llm_messages:
        tokens = (
            f"{stats.avg_tokens_prompt:,.0f} prompt + {stats.avg_tokens_completion:,.0f} completion on average "
            f"over {stats.llm_messages} messages with LLM calls"
        )
    escalation = "—"
    if stats.processed:
        escalation = f"{percent(stats.escalated, stats.processed)} ({stats.escalated} of {stats.processed})"
    lines += _table(
        "Summary",
        ("measure", "value"),
        [
            ("customer messages (PROCESS)", str(stats.processed)),
            ("reply drafts", str(stats.drafted)),
            ("escalation rate (customer messages)", escalation),
            ("internal alerts with a ticket", str(stats.alerts_escalated)),
            ("tool error rate (all tools)", percent(stats.tool_errors, stats.tool_calls)),
            ("offline-engine share of drafts", "—" if stats.offline_share is None else percent(stats.offline_share, 1)),
            ("tokens per message", tokens),
            ("needs a person (needs_human)", str(stats.needs_human)),
        ],
        numbers=False,
    )
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------------------------


def parse_period(text: str, *, now: datetime | None = None) -> datetime | None:
    """`24h`, `7d`, `2w` (any number of hours, days or weeks) -> the period's start (UTC); `all` -> None."""
    text = text.strip().lower()
    if text == "all":
        return None
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"period {text!r}: use a number of hours, days or weeks (24h, 7d, 30d, 2w) or 'all'")
    amount = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return (now or datetime.now(UTC)) - amount
