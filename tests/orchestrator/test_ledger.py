"""The ledger on SQLite and PostgreSQL: state machine, claims and leases, records, retries, cursors, mailboxes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.errors import LedgerError, LostClaimError
from orchestrator.ledger import Claim, Ledger, Record
from orchestrator.models import Verdict
from support_testing.clock import HandClock

pytestmark = pytest.mark.anyio

MAILBOX = "default"
START = 1_750_000_000.0
"""Where the ledger tests' clocks start (June 2025)."""


@pytest.fixture
def clock() -> HandClock:
    return HandClock(START)


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a ledger lives: a file in a folder not made yet, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "state" / "ledger.sqlite3"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def ledger(location: str | Path, clock: HandClock) -> AsyncIterator[Ledger]:
    async with Ledger(location, lease_seconds=60, clock=clock) as opened:
        yield opened


async def claim_one(ledger: Ledger, worker: str, mailbox: str = MAILBOX) -> Claim:
    (claim,) = await ledger.claim(mailbox, worker, limit=1)
    return claim


# --- the state machine --------------------------------------------------------------------------------------


async def test_a_message_goes_from_seen_to_claimed_to_drafted_to_done_in_three_commits(
    ledger: Ledger, clock: HandClock
) -> None:
    assert await ledger.record_seen(MAILBOX, ["m1"], ["t1"]) == ["m1"]
    before = ledger.commits
    (claim,) = await ledger.claim(MAILBOX, "w1", limit=5)
    assert (claim.mailbox, claim.message_id, claim.thread_id, claim.worker) == (MAILBOX, "m1", "t1", "w1")
    assert claim.attempts == 1
    assert claim.lease_until == clock.now + 60 and claim.draft_id is None

    record = Record(verdict=Verdict.PROCESS, reason="customer", category="ShippingDelivery", language="es")
    record.confidence, record.engine = 0.9, "offline"
    record.add_tool("lookup_order")
    record.add_tool("lookup_order", error="No order #1021 for ana@example.com (shpat_abc123)")
    record.add_tool("get_policies")
    record.add_usage(1200, 300)
    record.add_usage(800, 100)
    record.add_timing("agent", 1500.5)
    record.add_timing("agent", 499.5)
    record.add_timing("router", 20)
    await ledger.record_draft(claim, draft_id="r-1", draft_message_id="<d1@x>", record=record)
    assert (record.tools, record.tool_errors, record.timings) == ([], [], {})  # written: emptied
    assert (record.tokens_prompt, record.tokens_completion, record.llm_calls) == (0, 0, 0)
    assert record.category == "ShippingDelivery"  # decisions stay: writing them again changes nothing
    clock.advance(5)
    record.add_timing("label", 7.0)
    await ledger.finish(claim, state="done", record=record)
    assert ledger.commits - before == 3

    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None
    assert (entry.mailbox, entry.state, entry.verdict, entry.reason, entry.category) == (
        MAILBOX,
        "done",
        Verdict.PROCESS,
        "customer",
        "ShippingDelivery",
    )
    assert (entry.language, entry.confidence, entry.engine) == ("es", 0.9, "offline")
    assert entry.tools == ("lookup_order", "lookup_order", "get_policies")
    assert entry.tool_errors == (("lookup_order", "No order #1021 for <address> (<secret>)"),)
    assert (entry.tokens_prompt, entry.tokens_completion, entry.llm_calls) == (2000, 400, 2)
    assert entry.timings == {"agent": 2000.0, "router": 20.0, "label": 7.0}
    assert (entry.draft_id, entry.draft_message_id, entry.claimed_by, entry.lease_until) == (
        "r-1",
        "<d1@x>",
        None,
        None,
    )
    assert entry.finished_at == datetime.fromtimestamp(clock.now, UTC)
    assert entry.first_seen_at == datetime.fromtimestamp(clock.now - 5, UTC)
    assert (await ledger.counts_by_state())["done"] == 1
    assert await ledger.get(MAILBOX, "unknown") is None


