"""Prometheus metrics of the daemon and the HTTP API, read from each processed message's ledger entry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from orchestrator.ledger import Ledger, LedgerEntry

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
FINAL_STATES = frozenset({"done", "ignored", "alerted", "needs_human"})
"""A message in one of these states is counted once: the ledger's per-message totals are final."""
RETRY_STATES = frozenset({"failed", "drafted"})
"""After a failed attempt the message waits in one of these states for its retry."""
DRAFT_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Counters and histograms named `support_agent_*` in a registry of their own (tests build many), labelled
    with the mailbox for everything counted per message.

    `observe(ledger, mailbox, message_id)` (or `count(entry)`, as `serve`'s daemon hook does) counts a message
    once it reaches a final state (done, ignored, alerted, needs_human), with the ledger's totals over all its
    attempts; a failed attempt that will be retried counts as a retry.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "support_agent_messages",
            "Messages finished, by gatekeeper verdict, category and final state",
            ["mailbox", "verdict", "category", "state"],
            registry=r,
        )
        self.time_to_draft = Histogram(
            "support_agent_time_to_draft_seconds",
            "Processing time of a drafted message (sum of its stage timings over all attempts), by category",
            ["mailbox", "category"],
            buckets=DRAFT_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "support_agent_stage_seconds",
            "Time spent per message in each pipeline stage (fetch, gatekeeper, router, agent, draft, label, ...)",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.llm_calls = Counter(
            "support_agent_llm_calls", "LLM calls made for finished messages", ["mailbox"], registry=r
        )
        self.llm_tokens = Counter(
            "support_agent_llm_tokens", "LLM tokens used for finished messages", ["mailbox", "kind"], registry=r
        )
        self.tool_calls = Counter(
            "support_agent_tool_calls", "MCP tool calls, by tool", ["mailbox", "tool"], registry=r
        )
        self.tool_errors = Counter(
            "support_agent_tool_errors", "MCP tool calls that failed, by tool", ["mailbox", "tool"], registry=r
        )
        self.escalations = Counter("support_agent_escalations", "Escalation tickets opened", ["mailbox"], registry=r)
        self.retries = Counter(
            "support_agent_retries", "Failed attempts that will be retried later", ["mailbox"], registry=r
        )
        self.needs_human = Counter(
            "support_agent_needs_human",
            "Messages given up after their last attempt (labelled for a person)",
            ["mailbox"],
            registry=r,
        )
        self.chat_requests = Counter(
            "support_agent_chat_requests", "POST /chat requests, by HTTP status", ["status"], registry=r
        )

    async def observe(self, ledger: Ledger, mailbox: str, message_id: str) -> None:
        """Count the message's ledger entry (see the class)."""
        entry = await ledger.get(mailbox, message_id)
        if entry is not None:
            self.count(entry)

    def count(self, entry: LedgerEntry) -> None:
        """Update the metrics from one entry just after an attempt on it ended."""
        box = entry.mailbox
        if entry.state in RETRY_STATES and entry.error:
            self.retries.labels(mailbox=box).inc()
            return
        if entry.state not in FINAL_STATES:
            return  # claimed by another worker in between, for example: that worker counts it
        verdict = entry.verdict.value if entry.verdict else "none"
        category = entry.category or "none"
        self.messages.labels(mailbox=box, verdict=verdict, category=category, state=entry.state).inc()
        if entry.state == "needs_human":
            self.needs_human.labels(mailbox=box).inc()
        if entry.state == "done" and entry.draft_id:
            self.time_to_draft.labels(mailbox=box, category=category).observe(sum(entry.timings.values()) / 1000)
        for stage, ms in entry.timings.items():
            self.stage.labels(stage=stage).observe(ms / 1000)
        if entry.llm_calls:
            self.llm_calls.labels(mailbox=box).inc(entry.llm_calls)
        self.llm_tokens.labels(mailbox=box, kind="prompt").inc(entry.tokens_prompt)
        self.llm_tokens.labels(mailbox=box, kind="completion").inc(entry.tokens_completion)
        failed: dict[str, int] = {}
        for tool, _error in entry.tool_errors:
            self.tool_errors.labels(mailbox=box, tool=tool).inc()
            failed[tool] = failed.get(tool, 0) + 1
        for tool in entry.tools:
            self.tool_calls.labels(mailbox=box, tool=tool).inc()
        escalations = entry.tools.count("escalate_ticket") - failed.get("escalate_ticket", 0)
        if escalations > 0:
            self.escalations.labels(mailbox=box).inc(escalations)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
