"""Benchmark 6: scaling out. The ledger's two backends side by side, and several worker processes on one inbox.

Part 1: the real daemon in this process over generated mail (as benchmark 1: emulators in their own process, real
stdio MCP servers), with the ledger in a SQLite file or in PostgreSQL, at concurrency 1 and 16, with an
instant LLM (the ledger's cost shows) and a 1 s LLM (the pool's concurrency shows). Part 2: 1, 2 and 4 worker
processes (`bench.scale_worker`, each with its own stdio servers) started at the same moment on one mailbox and
one PostgreSQL ledger. PostgreSQL is a throw-away server on loopback (`support_testing.postgres`, fsync off).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from bench.harness import AgentRun, run_agent
from bench.peers import peers_process
from bench.report import Section
from support_testing.postgres import PostgresServer, find_binaries, postgres_server

# (backend, concurrency, LLM latency s, messages)
FULL: list[tuple[str, int, float, int]] = [
    ("sqlite", 1, 0.0, 100),
    ("postgresql", 1, 0.0, 100),
    ("sqlite", 16, 0.0, 200),
    ("postgresql", 16, 0.0, 200),
    ("sqlite", 1, 1.0, 22),
    ("postgresql", 1, 1.0, 22),
    ("sqlite", 16, 1.0, 200),
    ("postgresql", 16, 1.0, 200),
]
QUICK: list[tuple[str, int, float, int]] = [
    ("sqlite", 1, 0.0, 22),
    ("postgresql", 1, 0.0, 22),
    ("sqlite", 16, 1.0, 44),
    ("postgresql", 16, 1.0, 44),
    ("sqlite", 1, 1.0, 22),
]
PROCESSES = (1, 2, 4)
PROCESS_CONCURRENCY = 4
PROCESS_LATENCY = 0.3


async def in_process(pg: PostgresServer, backend: str, concurrency: int, latency: float, messages: int) -> AgentRun:
    async with peers_process(messages, latency) as (urls, pid):
        with tempfile.TemporaryDirectory(prefix="bench-scale-out-") as tmp:
            location = pg.create_database() if backend == "postgresql" else None
            return await run_agent(
                Path(tmp), urls, concurrency=concurrency, exclude_pids=(pid,), ledger_location=location
            )


async def worker_processes(pg: PostgresServer, count: int, messages: int) -> tuple[float, list[dict[str, object]]]:
    """`count` worker processes on one mailbox and one PostgreSQL ledger: (wall s from the start signal, results)."""
    async with peers_process(messages, PROCESS_LATENCY) as (urls, _pid):
        ledger = pg.create_database()
        processes: list[anyio.abc.Process] = []
        streams: list[BufferedByteReceiveStream] = []
        try:
            for index in range(count):
                command = [sys.executable, "-m", "bench.scale_worker", "--urls", json.dumps(urls), "--ledger", ledger]
                command += ["--concurrency", str(PROCESS_CONCURRENCY), "--worker", f"w{index}"]
                process = await anyio.open_process(command, stderr=None)
                assert process.stdout is not None
                processes.append(process)
                streams.append(BufferedByteReceiveStream(process.stdout))
            for stream in streams:
                assert (await stream.receive_until(b"\n", 65536)) == b"ready"
            started = time.perf_counter()
            for process in processes:
                assert process.stdin is not None
                await process.stdin.send(b"go\n")
            results = [json.loads(await stream.receive_until(b"\n", 65536)) for stream in streams]
            wall = time.perf_counter() - started
        finally:
            for process in processes:
                with anyio.move_on_after(10):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
    return wall, results


async def run(quick: bool = False) -> Section:
    section = Section(
        "6. Scaling out: SQLite and PostgreSQL ledgers, worker processes",
        "Part 1: the daemon in one process over generated mail (the sandbox inbox cycled; emulators in their own "
        "process, real gmail-mcp and shopify-mcp over stdio) with its ledger in a SQLite file or in PostgreSQL. "
        "Commits = ledger write transactions (poll, claims, draft, end) ÷ messages. Part 2: N worker processes, "
        f"each with its own stdio servers and concurrency {PROCESS_CONCURRENCY}, started at one signal on one "
        f"mailbox and one PostgreSQL ledger, LLM latency {PROCESS_LATENCY * 1000:.0f} ms. PostgreSQL 15 runs on "
        "loopback with fsync off; SQLite runs WAL with synchronous=FULL."
        + (" **Quick run: fewer messages and cells.**" if quick else ""),
    )
    if find_binaries() is None:
        section.notes.append("Not run: PostgreSQL (initdb, pg_ctl) is not installed on this machine.")
        return section
    rates: dict[tuple[str, int, float], float] = {}
    with postgres_server() as pg:
        rows: list[list[object]] = []
        for backend, concurrency, latency, messages in QUICK if quick else FULL:
            result = await in_process(pg, backend, concurrency, latency, messages)
            done = len(result.metrics)
            drafted = sum(1 for m in result.metrics if m.drafted_at is not None)
            rate = 60 * done / result.wall
            rates[(backend, concurrency, latency)] = rate
            per_message = result.commits / max(1, done)
            rows.append(
                [backend, concurrency, f"{latency * 1000:.0f} ms", done, drafted, result.wall, rate, per_message]
            )
        section.add(["ledger", "conc.", "LLM latency", "msgs", "drafted", "wall s", "msgs/min", "commits/msg"], rows)
        process_rows: list[list[object]] = []
        messages = 66 if quick else 200
        for count in PROCESSES[:2] if quick else PROCESSES:
            wall, results = await worker_processes(pg, count, messages)
            handled = sum(int(str(r["handled"])) for r in results)
            commits = sum(int(str(r["commits"])) for r in results)
            failures = sum(int(str(r["failures"])) for r in results)
            split = " / ".join(str(r["handled"]) for r in results)
            process_rows.append([count, handled, split, failures, wall, 60 * handled / wall, commits / max(1, handled)])
        section.add(["processes", "msgs", "per process", "failures", "wall s", "msgs/min", "commits/msg"], process_rows)
    ratios = [
        f"{backend}: {rates[(backend, 16, 1.0)] / rates[(backend, 1, 1.0)]:.1f}x"
        for backend in ("sqlite", "postgresql")
        if (backend, 16, 1.0) in rates and (backend, 1, 1.0) in rates
    ]
    section.add(
        ["target", "measured"],
        [
            ["concurrency 16 ≥ 12x concurrency 1 with a 1 s LLM", ", ".join(ratios) or "not measured"],
            ["at most 5 ledger commits per processed message", "see commits/msg above (poll and claims included)"],
        ],
    )
    section.notes += [
        "Every message handled exactly once in part 2: the per-process split adds up to the mailbox, and the "
        "claims (`FOR UPDATE SKIP LOCKED`) never hand one message to two processes.",
        "On this 2-core machine the processes share the cores with their own stdio servers and the emulators, so "
        "part 2 shows that adding workers is safe and how the work spreads, not how far it scales on more cores.",
    ]
    return section
