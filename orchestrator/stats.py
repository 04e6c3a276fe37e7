"""`support-agent stats`: what the ledger says about a period, as plain-text tables (and `--html FILE`, a page).

The numbers, all computed from `LedgerEntry` rows by `compute`:

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

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from orchestrator.ledger_schema import STATES, LedgerEntry
from orchestrator.models import CATEGORIES, Verdict

__all__ = [
    "ESCALATION_TOOL",
    "CategoryStats",
    "Stats",
    "ToolStats",
    "compute",
    "parse_period",
    "render_tables",
    "time_to_draft_ms",
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


def time_to_draft_ms(entry: LedgerEntry) -> float | None:
    """The sum of the entry's stage timings; without timings, finished_at - first_seen_at; None if neither is known."""
    if entry.timings:
        return float(sum(entry.timings.values()))
    if entry.finished_at is not None:
        return max(0.0, (entry.finished_at - entry.first_seen_at).total_seconds() * 1000)
    return None


def p95(values: Sequence[float]) -> float | None:
    """The nearest-rank 95th percentile (an observed value; the maximum for fewer than 20 values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def compute(entries: Iterable[LedgerEntry], *, since: datetime | None = None) -> Stats:
    """Every number `stats` shows, from ledger entries (those of the period starting at `since`)."""
    entries = list(entries)
    states = Counter(e.state for e in entries)
    verdicts = Counter(e.verdict.value if e.verdict is not None else NO_VERDICT for e in entries)
    reasons = Counter(e.reason for e in entries if e.reason)
    drafted = [e for e in entries if e.draft_id is not None]
    customers = [e for e in entries if e.verdict == Verdict.PROCESS]

    routed: Counter[str] = Counter(e.category for e in entries if e.category)
    timings: dict[str, list[float]] = {}
    for entry in drafted:
        ms = time_to_draft_ms(entry)
        if entry.category and ms is not None:
            timings.setdefault(entry.category, []).append(ms)
    names = [*CATEGORIES, *sorted(set(routed) - set(CATEGORIES))]
    categories = tuple(
        CategoryStats(
            category=name,
            count=routed.get(name, 0),
            drafted=len(timings.get(name, [])),
            avg_ms=sum(timings[name]) / len(timings[name]) if timings.get(name) else None,
            p95_ms=p95(timings.get(name, [])),
        )
        for name in names
    )

    calls = Counter(tool for e in entries for tool in e.tools)
    errors = Counter(tool for e in entries for tool, _ in e.tool_errors)
    tools = tuple(
        ToolStats(tool, calls.get(tool, 0), errors.get(tool, 0))
        for tool in sorted(set(calls) | set(errors), key=lambda t: (-calls.get(t, 0), t))
    )

    engines: Counter[str] = Counter(e.engine or "unknown" for e in drafted)
    llm = [e for e in entries if e.llm_calls > 0]
    verdict_names = [v.value for v in Verdict] + ([NO_VERDICT] if verdicts.get(NO_VERDICT) else [])
    return Stats(
        since=since,
        total=len(entries),
        states=MappingProxyType({state: states.get(state, 0) for state in STATES}),
        verdicts=MappingProxyType({name: verdicts.get(name, 0) for name in verdict_names}),
        top_reasons=tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]),
        categories=categories,
        processed=len(customers),
        drafted=len(drafted),
        escalated=sum(1 for e in customers if ESCALATION_TOOL in e.tools),
        alerts_escalated=sum(1 for e in entries if e.verdict != Verdict.PROCESS and ESCALATION_TOOL in e.tools),
        tools=tools,
        engines=MappingProxyType(
            {name: engines.get(name, 0) for name in [*ENGINES, *sorted(set(engines) - set(ENGINES))]}
        ),
        llm_messages=len(llm),
        tokens_prompt=sum(e.tokens_prompt for e in llm),
        tokens_completion=sum(e.tokens_completion for e in llm),
        needs_human=states.get("needs_human", 0),
    )


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
    lines = [f"support-agent stats: {stats.total} messages, {period_text(stats)}", ""]
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
        [(t.tool, str(t.calls), str(t.errors), percent(t.errors, t.calls)) for t in stats.tools] or [("(none)", "0")],
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