async def test_ignored_and_alerted_mail_ends_without_a_draft(ledger: Ledger) -> None:
    await ledger.record_seen(MAILBOX, ["spam", "partner"], ["t1", "t2"])
    partner, spam = await ledger.claim(MAILBOX, "w1", limit=2)  # oldest first, then by message id
    assert (partner.message_id, spam.message_id) == ("partner", "spam")
    await ledger.finish(spam, state="ignored", record=Record(verdict=Verdict.IGNORE, reason="header:list-unsubscribe"))
    decided = Record(verdict=Verdict.INTERNAL_ALERT, reason="sender:partner")
    with pytest.raises(ValueError, match="no recorded draft"):
        await ledger.finish(partner, state="done", record=decided)
    await ledger.finish(partner, state="alerted", record=decided)

    counts = await ledger.counts_by_state()
    assert (counts["ignored"], counts["alerted"], counts["new"], counts["needs_human"]) == (1, 1, 0, 0)
    entry = await ledger.get(MAILBOX, "spam")
    assert entry is not None and entry.verdict is Verdict.IGNORE and entry.draft_id is None
    alert = await ledger.get(MAILBOX, "partner")
    assert alert is not None and (alert.verdict, alert.reason) == (Verdict.INTERNAL_ALERT, "sender:partner")
    assert await ledger.claim(MAILBOX, "w2", limit=5) == []
    with pytest.raises(ValueError, match="finish\\(\\) takes done, ignored or alerted"):
        await ledger.finish(spam, state="drafted")  # type: ignore[arg-type]  # the mistake under test


async def test_record_seen_adds_each_message_once_and_leaves_known_ones_alone(ledger: Ledger) -> None:
    assert await ledger.record_seen(MAILBOX, ["a", "b"], ["t", "t"]) == ["a", "b"]
    await ledger.claim(MAILBOX, "w1", limit=1)
    assert await ledger.record_seen(MAILBOX, ["b", "a", "c", "c"], ["t", "t", None, None]) == ["c"]
    entries = {entry.message_id: entry for entry in await ledger.entries()}
    assert {key: (entry.state, entry.attempts) for key, entry in entries.items()} == {
        "a": ("claimed", 1),
        "b": ("new", 0),
        "c": ("new", 0),
    }
    assert entries["c"].thread_id is None
    with pytest.raises(ValueError, match="2 message ids but 1 thread ids"):
        await ledger.record_seen(MAILBOX, ["d", "e"], ["t"])
    with pytest.raises(ValueError, match="a message id is empty"):
        await ledger.record_seen(MAILBOX, [""], ["t"])


async def test_claim_hands_out_drafted_messages_first_and_only_to_be_finished(ledger: Ledger, clock: HandClock) -> None:
    await ledger.record_seen(MAILBOX, ["done", "drafted", "new"], ["t1", "t2", "t3"])
    for message_id in ("done", "drafted"):
        claim = await claim_one(ledger, "w1")
        assert claim.message_id == message_id
        await ledger.record_draft(claim, draft_id=f"r-{message_id}", draft_message_id="<x>", record=Record())
        if message_id == "done":
            await ledger.finish(claim, state="done")

    assert [claim.message_id for claim in await ledger.claim(MAILBOX, "w2", limit=10)] == ["new"]
    clock.advance(3600)  # w1 crashed after drafting: its lease is long gone; w2's too
    first, second = await ledger.claim(MAILBOX, "w3", limit=10)
    assert (first.message_id, first.draft_id, first.draft_message_id, first.attempts) == (
        "drafted",
        "r-drafted",
        "<x>",
        2,
    )
    assert (second.message_id, second.draft_id, second.attempts) == ("new", None, 2)
    assert await ledger.claim(MAILBOX, "w4", limit=10) == []
    await ledger.finish(first, state="done")
    entry = await ledger.get(MAILBOX, "drafted")
    assert entry is not None and (entry.state, entry.draft_id) == ("done", "r-drafted")


