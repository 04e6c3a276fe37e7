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


CPU_TARGET_MS = 25


async def one_cell(latency: float, concurrency: int, messages: int, limited: bool) -> AgentRun:
    async with peers_process(messages, latency, bottomless=not limited) as (urls, pid):
        with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
            return await run_agent(Path(tmp), urls, concurrency=concurrency, exclude_pids=(pid,))


def cpu_note(judged: tuple[float, float] | None) -> str:
    """The CPU target's note: judged where the target is set (concurrency 1, LLM at 0 ms), per drafted message."""
    verdict = "not measured"
    if judged is not None:
        met = "met" if judged[1] < CPU_TARGET_MS else "**not met**"
        verdict = f"{met}: {judged[1]:.1f} ms per drafted message, {judged[0]:.1f} ms per message of any kind"
    return (
        f"**CPU per processed message** (< {CPU_TARGET_MS} ms, all three processes, at concurrency 1 with the LLM "
        f"at 0 ms, judged per drafted message, the stricter reading): {verdict}. The clock starts once both "
        "servers answered and the language model is loaded, as a daemon's first message finds them. Cells with a "
        "slow LLM at low concurrency show more per message: they hold fewer messages, so fixed costs of a run "
        "(fresh server processes whose first calls import and compile what they use, a fresh LLM client, the "
        "ledger's first statements) weigh more, and the run lasts longer. Done: the daemon does not re-validate "
        "our own stdio servers' results with jsonschema; Google API resources and Admin API requests are built "
        "once; gmail-mcp reads each message and thread once, parses the message it answers once per pass and only "
        "the headers of the draft it made; both servers' stdio is thread-free (`support_core.stdio_pipes`); the "
        "ledger's per-message statements are built once with bound parameters; the LLM adapter posts its "
        "plain-JSON bodies through the openai client's `post` (same body, auth, retries and response model as "
        "`chat.completions.create`/`parse`, without the typed methods' transform pass) and the router's strict "
        "JSON schema is built once; the agent's tool specs are made once per server listing; the draft guard reads "
        "each distinct tool-result text once; gmail-mcp composes replies with header classes made once per name; "
        "the language model restricted to our six languages is read from the user's cache (0.25 s instead of "
        "0.65 s per process). What is left, from py-spy and cProfile profiles of the 0 ms run: in the daemon, "
        "the openai client's request building, httpx2/httpcore2/h11 and response models, the MCP client's "
        "JSON-RPC streams, the asyncio/anyio loop, the ledger, gatekeeper and guard regexes; in gmail-mcp, the "
        "Google client (httplib2), MIME parsing and composing with the stdlib `email` package; shopify-mcp is "
        "mostly its httpx client and the SDK. The floor on this design: ~5 MCP tool calls (a bare SDK tool over "
        "stdio costs ~0.9 ms CPU, client and server, benchmark 2) and ~2.6 LLM calls (~1-1.5 ms CPU each in the "
        "openai client and httpx2) per drafted message, ~8 ms before any work of ours. The 2 cores are shared "
        "while benchmarks run, so CPU per message varies by ±15% from run to run: compare runs made back to back."
    )


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
    judged: tuple[float, float] | None = None  # CPU ms per message and per drafted message at 0 ms, concurrency 1
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
            if latency == 0 and concurrency == 1:
                judged = (cpu_ms / max(1, len(done)), cpu_ms / max(1, len(processed)))
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
                "own CPU per processed message < 25 ms (concurrency 1, LLM at 0 ms)",
                "not measured"
                if judged is None
                else f"{judged[1]:.1f} ms per drafted message ({judged[0]:.1f} per message of any kind); "
                f"{min(cpu_processed):.0f}-{max(cpu_processed):.0f} ms per drafted message across the table",
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
        cpu_note(judged),
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
