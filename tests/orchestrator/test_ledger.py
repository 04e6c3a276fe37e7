"""The ledger: its state machine, claims and leases, retries, the cursor, and safety under concurrency and crashes."""

from __future__ import annotations

import json
import logging
import random
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from orchestrator.errors import LedgerError, LostClaimError
from orchestrator.ledger import Ledger
from orchestrator.models import Verdict

ROOT = Path(__file__).resolve().parents[2]
IDS = [f"m{n:03d}" for n in range(50)]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
async def ledger(path: Path, clock: FakeClock, anyio_backend: str) -> AsyncIterator[Ledger]:
    async with Ledger(path, lease_seconds=60, clock=clock) as opened:
        yield opened


async def claim_one(ledger: Ledger, worker: str) -> str:
    (claim,) = await ledger.claim(worker, limit=1)
    return claim.message_id


# --- the state machine --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_message_goes_from_seen_to_claimed_to_drafted_to_done(ledger: Ledger, clock: FakeClock) -> None:
    assert await ledger.record_seen(["m1"], ["t1"]) == ["m1"]
    (claim,) = await ledger.claim("w1", limit=5)
    assert (claim.message_id, claim.thread_id, claim.worker, claim.attempts) == ("m1", "t1", "w1", 1)
    assert claim.lease_until == clock.now + 60 and claim.draft_id is None

    await ledger.record_decision("m1", "w1", verdict=Verdict.PROCESS, reason="customer")
    await ledger.record_route("m1", "w1", category="ShippingDelivery", language="es", confidence=0.9, engine="llm")
    await ledger.add_tool_call("m1", "w1", "lookup_order")
    await ledger.add_tool_call("m1", "w1", "lookup_order", error="No order #1021 for ana@example.com (shpat_abc123)")
    await ledger.add_tool_call("m1", "w1", "get_policies")
    await ledger.add_usage("m1", "w1", 1200, 300)
    await ledger.add_usage("m1", "w1", 800, 100)
    await ledger.add_timing("m1", "w1", "agent", 1500.5)
    await ledger.add_timing("m1", "w1", "agent", 499.5)
    await ledger.add_timing("m1", "w1", "router", 20)
    await ledger.record_draft("m1", "w1", draft_id="r-1", draft_message_id="<d1@x>", engine="offline")
    assert [entry.message_id for entry in await ledger.pending_drafts()] == ["m1"]
    clock.advance(5)
    await ledger.finish("m1", "w1", state="done")

    entry = await ledger.get("m1")
    assert entry is not None
    assert (entry.state, entry.verdict, entry.reason, entry.category) == (
        "done",
        Verdict.PROCESS,
        "customer",
        "ShippingDelivery",
    )
    assert (entry.language, entry.confidence, entry.engine) == ("es", 0.9, "offline")
    assert entry.tools == ("lookup_order", "lookup_order", "get_policies")
    assert entry.tool_errors == (("lookup_order", "No order #1021 for <address> (<secret>)"),)
    assert (entry.tokens_prompt, entry.tokens_completion, entry.llm_calls) == (2000, 400, 2)
    assert entry.timings == {"agent": 2000.0, "router": 20.0}
    assert (entry.draft_id, entry.draft_message_id, entry.claimed_by, entry.lease_until) == (
        "r-1",
        "<d1@x>",
        None,
        None,
    )
    assert entry.finished_at == datetime.fromtimestamp(clock.now, UTC)
    assert entry.first_seen_at == datetime.fromtimestamp(clock.now - 5, UTC)
    assert await ledger.pending_drafts() == []
    assert (await ledger.counts_by_state())["done"] == 1
    assert await ledger.get("unknown") is None