async def test_a_crashed_workers_message_goes_to_another_worker_once_its_lease_expires(
    ledger: Ledger, clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="orchestrator.ledger")
    await ledger.record_seen(MAILBOX, ["m1"], ["t1"])
    old = await claim_one(ledger, "w1")
    clock.advance(59)
    assert await ledger.claim(MAILBOX, "w2", limit=1) == []
    renewed = await ledger.renew(old)
    assert renewed.lease_until == clock.now + 60 and renewed.message_id == "m1"
    clock.advance(59)
    assert await ledger.claim(MAILBOX, "w2", limit=1) == []  # renewed: still w1's

    clock.advance(2)
    claim = await claim_one(ledger, "w2")
    assert (claim.message_id, claim.attempts) == ("m1", 2)
    assert "1 messages taken over" in caplog.text
    with pytest.raises(LostClaimError, match="'w1' no longer holds message m1"):
        await ledger.record_draft(renewed, draft_id="r-w1", draft_message_id="<x>", record=Record())
    with pytest.raises(LostClaimError):
        await ledger.renew(renewed)
    await ledger.record_draft(claim, draft_id="r-w2", draft_message_id="<y>", record=Record())
    await ledger.finish(claim, state="done")
    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None and (entry.state, entry.draft_id, entry.attempts) == ("done", "r-w2", 2)


async def test_a_stale_worker_cannot_write_and_its_record_is_kept(ledger: Ledger, clock: HandClock) -> None:
    await ledger.record_seen(MAILBOX, ["m1", "m2"], ["t1", "t2"])
    claim = await claim_one(ledger, "w1")
    clock.advance(61)  # expired, though nobody took it yet
    record = Record(verdict=Verdict.PROCESS, reason="customer")
    record.add_timing("agent", 1.0)
    never_claimed = Claim(MAILBOX, "m2", "t2", "w1", 1, clock.now + 60)
    unknown = Claim(MAILBOX, "nope", None, "w1", 1, clock.now + 60)
    other_mailbox = Claim("aurora", "m1", "t1", "w1", 1, clock.now + 60)
    before = ledger.commits
    for write in (
        ledger.renew(claim),
        ledger.record_draft(claim, draft_id="r", draft_message_id="<x>", record=record),
        ledger.finish(claim, state="ignored", record=record),
        ledger.fail(claim, error="boom", max_attempts=3, backoff=lambda n: 1.0, record=record),
        ledger.finish(never_claimed, state="ignored"),
        ledger.finish(unknown, state="ignored"),
        ledger.finish(other_mailbox, state="ignored"),
    ):
        with pytest.raises(LostClaimError):
            await write
    assert ledger.commits == before
    assert record.timings == {"agent": 1.0}  # nothing was written, so nothing was emptied
    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None and (entry.state, entry.timings, entry.verdict) == ("claimed", {}, None)


