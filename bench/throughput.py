"""Benchmark 1: throughput and overhead of the whole daemon.

Generated mail (the sandbox inbox cycled, fresh Message-IDs and subjects per copy) in the Gmail emulator, the
real gmail-mcp and shopify-mcp over stdio, the OpenAI-compatible emulator with a fixed latency per call. The
emulators run in a separate process (`bench.peers`), so CPU is counted for our own processes only: this one
(daemon, pipeline, ledger, LLM client) and the two stdio servers (from /proc/<pid>/stat).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.harness import AgentRun, run_agent, self_peak_rss_mib
from bench.peers import peers_process
from bench.report import Section, percentile

FULL: list[tuple[float, int, int, bool]] = [
    # (LLM latency s, concurrency, messages, Shopify-sized cost bucket): fewer messages where a cell would take
    # minutes at concurrency 1; the last cell keeps Shopify's rate limit to show the ceiling it sets
    (0.0, 1, 200, False),
    (0.0, 4, 200, False),
    (0.0, 16, 200, False),
    (0.3, 1, 44, False),
    (0.3, 4, 100, False),
    (0.3, 16, 200, False),
    (1.0, 1, 30, False),
    (1.0, 4, 60, False),
    (1.0, 16, 200, False),
    (1.0, 16, 200, True),
]
QUICK: list[tuple[float, int, int, bool]] = [
    (0.0, 1, 22, False),
    (0.3, 1, 22, False),
    (0.3, 16, 44, False),
    (1.0, 1, 22, False),
    (1.0, 16, 44, False),
]


@dataclass
class Memory:
    """Peak memory of run 1 (the first cell), for the start-up section."""

    daemon_mib: float | None = None
    servers_mib: dict[str, float] | None = None


FIRST_RUN = Memory()


async def one_cell(latency: float, concurrency: int, messages: int, limited: bool) -> AgentRun:
    async with peers_process(messages, latency, bottomless=not limited) as (urls, pid):
        with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
            return await run_agent(Path(tmp), urls, concurrency=concurrency, exclude_pids=(pid,))


async def run(quick: bool = False) -> Section:
    cells = QUICK if quick else FULL
    section = Section(
        "1. Throughput and overhead",
        "The real daemon (`run_once`: poll, then a pool of `concurrency` tasks, refilled as soon as one ends) over "
        "generated mail "
        "(the 22 sandbox messages cycled with fresh Message-IDs/subjects; ~64% are processed, the rest ignored or "
        "alerted), real gmail-mcp and shopify-mcp over stdio, the OpenAI-compatible emulator with a fixed latency "
        "per call. Time to draft = claim → draft created. CPU = this process + both stdio servers (emulators "
        "excluded), divided by messages. Overhead = 1 - (time waiting on the LLM ÷ end-to-end time), summed over "
        "processed messages. The Shopify emulator's cost bucket is bottomless except in the row marked "
        "'+ Shopify bucket' (2,000 points, 100/s), which shows the ceiling Shopify's rate limit sets."
        + (" **Quick run: fewer messages and cells.**" if quick else ""),
    )
    rows: list[list[object]] = []
    rates: dict[tuple[float, int], float] = {}
    overhead_300: list[float] = []
    cpu_processed: list[float] = []
    for index, (latency, concurrency, messages, limited) in enumerate(cells):
        result = await one_cell(latency, concurrency, messages, limited)
        if index == 0:
            FIRST_RUN.daemon_mib = self_peak_rss_mib()
            FIRST_RUN.servers_mib = dict(result.children_peak_mib)
        done = result.metrics
        processed = [m for m in done if m.drafted_at is not None]
        to_draft = [(m.drafted_at - m.start) * 1000 for m in processed if m.drafted_at is not None]
        elapsed = sum(m.elapsed for m in processed)
        waiting = sum(m.llm_wait for m in processed)
        overhead = 100 * (1 - waiting / elapsed) if elapsed else None
        cpu_ms = 1000 * (result.cpu_self + result.cpu_children)
        rate = 60 * len(done) / result.wall
        per_msg = 1000 / max(1, len(done))
        if not limited:
            rates[(latency, concurrency)] = rate
            cpu_processed.append(cpu_ms / max(1, len(processed)))
            if latency == 0.3 and overhead is not None:
                overhead_300.append(overhead)
        rows.append(
            [
                f"{latency * 1000:.0f} ms" + (" + Shopify bucket" if limited else ""),
                concurrency,
                len(done),
                len(processed),
                result.wall,
                rate,
                percentile(to_draft, 50),
                percentile(to_draft, 95),
                cpu_ms / max(1, len(done)),
                f"{per_msg * result.cpu_self:.1f} / {per_msg * result.cpu_children:.1f}",
                cpu_ms / max(1, len(processed)),
                sum(m.llm_calls for m in done),
                None if overhead is None else f"{overhead:.1f}%",
            ]
        )
    section.add(
        [
            "LLM latency",
            "conc.",
            "msgs",
            "drafted",
            "wall s",
            "msgs/min",
            "to draft p50 ms",
            "p95 ms",
            "CPU ms/msg",
            "(daemon / servers)",
            "CPU ms per drafted msg",
            "LLM calls",
            "overhead",
        ],
        rows,
    )
    speedup = None
    if (1.0, 1) in rates and (1.0, 16) in rates:
        speedup = rates[(1.0, 16)] / rates[(1.0, 1)]
    section.add(
        ["target", "measured"],
        [
            [
                "own CPU per processed message < 25 ms",
                f"{min(cpu_processed):.0f}-{max(cpu_processed):.0f} ms (all CPU ÷ drafted)",
            ],
            [
                "overhead < 5% at 300 ms LLM latency",
                ", ".join(f"{o:.1f}%" for o in overhead_300) or "not measured",
            ],
            ["concurrency 16 ≥ 12x concurrency 1 at 1 s", "not measured" if speedup is None else f"{speedup:.1f}x"],
        ],
    )
    section.notes += [
        "Cells at concurrency 1 with slow LLMs use fewer messages (see 'msgs') to keep `make bench` under 10 "
        "minutes; rates are per minute, so they compare.",
        "Time to draft is per-message service time (claim → draft), not time since arrival: in a backlog run every "
        "message arrives at t=0 and time since arrival is mostly queueing.",
        "At 0 ms the 'overhead' is by construction ~100% (there is no LLM wait); that row shows raw pipeline cost.",
        "**CPU target not reliably met** (< 25 ms per processed message, judged per drafted message: ~26 ms in the "
        "median of 10 runs, 23.5-28 ms, on a 2-core machine shared with other work): see the table for per message "
        "of any kind and per drafted message. Done: the daemon does not re-validate our own stdio servers' results "
        "with jsonschema; Google API resources and Admin API requests are built once; gmail-mcp reads each message "
        "and thread once, parses the message it answers once per pass and only the headers of the draft it made; "
        "both servers' stdio is thread-free (`support_core.stdio_pipes`); the ledger's per-message statements are "
        "built once with bound parameters; the LLM adapter posts its plain-JSON bodies through the openai client's "
        "`post` (same body, auth, retries and response model as `chat.completions.create`/`parse`, without the "
        "typed methods' transform pass, 0.3-0.7 ms per call) and the router's strict JSON schema is built once by the "
        "SDK (its answer is still validated into the pydantic model); the agent's tool specs are made once per "
        "server listing and allow-list; the draft guard reads each distinct tool-result text once (a pure function "
        "of the text, cached: policies and product texts repeat from message to message); gmail-mcp composes "
        "replies with header classes made once per name (the stdlib makes a new class for every header access). "
        "Together -10% per drafted message (200 messages at 0 ms, 10 runs alternated back to back, medians: 29.5 -> "
        "25.9 ms; the daemon -18%, 16.2 -> 12.8 ms; the servers 13.2 -> 12.9 ms, within noise). "
        "What is left, from py-spy (GIL) and cProfile (CPU clock) profiles of the 0 ms run: in the daemon, the openai "
        "client's request building, httpx2/httpcore2/h11 and response models (~30%), the MCP client's JSON-RPC "
        "streams (~15%), the asyncio/anyio loop itself (~15%), the ledger (SQLite in a worker thread), gatekeeper "
        "and guard regexes (~6%); in gmail-mcp, the Google client (httplib2, ~35% of its tool time), MIME parsing "
        "(~15%: every alternative of a message is read, HTML included, before the plain one is chosen), composing "
        "with the stdlib `email` package (~20%) and the SDK's request dispatch; shopify-mcp is mostly its httpx "
        "client and the SDK. The floor on this design: a drafted message makes ~5 MCP tool calls (a bare SDK tool "
        "over stdio costs ~0.9 ms CPU, client and server, benchmark 2) and ~2.6 LLM calls (~1-1.5 ms CPU each in the "
        "openai client and httpx2), ~8 ms before any work of ours, and the servers' own API clients (Google's "
        "httplib2 client, httpx) come on top. The 2 cores are shared while benchmarks run, so CPU per "
        "message varies by ±15% from run to run: compare runs made back to back.",
        "**Overhead at 300 ms**: at concurrency 1 the overhead is the fixed cost of tool calls and bookkeeping per "
        "drafted message (the 0 ms row's time to draft) against its LLM calls; with 2 cores, our CPU per message "
        "times 16 messages in flight is CPU queueing, counted as overhead too. Less CPU per message (above) is what "
        "lowers both.",
        "**Concurrency 16 vs 1 at 1 s**: the pool claims a new message as soon as any task ends, so ignored mail "
        "(milliseconds) never holds a slot while the slowest message of a batch finishes. Shopify's real rate limit "
        "(last row) caps order lookups at ~2.6/s per store (benchmark 5, ~150 a minute), so with a faster model "
        "it, not our code, becomes the ceiling.",
        "gmail-mcp occasionally logs `<method> failed (BrokenPipeError); retry 1` under load (httplib2 reusing a "
        "keep-alive connection the emulator had closed); the retry succeeds and no message failed.",
    ]
    return section
