"""Metrics from ledger entries: each message counted once at its final state, retries as they happen."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from orchestrator.ledger import LedgerEntry
from orchestrator.metrics import Metrics
from orchestrator.models import Verdict

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VERDICT = next(iter(Verdict))


def entry(**changes: object) -> LedgerEntry:
    base = LedgerEntry(
        mailbox="aurora",
        message_id="m1",
        thread_id="t1",
        state="done",
        attempts=1,
        claimed_by=None,
        lease_until=None,
        next_attempt_at=None,
        verdict=VERDICT,
        reason="customer",
        category="OrderPlacementStatus",
        language="en",
        confidence=0.9,
        engine="llm",
        tools=("lookup_order", "escalate_ticket", "lookup_order"),
        tool_errors=(("lookup_order", "No order #9999"),),
        timings={"fetch": 100.0, "router": 400.0, "agent": 1500.0},
        tokens_prompt=1200,
        tokens_completion=300,
        llm_calls=3,
        error=None,
        draft_id="d1",
        draft_message_id="<d1@example>",
        first_seen_at=NOW,
        updated_at=NOW,
        finished_at=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    parsed = text_string_to_metric_families(metrics.render().decode())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in parsed for s in family.samples}


def test_a_drafted_message_is_counted_with_its_timings_tokens_and_tools() -> None:
    metrics = Metrics()
    metrics.count(entry())
    found = samples(metrics)
    box = ("mailbox", "aurora")
    labels = (("category", "OrderPlacementStatus"), box, ("state", "done"), ("verdict", VERDICT.value))
    assert found[("support_agent_messages_total", labels)] == 1
    assert found[("support_agent_time_to_draft_seconds_count", (("category", "OrderPlacementStatus"), box))] == 1
    assert found[("support_agent_time_to_draft_seconds_sum", (("category", "OrderPlacementStatus"), box))] == 2.0
    assert found[("support_agent_stage_seconds_sum", (("stage", "agent"),))] == 1.5
    assert found[("support_agent_llm_calls_total", (box,))] == 3
    assert found[("support_agent_llm_tokens_total", (("kind", "prompt"), box))] == 1200
    assert found[("support_agent_llm_tokens_total", (("kind", "completion"), box))] == 300
    assert found[("support_agent_tool_calls_total", (box, ("tool", "lookup_order")))] == 2
    assert found[("support_agent_tool_errors_total", (box, ("tool", "lookup_order")))] == 1
    assert found[("support_agent_escalations_total", (box,))] == 1
    assert ("support_agent_needs_human_total", (box,)) not in found


def test_a_failed_attempt_is_a_retry_and_the_final_state_counts_once() -> None:
    metrics = Metrics()
    metrics.count(entry(state="failed", error="ToolCallError: Shopify is down", draft_id=None))
    metrics.count(entry(state="claimed"))  # another worker holds it: that worker counts it
    metrics.count(entry(state="needs_human", error="ToolCallError: Shopify is down", draft_id=None))
    found = samples(metrics)
    assert found[("support_agent_retries_total", (("mailbox", "aurora"),))] == 1
    assert found[("support_agent_needs_human_total", (("mailbox", "aurora"),))] == 1
    total = sum(v for (name, _), v in found.items() if name == "support_agent_messages_total")
    assert total == 1
    assert not any(name == "support_agent_time_to_draft_seconds_count" for name, _ in found)


def test_each_mailbox_has_its_own_series() -> None:
    metrics = Metrics()
    metrics.count(entry())
    metrics.count(entry(mailbox="borealis", message_id="m1", llm_calls=1))
    found = samples(metrics)
    assert found[("support_agent_llm_calls_total", (("mailbox", "aurora"),))] == 3
    assert found[("support_agent_llm_calls_total", (("mailbox", "borealis"),))] == 1
    per_mailbox = {
        dict(labels)["mailbox"]: value
        for (name, labels), value in found.items()
        if name == "support_agent_messages_total"
    }
    assert per_mailbox == {"aurora": 1, "borealis": 1}


def test_registries_are_independent() -> None:
    first, second = Metrics(), Metrics()
    first.count(entry())
    assert samples(first)[("support_agent_llm_calls_total", (("mailbox", "aurora"),))] == 3
    assert ("support_agent_llm_calls_total", (("mailbox", "aurora"),)) not in samples(second)