async def test_failures_retry_after_the_backoff_then_need_a_human(
    ledger: Ledger, clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestrator.ledger")
    await ledger.record_seen(MAILBOX, ["m1"], ["t1"])
    attempts_seen = []
    for attempt in (1, 2):
        claim = await claim_one(ledger, "w1")
        attempts_seen.append(claim.attempts)
        error = "Gmail answered 503 for ana@example.com\nwith Bearer ya29.secret"
        state = await ledger.fail(claim, error=error, max_attempts=3, backoff=lambda n: 10.0 * n)
        assert state == "failed"
        entry = await ledger.get(MAILBOX, "m1")
        assert entry is not None
        assert entry.next_attempt_at == datetime.fromtimestamp(clock.now + 10 * attempt, UTC)
        assert entry.error == "Gmail answered 503 for <address> with <secret>"
        assert entry.claimed_by is None
        clock.advance(10 * attempt - 1)
        assert await ledger.claim(MAILBOX, "w1", limit=1) == []  # backoff not over
        clock.advance(1)
    claim = await claim_one(ledger, "w2")
    assert [*attempts_seen, claim.attempts] == [1, 2, 3]
    record = Record()
    record.add_tool("lookup_order", error="timeout")
    assert (
        await ledger.fail(claim, error="again", max_attempts=3, backoff=lambda n: 1.0, record=record) == "needs_human"
    )
    clock.advance(10**6)
    assert await ledger.claim(MAILBOX, "w1", limit=1) == []
    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None and (entry.state, entry.error, entry.next_attempt_at) == ("needs_human", "again", None)
    assert entry.tool_errors == (("lookup_order", "timeout"),) and record.tools == []
    assert "needs_human" in caplog.text
    assert "ana@example.com" not in caplog.text and "ya29" not in caplog.text


async def test_a_failure_after_the_draft_retries_only_the_finishing(ledger: Ledger, clock: HandClock) -> None:
    await ledger.record_seen(MAILBOX, ["m1"], ["t1"])
    claim = await claim_one(ledger, "w1")
    await ledger.record_draft(claim, draft_id="r-1", draft_message_id="<x>", record=Record())
    assert await ledger.fail(claim, error="labels failed", max_attempts=2, backoff=lambda n: 30.0) == "drafted"
    assert await ledger.claim(MAILBOX, "w2", limit=1) == []  # backoff not over
    clock.advance(30)
    retry = await claim_one(ledger, "w2")
    assert (retry.draft_id, retry.attempts) == ("r-1", 2)
    with pytest.raises(ValueError, match="already has draft r-1"):
        await ledger.record_draft(retry, draft_id="r-2", draft_message_id="<y>", record=Record())
    await ledger.record_draft(retry, draft_id="r-1", draft_message_id="<x>", record=Record())  # the same: fine
    assert await ledger.fail(retry, error="labels failed", max_attempts=2, backoff=lambda n: 1) == "needs_human"
    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None and (entry.state, entry.draft_id) == ("needs_human", "r-1")


async def test_the_cursor_only_moves_forward_and_survives_a_restart(ledger: Ledger, location: str | Path) -> None:
    assert await ledger.get_cursor(MAILBOX) is None
    assert await ledger.set_cursor(MAILBOX, "100") is True
    assert await ledger.set_cursor(MAILBOX, "99") is False
    assert await ledger.set_cursor(MAILBOX, "100") is False
    assert await ledger.get_cursor(MAILBOX) == "100"
    await ledger.record_seen(MAILBOX, ["m1"], ["t1"], cursor="1500")
    await ledger.record_seen(MAILBOX, ["m2"], ["t2"], cursor="120")
    assert await ledger.get_cursor(MAILBOX) == "1500"
    with pytest.raises(ValueError, match="decimal number"):
        await ledger.set_cursor(MAILBOX, "abc")
    with pytest.raises(ValueError, match="decimal number"):
        await ledger.record_seen(MAILBOX, ["m3"], ["t3"], cursor="-1")
    async with Ledger(location) as reopened:
        assert await reopened.get_cursor(MAILBOX) == "1500"
        assert {entry.message_id for entry in await reopened.entries()} == {"m1", "m2"}


async def test_entries_since_a_time(ledger: Ledger, clock: HandClock) -> None:
    await ledger.record_seen(MAILBOX, ["old"], ["t1"])
    clock.advance(3600)
    await ledger.record_seen(MAILBOX, ["recent"], ["t2"])
    since = datetime.fromtimestamp(clock.now, UTC) - timedelta(minutes=5)
    assert [entry.message_id for entry in await ledger.entries(since)] == ["recent"]
    assert [entry.message_id for entry in await ledger.entries()] == ["old", "recent"]
    with pytest.raises(ValueError, match="timezone-aware"):
        await ledger.entries(datetime(2026, 1, 1))  # naive: the mistake under test


# --- records --------------------------------------------------------------------------------------------------


async def test_a_record_sets_decisions_appends_tools_adds_usage_and_never_counts_twice(ledger: Ledger) -> None:
    await ledger.record_seen(MAILBOX, ["m1"], ["t1"])
    claim = await claim_one(ledger, "w1")
    record = Record(verdict=Verdict.PROCESS, reason="customer", category="PaymentBilling", engine="llm")
    record.add_tool("lookup_order")
    record.add_timing("agent", 100.0)
    record.add_usage(50, 5)
    await ledger.record_draft(claim, draft_id="r-1", draft_message_id="<x>", record=record)
    await ledger.renew(claim)  # a write without a record leaves everything as it is

    record.category = "ShippingDelivery"  # re-routed: set, not appended
    record.add_tool("escalate_ticket", error="ticket service down")
    record.add_tool("escalate_ticket")
    record.add_timing("agent", 10.0)
    record.add_timing("label", 1.25)
    record.add_usage(20, 2, calls=2)
    await ledger.finish(claim, state="done", record=record)
    assert (record.tools, record.tool_errors, record.timings, record.tokens_completion) == ([], [], {}, 0)

    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None
    assert (entry.verdict, entry.category, entry.engine) == (Verdict.PROCESS, "ShippingDelivery", "llm")
    assert entry.tools == ("lookup_order", "escalate_ticket", "escalate_ticket")
    assert entry.tool_errors == (("escalate_ticket", "ticket service down"),)
    assert entry.timings == {"agent": 110.0, "label": 1.25}
    assert (entry.tokens_prompt, entry.tokens_completion, entry.llm_calls) == (70, 7, 3)
    assert (await ledger.stats()).categories[1].avg_ms == pytest.approx(111.25)  # work_ms follows the timings


async def test_an_invalid_record_is_refused_before_anything_is_written(ledger: Ledger) -> None:
    await ledger.record_seen(MAILBOX, ["m1"], ["t1"])
    claim = await claim_one(ledger, "w1")
    long_reason = "x" * 400
    for bad, match in (
        (Record(category="Weather"), "unknown category"),  # type: ignore[arg-type]
        (Record(engine="gpt"), "engine"),  # type: ignore[arg-type]
        (Record(confidence=1.5), "confidence"),
    ):
        bad.add_tool("lookup_order")
        with pytest.raises(ValueError, match=match):
            await ledger.finish(claim, state="ignored", record=bad)
        assert bad.tools == ["lookup_order"]
    await ledger.finish(claim, state="ignored", record=Record(reason=long_reason))
    entry = await ledger.get(MAILBOX, "m1")
    assert entry is not None and entry.tools == () and entry.reason is not None and len(entry.reason) == 300


# --- mailboxes ------------------------------------------------------------------------------------------------


async def test_mailboxes_are_isolated(ledger: Ledger) -> None:
    assert await ledger.mailboxes() == []
    assert await ledger.record_seen("default", ["same", "d2"], ["t1", "t2"], cursor="500") == ["same", "d2"]
    assert await ledger.record_seen("aurora", ["same"], ["t9"], cursor="7") == ["same"]
    await ledger.set_cursor("empty", "1")
    assert await ledger.mailboxes() == ["aurora", "default", "empty"]
    assert (await ledger.get_cursor("default"), await ledger.get_cursor("aurora")) == ("500", "7")
    assert await ledger.set_cursor("aurora", "8") is True and await ledger.get_cursor("default") == "500"

    (aurora,) = await ledger.claim("aurora", "w1", limit=10)
    assert (aurora.mailbox, aurora.message_id, aurora.thread_id) == ("aurora", "same", "t9")
    assert await ledger.claim("aurora", "w1", limit=10) == []
    await ledger.finish(aurora, state="ignored", record=Record(verdict=Verdict.IGNORE, reason="sender:automated"))
    default = await ledger.get("default", "same")
    assert default is not None and (default.state, default.thread_id, default.verdict) == ("new", "t1", None)
    assert (await ledger.counts_by_state("aurora"))["ignored"] == 1
    assert (await ledger.counts_by_state("default"))["new"] == 2
    assert (await ledger.counts_by_state())["new"] == 2
    assert [(e.mailbox, e.message_id) for e in await ledger.entries(mailbox="aurora")] == [("aurora", "same")]
    assert len(await ledger.entries()) == 3
    assert [c.message_id for c in await ledger.claim("default", "w1", limit=10)] == ["d2", "same"]
    with pytest.raises(ValueError, match="mailbox needs a name"):
        await ledger.claim("", "w1", limit=1)


async def test_a_ledger_not_opened_says_so(location: str | Path) -> None:
    with pytest.raises(LedgerError, match="not open"):
        await Ledger(location).claim(MAILBOX, "w1", limit=1)