@pytest.mark.anyio
async def test_ignored_and_alerted_mail_ends_without_a_draft(ledger: Ledger) -> None:
    await ledger.record_seen(["spam", "partner"], ["t1", "t2"])
    await ledger.claim("w1", limit=2)
    await ledger.record_decision("spam", "w1", verdict=Verdict.IGNORE, reason="header:list-unsubscribe")
    await ledger.finish("spam", "w1", state="ignored")
    await ledger.record_decision("partner", "w1", verdict=Verdict.INTERNAL_ALERT, reason="sender:partner")
    with pytest.raises(ValueError, match="no recorded draft"):
        await ledger.finish("partner", "w1", state="done")
    await ledger.finish("partner", "w1", state="alerted")

    counts = await ledger.counts_by_state()
    assert (counts["ignored"], counts["alerted"], counts["new"], counts["needs_human"]) == (1, 1, 0, 0)
    spam = await ledger.get("spam")
    assert spam is not None and spam.verdict is Verdict.IGNORE and spam.draft_id is None
    assert await ledger.claim("w2", limit=5) == []


@pytest.mark.anyio
async def test_record_seen_adds_each_message_once_and_leaves_known_ones_alone(ledger: Ledger) -> None:
    assert await ledger.record_seen(["a", "b"], ["t", "t"]) == ["a", "b"]
    await ledger.claim("w1", limit=1)
    assert await ledger.record_seen(["b", "a", "c", "c"], ["t", "t", None, None]) == ["c"]
    entries = {entry.message_id: entry for entry in await ledger.entries()}
    assert {key: (entry.state, entry.attempts) for key, entry in entries.items()} == {
        "a": ("claimed", 1),
        "b": ("new", 0),
        "c": ("new", 0),
    }
    assert entries["c"].thread_id is None
    with pytest.raises(ValueError, match="2 message ids but 1 thread ids"):
        await ledger.record_seen(["d", "e"], ["t"])


@pytest.mark.anyio
async def test_claim_never_returns_finished_or_drafted_messages(ledger: Ledger, clock: FakeClock) -> None:
    await ledger.record_seen(["done", "drafted", "new"], ["t1", "t2", "t3"])
    for message_id in ("done", "drafted"):
        assert await claim_one(ledger, "w1") == message_id
        await ledger.record_draft(message_id, "w1", draft_id=f"r-{message_id}", draft_message_id="<x>")
    await ledger.finish("done", "w1", state="done")

    assert [claim.message_id for claim in await ledger.claim("w2", limit=10)] == ["new"]
    clock.advance(3600)  # w1 crashed after drafting: its lease is long gone
    assert [claim.message_id for claim in await ledger.claim("w2", limit=10)] == ["new"]

    (resumed,) = await ledger.claim_drafted("w2", limit=10)
    assert (resumed.message_id, resumed.draft_id, resumed.attempts) == ("drafted", "r-drafted", 2)
    assert await ledger.claim_drafted("w3", limit=10) == []
    await ledger.finish("drafted", "w2", state="done")
    entry = await ledger.get("drafted")
    assert entry is not None and (entry.state, entry.draft_id) == ("done", "r-drafted")


@pytest.mark.anyio
async def test_a_crashed_workers_message_goes_to_another_worker_once_its_lease_expires(
    ledger: Ledger, clock: FakeClock
) -> None:
    await ledger.record_seen(["m1"], ["t1"])
    await claim_one(ledger, "w1")
    clock.advance(59)
    assert await ledger.claim("w2", limit=1) == []
    assert await ledger.renew("m1", "w1") == clock.now + 60
    clock.advance(59)
    assert await ledger.claim("w2", limit=1) == []  # renewed: still w1's

    clock.advance(2)
    (claim,) = await ledger.claim("w2", limit=1)
    assert (claim.message_id, claim.attempts) == ("m1", 2)
    with pytest.raises(LostClaimError, match="'w1' no longer holds message m1"):
        await ledger.record_draft("m1", "w1", draft_id="r-w1", draft_message_id="<x>")
    with pytest.raises(LostClaimError):
        await ledger.renew("m1", "w1")
    await ledger.record_draft("m1", "w2", draft_id="r-w2", draft_message_id="<y>")
    await ledger.finish("m1", "w2", state="done")
    entry = await ledger.get("m1")
    assert entry is not None and (entry.state, entry.draft_id, entry.attempts) == ("done", "r-w2", 2)


