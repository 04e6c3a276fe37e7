"""The ledger under concurrency, on SQLite and PostgreSQL: many claimers in one process, several processes, and
workers killed mid-write; a message is never handed to two live workers."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from orchestrator.ledger import Ledger, Record
from tests.orchestrator.test_ledger import MAILBOX

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
IDS = [f"m{n:03d}" for n in range(60)]


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


async def test_sixteen_concurrent_claimers_take_each_message_exactly_once(location: str) -> None:
    claimed: list[str] = []
    async with Ledger(location) as first, Ledger(location) as second:
        await first.record_seen(MAILBOX, IDS, ["t"] * len(IDS))
        await first.record_seen("other", IDS[:5], ["t"] * 5)

        async def work(worker: str, ledger: Ledger) -> None:
            while batch := await ledger.claim(MAILBOX, worker, limit=3):
                for claim in batch:
                    claimed.append(claim.message_id)
                    await ledger.record_draft(claim, draft_id=f"r-{worker}", draft_message_id="<x>", record=Record())
                    await ledger.finish(claim, state="done")

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tasks:
                for number in range(16):
                    tasks.start_soon(work, f"w{number}", (first, second)[number % 2])
        assert sorted(claimed) == IDS
        assert (await first.counts_by_state(MAILBOX))["done"] == len(IDS)
        assert (await first.counts_by_state("other"))["new"] == 5
        entries = await first.entries(mailbox=MAILBOX)
        assert all(entry.attempts == 1 for entry in entries), "a message was claimed twice"
        assert first.commits + second.commits >= 2 * len(IDS) + 1


CLAIMING_PROCESS = """
import json, sys, anyio
from orchestrator.ledger import Ledger, Record

async def main():
    worker = sys.argv[2]
    async with Ledger(sys.argv[1]) as ledger:
        print("ready", flush=True)
        sys.stdin.readline()
        claimed = []
        while batch := await ledger.claim("default", worker, limit=2):
            for claim in batch:
                claimed.append(claim.message_id)
                await ledger.record_draft(claim, draft_id="r-" + worker, draft_message_id="<x>", record=Record())
                await ledger.finish(claim, state="done")
            await anyio.sleep(0.002)
        print(json.dumps(claimed), flush=True)

anyio.run(main)
"""


async def start(code: str, *args: str) -> tuple[Process, BufferedByteReceiveStream]:
    process = await anyio.open_process(
        [sys.executable, "-c", code, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
    )
    assert process.stdout is not None
    return process, BufferedByteReceiveStream(process.stdout)


async def read_line(lines: BufferedByteReceiveStream) -> str:
    return (await lines.receive_until(b"\n", 1_000_000)).decode()


async def test_three_processes_claim_each_message_exactly_once(location: str) -> None:
    async with Ledger(location) as ledger:
        await ledger.record_seen(MAILBOX, IDS, ["t"] * len(IDS))
        with anyio.fail_after(60):
            workers = [await start(CLAIMING_PROCESS, location, name) for name in ("p1", "p2", "p3")]
            try:
                for _, lines in workers:
                    assert await read_line(lines) == "ready"
                for process, _ in workers:
                    assert process.stdin is not None
                    await process.stdin.send(b"go\n")
                results = [json.loads(await read_line(lines)) for _, lines in workers]
                assert [await process.wait() for process, _ in workers] == [0, 0, 0]
            finally:
                for process, _ in workers:
                    if process.returncode is None:
                        process.kill()
                    await process.aclose()
        assert sorted(mid for result in results for mid in result) == IDS
        assert sum(1 for result in results if result) >= 2, "the processes should have shared the work"
        assert (await ledger.counts_by_state())["done"] == len(IDS)


CRASHING_WORKER = """
import sys, time, anyio
from orchestrator.ledger import Ledger, Record
from orchestrator.models import Verdict

async def main():
    worker, offset = sys.argv[2], float(sys.argv[3])
    async with Ledger(sys.argv[1], lease_seconds=60, clock=lambda: time.time() + offset) as ledger:
        print("ready", flush=True)
        while batch := await ledger.claim("default", worker, limit=1):
            claim = batch[0]
            record = Record(verdict=Verdict.PROCESS, reason="customer")
            if claim.draft_id is None:
                for stage in ("fetch", "gatekeeper", "router", "agent"):
                    record.add_timing(stage, 1.5)
                record.add_tool("lookup_order")
                record.add_usage(100, 20)
                await ledger.record_draft(claim, draft_id="r-" + worker, draft_message_id="<x>", record=record)
            record.add_timing("label", 2.0)
            await ledger.finish(claim, state="done", record=record)
            print(claim.message_id, flush=True)
        print("idle", flush=True)
        await anyio.sleep(60)

anyio.run(main)
"""


async def test_a_worker_killed_mid_write_leaves_a_consistent_ledger(location: str) -> None:
    rng = random.Random(20260509)
    async with Ledger(location) as ledger:
        await ledger.record_seen(MAILBOX, IDS, ["t"] * len(IDS))
    with anyio.fail_after(60):
        for round_number in range(4):
            offset = str(round_number * 120)  # each round's clock is past the previous round's leases
            process, lines = await start(CRASHING_WORKER, location, f"k{round_number}", offset)
            try:
                assert await read_line(lines) == "ready"
                for _ in range(rng.randint(2, 8)):
                    if await read_line(lines) == "idle":
                        break
                await anyio.sleep(rng.random() * 0.01)
                process.send_signal(signal.SIGKILL)
                assert await process.wait() == -signal.SIGKILL
            finally:
                await process.aclose()

    if not location.startswith("postgresql"):

        def integrity() -> str:
            with sqlite3.connect(location) as conn:
                return str(conn.execute("PRAGMA integrity_check").fetchone()[0])

        assert await anyio.to_thread.run_sync(integrity) == "ok"

    later = Ledger(location, lease_seconds=60, clock=lambda: 1e10)  # every crashed worker's lease has expired
    async with later:
        before = {entry.message_id: entry for entry in await later.entries()}
        assert sorted(before) == IDS
        drafted = {key: entry.draft_id for key, entry in before.items() if entry.draft_id is not None}
        assert all(entry.state in ("new", "claimed", "drafted", "done") for entry in before.values())
        assert all(entry.draft_id is not None for entry in before.values() if entry.state in ("drafted", "done"))
        for entry in before.values():  # a record is all or nothing: the draft's tools and tokens came with it
            assert (entry.tools == ("lookup_order",)) == (entry.draft_id is not None), entry
            assert entry.tokens_prompt == (100 if entry.draft_id else 0)
        while batch := await later.claim(MAILBOX, "recovery", limit=10):
            for claim in batch:
                if claim.draft_id is None:
                    assert claim.message_id not in drafted, "a drafted message was handed out to be drafted again"
                    await later.record_draft(claim, draft_id="r-recovery", draft_message_id="<x>", record=Record())
                await later.finish(claim, state="done")
        after = {entry.message_id: entry for entry in await later.entries()}
    assert {entry.state for entry in after.values()} == {"done"}
    assert {key: after[key].draft_id for key in drafted} == drafted
    assert any(entry.state != "new" for entry in before.values()), "the killed workers should have made progress"
