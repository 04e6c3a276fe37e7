"""The daemon's worker pool on the demo inbox (real stdio servers, Maildir, SQLite ledger): a slot is refilled as
soon as it frees, the hooks see every message, `should_exit` stops the claiming, and a processed message costs at
most three ledger commits (claim, draft, end)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from gmail_mcp.sandbox_mailbox import sandbox_files
from orchestrator.config import AgentConfig, load_config
from orchestrator.daemon import Daemon, Hooks
from orchestrator.inbox_demo import MAILBOX, prepare, specs
from orchestrator.ledger import Claim, Ledger, Record
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ToolServers

pytestmark = pytest.mark.integration

OTHERS_FIRST = 8
"""How many other messages must finish while the slow one waits: more than a batch of four could ever let through."""
SLOW_LIMIT = 60.0
"""The longest the slow message waits for them (a batch barrier never lets them through: the test then fails)."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def config(concurrency: int) -> AgentConfig:
    base = load_config()
    return base.model_copy(update={"daemon": base.daemon.model_copy(update={"concurrency": concurrency})})


class SlowFirst(Pipeline):
    """The real pipeline; the first message it is given is slow (a slow LLM, say): it waits until `OTHERS_FIRST`
    other messages have finished, so the test does not depend on how fast a loaded machine runs the others."""

    slow: str | None = None
    release: anyio.Event | None = None

    async def process(self, claim: Claim, record: Record | None = None) -> Outcome:
        if SlowFirst.slow is None and SlowFirst.release is not None:
            SlowFirst.slow = claim.message_id
            with anyio.move_on_after(SLOW_LIMIT):
                await SlowFirst.release.wait()
        return await super().process(claim, record)


@pytest.mark.anyio
async def test_a_slow_message_does_not_hold_the_others_back(tmp_path: Path) -> None:
    folder = prepare(tmp_path / "sandbox")
    finished: list[str] = []
    started: list[str] = []

    async def on_start(claim: Claim) -> None:
        started.append(claim.message_id)

    async def on_end(claim: Claim, outcome: Outcome | None) -> None:
        assert outcome is not None, claim
        finished.append(claim.message_id)
        if sum(1 for message_id in finished if message_id != SlowFirst.slow) >= OTHERS_FIRST and SlowFirst.release:
            SlowFirst.release.set()

    SlowFirst.slow, SlowFirst.release = None, anyio.Event()
    async with ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
        pipeline = SlowFirst(servers, ledger, config(4), own_address=MAILBOX, worker="pool")
        hooks = Hooks(on_message_start=on_start, on_message_end=on_end)
        daemon = Daemon(servers, ledger, config(4), own_address=MAILBOX, worker="pool", pipeline=pipeline, hooks=hooks)
        await daemon.poll()
        handled = await daemon.work()
    inbox = len(sandbox_files()[0])
    assert handled == inbox == len(finished) == len(started)
    # With a batch barrier (claim four, wait for all four) only the slow message's three batch mates could finish
    # while it waits; a refilled pool keeps the three other slots busy and finishes more than that meanwhile.
    assert finished.index(SlowFirst.slow) >= OTHERS_FIRST, f"other messages waited for the slow one: {finished}"


@pytest.mark.anyio
async def test_a_processed_message_costs_at_most_three_ledger_commits(tmp_path: Path) -> None:
    folder = prepare(tmp_path / "sandbox")
    async with ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
        daemon = Daemon(servers, ledger, config(4), own_address=MAILBOX, worker="commits")
        await daemon.poll()
        before = ledger.commits
        handled = await daemon.work()
        commits = ledger.commits - before
        entries = await ledger.entries()
    drafted = sum(1 for entry in entries if entry.draft_id)
    assert handled == len(entries) and daemon.failures == 0
    # one claim and one end per message (claims may also come in batches: fewer), plus one draft per drafted one
    assert commits <= 2 * handled + drafted <= 3 * handled, (commits, handled, drafted)
    assert all(entry.timings and entry.verdict for entry in entries), "the record travelled with the state changes"
    drafted_entries = [entry for entry in entries if entry.draft_id]
    assert all({"fetch", "router", "agent", "draft", "label"} <= set(e.timings) for e in drafted_entries)


@pytest.mark.anyio
async def test_should_exit_stops_claiming_and_lets_the_messages_in_flight_finish(tmp_path: Path) -> None:
    folder = prepare(tmp_path / "sandbox")
    async with ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
        daemon = Daemon(servers, ledger, config(2), own_address=MAILBOX, worker="exit")

        async def stop_after_first(claim: Claim, outcome: Outcome | None) -> None:
            daemon.should_exit = True

        daemon.hooks = Hooks(on_message_end=stop_after_first)
        await daemon.poll()
        handled = await daemon.work()
        counts = await ledger.counts_by_state("default")
    assert handled == 2  # the two in flight when the flag was set, no more
    assert counts["claimed"] == 0 and counts["new"] == len(sandbox_files()[0]) - 2


@pytest.mark.anyio
async def test_run_keeps_the_poll_interval_for_a_mailbox_that_cannot_watch_for_mail(tmp_path: Path) -> None:
    """A Maildir answers a poll that asks to wait at once (`waited` false): after the first listing and one quiet
    poll that shows it, `run_forever` sleeps the whole poll interval instead of polling again and again."""
    from orchestrator.runner import run_forever

    folder = prepare(tmp_path / "sandbox")
    polls: list[float] = []
    second = anyio.Event()

    async def on_poll(new: int, error: Exception | None) -> None:
        assert error is None, error
        polls.append(anyio.current_time())
        if len(polls) == 2:
            second.set()

    stop = anyio.Event()
    hooks = Hooks(on_poll=on_poll)
    async with ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
        daemon = Daemon(servers, ledger, config(4), own_address=MAILBOX, worker="interval", hooks=hooks)
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_forever(daemon, poll_interval=600, grace_period=5, stop=stop))
            with anyio.fail_after(120):
                await second.wait()
            await anyio.sleep(2)  # twice the short pause a watching mailbox gets: a third poll would come by now
            stop.set()
    assert len(polls) == 2, f"polled {len(polls)} times in a 600 s interval"
    assert daemon.watches is False, "the second poll asked to wait and was answered at once"