@pytest.mark.anyio
async def test_a_stale_worker_cannot_write(ledger: Ledger, clock: FakeClock) -> None:
    await ledger.record_seen(["m1", "m2"], ["t1", "t2"])
    await claim_one(ledger, "w1")
    clock.advance(61)  # expired, though nobody took it yet
    writes: list[Callable[[], Awaitable[object]]] = [
        lambda: ledger.add_timing("m1", "w1", "agent", 1.0),
        lambda: ledger.add_usage("m1", "w1", 1, 1),
        lambda: ledger.add_tool_call("m1", "w1", "get_product"),
        lambda: ledger.record_decision("m1", "w1", verdict=Verdict.PROCESS, reason="customer"),
        lambda: ledger.finish("m1", "w1", state="ignored"),
        lambda: ledger.fail("m1", "w1", error="boom", max_attempts=3, backoff=lambda n: 1.0),
        lambda: ledger.add_timing("m2", "w1", "agent", 1.0),  # never claimed
        lambda: ledger.add_timing("nope", "w1", "agent", 1.0),  # unknown
    ]
    for write in writes:
        with pytest.raises(LostClaimError):
            await write()
    entry = await ledger.get("m1")
    assert entry is not None and (entry.state, entry.timings, entry.verdict) == ("claimed", {}, None)


