"""The ledger's value types: states, the `Claim` a worker holds, the `LedgerEntry` it reads, the `Record` it writes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from orchestrator.models import CATEGORIES, Category, Verdict

__all__ = [
    "STATES",
    "Claim",
    "Engine",
    "FinalState",
    "LedgerEntry",
    "Record",
    "State",
    "clean",
    "tool_rows",
]

State = Literal["new", "claimed", "drafted", "done", "ignored", "alerted", "failed", "needs_human"]
STATES: tuple[State, ...] = ("new", "claimed", "drafted", "done", "ignored", "alerted", "failed", "needs_human")
FinalState = Literal["done", "ignored", "alerted"]
Engine = Literal["llm", "offline"]

_SECRET = re.compile(r"\b(?:shp(?:at|ca|ss|pa)_|sk-)[\w-]+|\b(?:Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def clean(text: str, limit: int = 1000) -> str:
    """One line of error text without tokens or email addresses, at most `limit` characters."""
    text = " ".join(_ADDRESS.sub("<address>", _SECRET.sub("<secret>", text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Claim:
    """A message of `mailbox` a worker owns until `lease_until` (clock seconds); `renew` the lease for long work."""

    mailbox: str
    message_id: str
    thread_id: str | None
    worker: str
    attempts: int
    """Claims so far, this one included; above 1, look for an earlier attempt's draft marker before drafting."""
    lease_until: float
    draft_id: str | None = None
    """Set when the draft already exists (a crash or failure after it): only labels, mark-read and `finish` remain."""
    draft_message_id: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One message's row: where it is in the state machine, what was decided, and what it cost."""

    mailbox: str
    message_id: str
    thread_id: str | None
    state: State
    attempts: int
    claimed_by: str | None
    lease_until: datetime | None
    next_attempt_at: datetime | None
    verdict: Verdict | None
    reason: str | None
    category: Category | None
    language: str | None
    confidence: float | None
    engine: Engine | None
    tools: tuple[str, ...]
    """Tool names in the order they were called (a name repeats when called again)."""
    tool_errors: tuple[tuple[str, str], ...]
    """(tool, error text) for each failed tool call, in order."""
    timings: dict[str, float]
    """Stage (fetch, gatekeeper, router, agent, draft, label, …) to milliseconds, summed over attempts."""
    tokens_prompt: int
    tokens_completion: int
    llm_calls: int
    error: str | None
    draft_id: str | None
    draft_message_id: str | None
    first_seen_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass
class Record:
    """What one attempt learnt, carried by the pipeline and written with the claim's next state change.

    The decision and route fields are set (a later write overwrites them with any non-None value); tools, tool
    errors, timings and tokens accumulate here and are added to the row, after which the ledger empties them, so
    the next write adds only what is new.
    """

    verdict: Verdict | None = None
    reason: str | None = None
    category: Category | None = None
    language: str | None = None
    confidence: float | None = None
    engine: Engine | None = None
    tools: list[str] = field(default_factory=list)
    tool_errors: list[tuple[str, str]] = field(default_factory=list)
    """(tool, error text) for each failed call; the call itself is in `tools` too."""
    timings: dict[str, float] = field(default_factory=dict)
    """Stage to milliseconds."""
    tokens_prompt: int = 0
    tokens_completion: int = 0
    llm_calls: int = 0

    def add_timing(self, stage: str, ms: float) -> None:
        """Add `ms` milliseconds to a stage (fetch, gatekeeper, router, agent, draft, label, …)."""
        self.timings[stage] = self.timings.get(stage, 0.0) + ms

    def add_tool(self, tool: str, error: str | None = None) -> None:
        """A tool call, and its error text if it failed."""
        self.tools.append(tool)
        if error is not None:
            self.tool_errors.append((tool, error))

    def add_usage(self, prompt: int, completion: int, calls: int = 1) -> None:
        """One LLM call's (or `calls` calls') token counts."""
        self.tokens_prompt += prompt
        self.tokens_completion += completion
        self.llm_calls += calls

    def check(self) -> None:
        """Raise ValueError for a route the ledger must not store (unknown category or engine, odd confidence)."""
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"invalid route: unknown category {self.category!r}")
        if self.engine is not None and self.engine not in ("llm", "offline"):
            raise ValueError(f"invalid route: engine {self.engine!r} (llm or offline)")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"invalid route: confidence {self.confidence!r} is not between 0 and 1")
        if self.verdict is not None:
            Verdict(self.verdict)

    def written(self) -> None:
        """Empty the accumulating parts once they are in the ledger."""
        self.tools.clear()
        self.tool_errors.clear()
        self.timings.clear()
        self.tokens_prompt = self.tokens_completion = self.llm_calls = 0


def tool_rows(tools: list[str], errors: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """(tool, error or None) per call, in call order: each error goes to the first call of its tool without one
    (an error for a tool not in `tools` is a call of its own, at the end). Error texts are cleaned."""
    rows: list[tuple[str, str | None]] = [(tool, None) for tool in tools]
    for tool, error in errors:
        free = next((i for i, (name, taken) in enumerate(rows) if name == tool and taken is None), None)
        if free is None:
            rows.append((tool, clean(error, 500)))
        else:
            rows[free] = (tool, clean(error, 500))
    return rows