@pytest.mark.anyio
async def test_failures_retry_after_the_backoff_then_need_a_human(
    ledger: Ledger, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestrator.ledger")
    await ledger.record_seen(["m1"], ["t1"])
    attempts_seen = []
    for attempt in (1, 2):
        (claim,) = await ledger.claim("w1", limit=1)
        attempts_seen.append(claim.attempts)
        error = "Gmail answered 503 for ana@example.com\nwith Bearer ya29.secret"
        state = await ledger.fail("m1", "w1", error=error, max_attempts=3, backoff=lambda n: 10.0 * n)
        assert state == "failed"
        entry = await ledger.get("m1")
        assert entry is not None
        assert entry.next_attempt_at == datetime.fromtimestamp(clock.now + 10 * attempt, UTC)
        assert entry.error == "Gmail answered 503 for <address> with <secret>"
        assert entry.claimed_by is None
        clock.advance(10 * attempt - 1)
        assert await ledger.claim("w1", limit=1) == []  # backoff not over
        clock.advance(1)
    (claim,) = await ledger.claim("w2", limit=1)
    assert [*attempts_seen, claim.attempts] == [1, 2, 3]
    assert await ledger.fail("m1", "w2", error="again", max_attempts=3, backoff=lambda n: 1.0) == "needs_human"
    clock.advance(10**6)
    assert await ledger.claim("w1", limit=1) == []
    entry = await ledger.get("m1")
    assert entry is not None and (entry.state, entry.error, entry.next_attempt_at) == ("needs_human", "again", None)
    assert "needs_human" in caplog.text
    assert "ana@example.com" not in caplog.text and "ya29" not in caplog.text


@pytest.mark.anyio
async def test_a_failure_after_the_draft_retries_only_the_finishing(ledger: Ledger, clock: FakeClock) -> None:
    await ledger.record_seen(["m1"], ["t1"])
    await claim_one(ledger, "w1")
    await ledger.record_draft("m1", "w1", draft_id="r-1", draft_message_id="<x>")
    assert await ledger.fail("m1", "w1", error="labels failed", max_attempts=2, backoff=lambda n: 30.0) == "drafted"
    assert await ledger.claim_drafted("w2", limit=1) == []  # backoff not over
    clock.advance(30)
    assert await ledger.claim("w2", limit=1) == []  # never drafted again
    (claim,) = await ledger.claim_drafted("w2", limit=1)
    assert (claim.draft_id, claim.attempts) == ("r-1", 2)
    with pytest.raises(ValueError, match="already has draft r-1"):
        await ledger.record_draft("m1", "w2", draft_id="r-2", draft_message_id="<y>")
    assert await ledger.fail("m1", "w2", error="labels failed", max_attempts=2, backoff=lambda n: 1) == "needs_human"
    entry = await ledger.get("m1")
    assert entry is not None and (entry.state, entry.draft_id) == ("needs_human", "r-1")


@pytest.mark.anyio
async def test_the_cursor_only_moves_forward_and_survives_a_restart(ledger: Ledger, path: Path) -> None:
    assert await ledger.get_cursor() is None
    assert await ledger.set_cursor("100") is True
    assert await ledger.set_cursor("99") is False
    assert await ledger.set_cursor("100") is False
    assert await ledger.get_cursor() == "100"
    await ledger.record_seen(["m1"], ["t1"], cursor="1500")
    await ledger.record_seen(["m2"], ["t2"], cursor="120")
    assert await ledger.get_cursor() == "1500"
    with pytest.raises(ValueError, match="decimal number"):
        await ledger.set_cursor("abc")
    async with Ledger(path) as reopened:
        assert await reopened.get_cursor() == "1500"
        assert {entry.message_id for entry in await reopened.entries()} == {"m1", "m2"}


@pytest.mark.anyio
async def test_entries_since_a_time(ledger: Ledger, clock: FakeClock) -> None:
    await ledger.record_seen(["old"], ["t1"])
    clock.advance(3600)
    await ledger.record_seen(["recent"], ["t2"])
    since = datetime.fromtimestamp(clock.now, UTC) - timedelta(minutes=5)
    assert [entry.message_id for entry in await ledger.entries(since)] == ["recent"]
    assert [entry.message_id for entry in await ledger.entries()] == ["old", "recent"]
    with pytest.raises(ValueError, match="timezone-aware"):
        await ledger.entries(datetime(2026, 1, 1))  # naive: the mistake under test


# --- concurrency ----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_eight_concurrent_tasks_claim_each_message_exactly_once(path: Path) -> None:
    claimed: list[str] = []
    async with Ledger(path) as first, Ledger(path) as second:
        await first.record_seen(IDS, ["t"] * len(IDS))

        async def work(worker: str, ledger: Ledger) -> None:
            while batch := await ledger.claim(worker, limit=3):
                for claim in batch:
                    claimed.append(claim.message_id)
                    await ledger.record_draft(claim.message_id, worker, draft_id=f"r-{worker}", draft_message_id="<x>")
                    await ledger.finish(claim.message_id, worker, state="done")

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tasks:
                for number in range(8):
                    tasks.start_soon(work, f"w{number}", (first, second)[number % 2])
        assert sorted(claimed) == IDS
        assert (await first.counts_by_state())["done"] == len(IDS)


CLAIMING_PROCESS = """
import json, sys, anyio
from pathlib import Path
from orchestrator.ledger import Ledger

async def main():
    worker = sys.argv[2]
    async with Ledger(Path(sys.argv[1])) as ledger:
        print("ready", flush=True)
        sys.stdin.readline()
        claimed = []
        while batch := await ledger.claim(worker, limit=2):
            for claim in batch:
                claimed.append(claim.message_id)
                await ledger.record_draft(claim.message_id, worker, draft_id="r-" + worker, draft_message_id="<x>")
                await ledger.finish(claim.message_id, worker, state="done")
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


@pytest.mark.anyio
async def test_two_processes_claim_each_message_exactly_once(path: Path) -> None:
    async with Ledger(path) as ledger:
        await ledger.record_seen(IDS, ["t"] * len(IDS))
        with anyio.fail_after(25):
            workers = [await start(CLAIMING_PROCESS, str(path), name) for name in ("p1", "p2")]
            try:
                for _, lines in workers:
                    assert await read_line(lines) == "ready"
                for process, _ in workers:
                    assert process.stdin is not None
                    await process.stdin.send(b"go\n")
                results = [json.loads(await read_line(lines)) for _, lines in workers]
                assert [await process.wait() for process, _ in workers] == [0, 0]
            finally:
                for process, _ in workers:
                    if process.returncode is None:
                        process.kill()
                    await process.aclose()
        assert sorted(results[0] + results[1]) == IDS
        assert results[0] and results[1], "both processes should have taken part"
        assert (await ledger.counts_by_state())["done"] == len(IDS)


CRASHING_WORKER = """
import sys, time, anyio
from pathlib import Path
from orchestrator.ledger import Ledger
from orchestrator.models import Verdict

async def main():
    worker, offset = sys.argv[2], float(sys.argv[3])
    async with Ledger(Path(sys.argv[1]), lease_seconds=60, clock=lambda: time.time() + offset) as ledger:
        print("ready", flush=True)
        while batch := await ledger.claim_drafted(worker, limit=1) or await ledger.claim(worker, limit=1):
            message_id = batch[0].message_id
            if batch[0].draft_id is None:
                await ledger.record_decision(message_id, worker, verdict=Verdict.PROCESS, reason="customer")
                for stage in ("fetch", "gatekeeper", "router", "agent"):
                    await ledger.add_timing(message_id, worker, stage, 1.5)
                await ledger.add_tool_call(message_id, worker, "lookup_order")
                await ledger.add_usage(message_id, worker, 100, 20)
                await ledger.record_draft(message_id, worker, draft_id="r-" + worker, draft_message_id="<x>")
            await ledger.add_timing(message_id, worker, "label", 2.0)
            await ledger.finish(message_id, worker, state="done")
            print(message_id, flush=True)
        print("idle", flush=True)
        await anyio.sleep(60)

anyio.run(main)
"""


@pytest.mark.anyio
async def test_a_worker_killed_mid_write_leaves_a_consistent_ledger(path: Path) -> None:
    rng = random.Random(20260509)
    async with Ledger(path) as ledger:
        await ledger.record_seen(IDS, ["t"] * len(IDS))
    rounds = 4
    with anyio.fail_after(25):
        for round_number in range(rounds):
            offset = str(round_number * 120)  # each round's clock is past the previous round's leases
            process, lines = await start(CRASHING_WORKER, str(path), f"k{round_number}", offset)
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

    def check_integrity() -> tuple[str, list[str]]:
        with sqlite3.connect(path) as conn:
            ids = [row[0] for row in conn.execute("SELECT message_id FROM messages ORDER BY message_id")]
            return conn.execute("PRAGMA integrity_check").fetchone()[0], ids

    assert await anyio.to_thread.run_sync(check_integrity) == ("ok", IDS)

    later = Ledger(path, lease_seconds=60, clock=lambda: 1e10)  # every crashed worker's lease has expired
    async with later:
        before = {entry.message_id: entry for entry in await later.entries()}
        drafted = {key: entry.draft_id for key, entry in before.items() if entry.draft_id is not None}
        assert all(entry.state in ("new", "claimed", "drafted", "done") for entry in before.values())
        assert all(entry.draft_id is not None for entry in before.values() if entry.state in ("drafted", "done"))
        assert {entry.message_id for entry in await later.pending_drafts()} <= drafted.keys()
        while batch := await later.claim_drafted("recovery", limit=10):
            for claim in batch:
                await later.finish(claim.message_id, "recovery", state="done")
        while batch := await later.claim("recovery", limit=10):
            for claim in batch:
                assert claim.message_id not in drafted, "a drafted message was handed out to be drafted again"
                await later.record_draft(claim.message_id, "recovery", draft_id="r-recovery", draft_message_id="<x>")
                await later.finish(claim.message_id, "recovery", state="done")
        after = {entry.message_id: entry for entry in await later.entries()}
    assert sorted(after) == IDS
    assert {entry.state for entry in after.values()} == {"done"}
    assert {key: after[key].draft_id for key in drafted} == drafted
    assert any(entry.state != "new" for entry in before.values()), "the killed workers should have made progress"


# --- the file -------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_file_is_private_and_its_folders_are_made(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.sqlite3"
    async with Ledger(path) as ledger:
        await ledger.record_seen(["m1"], ["t1"])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600

    def pragmas() -> tuple[str, int]:
        with sqlite3.connect(path) as conn:
            return conn.execute("PRAGMA journal_mode").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]

    assert await anyio.to_thread.run_sync(pragmas) == ("wal", 1)


@pytest.mark.anyio
async def test_a_corrupt_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    with pytest.raises(LedgerError, match="move it aside") as raised:
        await Ledger(path).open()
    assert str(path) in str(raised.value)


@pytest.mark.anyio
async def test_an_unusable_location_or_newer_schema_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="Cannot create the ledger") as raised:
        await Ledger(blocker / "ledger.sqlite3").open()
    assert str(blocker / "ledger.sqlite3") in str(raised.value)

    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="newer support-agent"):
        await Ledger(newer).open()

    with pytest.raises(LedgerError, match="not open"):
        await Ledger(tmp_path / "unopened.sqlite3").claim("w1", limit=1)
