"""Shared set-up of the end-to-end benchmarks: the generated mailbox, the three loopback peers (Gmail, Shopify and
OpenAI-compatible emulators), the real MCP servers over stdio, and a pipeline that meters every message."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from gmail_mcp.sandbox_mailbox import sandbox_files
from orchestrator import language
from orchestrator.config import AgentConfig, load_config
from orchestrator.daemon import Daemon
from orchestrator.ledger import Claim, Ledger, Record
from orchestrator.llm import LLM, CompletionT
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ServerSpec, ToolServers
from shopify_mcp.emulator import SANDBOX_TOKEN, Store, load_sandbox_store
from support_testing.gmail_emulator import GmailEmulator
from support_testing.gmail_emulator import serve_emulator as serve_gmail
from support_testing.openai_emulator import EMULATOR_API_KEY, DefaultScript, OpenAIEmulator
from support_testing.openai_emulator import serve_emulator as serve_openai
from support_testing.shopify_emulator import ShopifyEmulator
from support_testing.shopify_emulator import serve_emulator as serve_shopify

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_ID_HEADERS = (b"message-id:", b"in-reply-to:", b"references:")
_ANGLE_ID = re.compile(rb"<([^<>@\s]+)@")


# --- the mailbox -------------------------------------------------------------------------------------------------


def _tag(raw: bytes, cycle: int) -> bytes:
    """`raw` with its Message-ID/In-Reply-To/References ids and its subject made unique to `cycle`.

    Threads stay intact inside one copy of the sandbox (a reply still names its parent, subjects still match) and
    distinct between copies. Addresses in From/To are untouched, so customers still match the store.
    """
    split = raw.find(b"\n\n")
    head, body = raw[:split], raw[split:]
    lines = head.split(b"\n")
    current = b""
    for index, line in enumerate(lines):
        if line[:1] not in (b" ", b"\t"):
            current = line.split(b":", 1)[0].lower() + b":"
            if current == b"subject:":
                lines[index] = line.rstrip(b"\r") + f" [c{cycle}]".encode()
        if current in _ID_HEADERS:
            lines[index] = _ANGLE_ID.sub(lambda m: b"<" + m.group(1) + f".c{cycle}@".encode(), lines[index])
    return b"\n".join(lines) + body


def generated_mail(count: int) -> list[tuple[bytes, bool]]:
    """`count` inbox messages (plus the shop's sent mail their threads need): the sandbox inbox, cycled.

    Returns (raw, is_sent) in delivery order.
    """
    inbox, sent = sandbox_files()
    out: list[tuple[bytes, bool]] = []
    delivered = 0
    cycle = 0
    while delivered < count:
        out += [(_tag(path.read_bytes(), cycle), True) for path in sent]
        for path in inbox:
            if delivered == count:
                break
            out.append((_tag(path.read_bytes(), cycle), False))
            delivered += 1
        cycle += 1
    return out


def sandbox_mail() -> list[tuple[bytes, bool]]:
    """The 22 sandbox messages as they are (one of each kind), for the per-message budget."""
    inbox, sent = sandbox_files()
    return [(p.read_bytes(), True) for p in sent] + [(p.read_bytes(), False) for p in inbox]


# --- the peers ---------------------------------------------------------------------------------------------------


@dataclass
class Peers:
    gmail: GmailEmulator
    shopify: ShopifyEmulator
    openai: OpenAIEmulator
    gmail_url: str
    shopify_url: str
    openai_url: str

    def urls(self) -> dict[str, str]:
        return {
            "gmail": self.gmail_url,
            "shopify": self.shopify_url,
            "openai": self.openai_url,
            "address": self.gmail.address,
        }


@contextlib.asynccontextmanager
async def serve_peers(
    mail: list[tuple[bytes, bool]], latency: float, store: Store | None = None, *, bottomless: bool = False
) -> AsyncIterator[Peers]:
    """The three emulators on loopback in this event loop, the Gmail one holding `mail`.

    `bottomless`: the Shopify emulator's cost bucket never runs dry (measures our code, not Shopify's rate limit).
    """
    gmail = GmailEmulator()
    for raw, outgoing in mail:
        gmail.deliver(raw, labels=("SENT",) if outgoing else ("INBOX", "UNREAD"))
    store = store or load_sandbox_store()
    shopify = (
        ShopifyEmulator(store=store, bucket_size=1e9, restore_rate=1e9) if bottomless else ShopifyEmulator(store=store)
    )
    model = OpenAIEmulator(latency=latency, script=DefaultScript())
    async with serve_gmail(gmail) as g, serve_shopify(shopify) as s, serve_openai(model) as o:
        yield Peers(gmail, shopify, model, g, s, o)


def server_specs(folder: Path, urls: dict[str, str]) -> tuple[ServerSpec, ServerSpec]:
    """The real shopify-mcp and gmail-mcp over stdio, pointed at the loopback emulators."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder)}
    gmail_url = urls["gmail"]
    token = {
        "token": "",
        "refresh_token": "r",
        "token_uri": f"{gmail_url}/token",
        "client_id": "c",
        "client_secret": "s",
    }
    gmail = ServerSpec(
        "gmail",
        module="gmail_mcp",
        env={**base, "GOOGLE_TOKEN_JSON": json.dumps(token), "GMAIL_API_ENDPOINT": gmail_url},
    )
    shopify = ServerSpec(
        "shopify",
        module="shopify_mcp",
        env={
            **base,
            "SHOPIFY_STORE": urls["shopify"],
            "SHOPIFY_ACCESS_TOKEN": SANDBOX_TOKEN,
            "SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3"),
        },
    )
    return shopify, gmail


# --- metering ----------------------------------------------------------------------------------------------------


@dataclass
class MessageMetrics:
    message_id: str
    start: float = 0.0
    end: float = 0.0
    drafted_at: float | None = None
    llm_wait: float = 0.0
    llm_calls: int = 0
    outcome: Outcome | None = None
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Request-log index range (start, end) per emulator while this message was processed (concurrency 1 only)."""

    @property
    def elapsed(self) -> float:
        return self.end - self.start

    @property
    def kind(self) -> tuple[str, str]:
        """(verdict, category) as the budget table groups them."""
        o = self.outcome
        if o is None:
            return ("FAILED", "")
        if o.superseded:
            return ("IGNORE", "superseded")
        verdict = o.verdict.value if o.verdict else "?"
        if verdict == "IGNORE":
            return (verdict, o.reason.split(":", 1)[0])
        return (verdict, o.category or "")


CURRENT: ContextVar[MessageMetrics | None] = ContextVar("bench_message", default=None)


class TimedLLM(LLM):
    """The real LLM client; each call's wall time (the router's structured `parse` and the agent's `chat` turns
    alike: both go through `_call`) is charged to the message being processed."""

    async def _call(self, method: Callable[..., Awaitable[CompletionT]], **params: Any) -> CompletionT:
        metrics = CURRENT.get()
        started = time.perf_counter()
        try:
            return await super()._call(method, **params)
        finally:
            if metrics is not None:
                metrics.llm_wait += time.perf_counter() - started
                metrics.llm_calls += 1


class MeteredPipeline(Pipeline):
    """The real pipeline, recording per message: timings, LLM wait, and (optionally) request-log ranges."""

    def __init__(self, *args: Any, peers: Peers | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peers = peers
        self.metrics: list[MessageMetrics] = []

    def _logs(self) -> dict[str, int]:
        if self.peers is None:
            return {}
        p = self.peers
        return {"gmail": len(p.gmail.requests), "shopify": len(p.shopify.requests), "openai": len(p.openai.requests)}

    async def process(self, claim: Claim, record: Record | None = None) -> Outcome:
        metrics = MessageMetrics(claim.message_id)
        token = CURRENT.set(metrics)
        before = self._logs()
        metrics.start = time.perf_counter()
        try:
            metrics.outcome = await super().process(claim, record)
            return metrics.outcome
        finally:
            metrics.end = time.perf_counter()
            after = self._logs()
            metrics.marks = {name: (before[name], after[name]) for name in before}
            CURRENT.reset(token)
            self.metrics.append(metrics)

    def _stage(self, stage: str, message_id: str) -> None:
        metrics = CURRENT.get()
        if stage == "draft-created" and metrics is not None:
            metrics.drafted_at = time.perf_counter()
        super()._stage(stage, message_id)


# --- processes ---------------------------------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(exclude: tuple[int, ...] = ()) -> dict[int, float]:
    """CPU seconds of each live child process of this one (e.g. the stdio MCP servers)."""
    found: dict[int, float] = {}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude:
            continue
        stat = proc_stat(int(entry))
        if stat is not None and stat[0] == me:
            found[int(entry)] = stat[1]
    return found


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (peak resident memory) of a live process, MiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def server_name(pid: int) -> str:
    """ "shopify-mcp"/"gmail-mcp" for a stdio server process, else "pid N"."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().split(b"\0")
    except OSError:
        return f"pid {pid}"
    for module in (b"shopify_mcp", b"gmail_mcp"):
        if module in args:
            return module.decode().replace("_", "-")
    return f"pid {pid}"


def self_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class AgentRun:
    metrics: list[MessageMetrics]
    wall: float
    cpu_self: float
    cpu_children: float
    children_peak_mib: dict[str, float]
    poll_units: int = 0
    idle_poll_units: int = 0
    commits: int = 0
    """Ledger write transactions committed during the run (poll and claims included)."""


def bench_config(concurrency: int) -> AgentConfig:
    config = load_config()
    return config.model_copy(update={"daemon": config.daemon.model_copy(update={"concurrency": concurrency})})


async def run_agent(
    folder: Path,
    urls: dict[str, str],
    *,
    concurrency: int,
    peers: Peers | None = None,
    exclude_pids: tuple[int, ...] = (),
    ledger_location: str | None = None,
    worker: str = "bench",
) -> AgentRun:
    """Spawn both MCP servers, run the daemon once over the whole inbox, and measure it. The ledger is a SQLite
    file in `folder` unless `ledger_location` names another (a `postgresql://` URL)."""
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    config = bench_config(concurrency)
    shopify, gmail = server_specs(folder, urls)
    llm = TimedLLM(api_key=EMULATOR_API_KEY, base_url=urls["openai"], timeout=60, max_retries=0)
    async with (
        llm,
        ToolServers(shopify, gmail) as servers,
        Ledger(ledger_location or folder / "ledger.sqlite3") as ledger,
    ):
        await servers.gmail.tools()  # both servers answered before the clock starts
        await servers.shopify.tools()
        await anyio.to_thread.run_sync(language.warm_up)  # as `open_runtime` does before a daemon's first message
        pipeline = MeteredPipeline(
            servers, ledger, config, own_address=urls["address"], worker=worker, llm=llm, peers=peers
        )
        daemon = Daemon(servers, ledger, config, own_address=urls["address"], worker=worker, pipeline=pipeline)
        kids_before = children(exclude_pids)
        cpu_before = time.process_time()
        units_before = peers.gmail.total_units if peers else 0
        commits_before = ledger.commits
        started = time.perf_counter()
        await daemon.poll()
        poll_units = (peers.gmail.total_units - units_before) if peers else 0
        await daemon.work()
        wall = time.perf_counter() - started
        commits = ledger.commits - commits_before
        cpu_self = time.process_time() - cpu_before
        kids_after = children(exclude_pids)
        cpu_children = sum(kids_after[p] - kids_before.get(p, 0.0) for p in kids_after)
        peaks: dict[str, float] = {}
        for pid in kids_after:
            peak = peak_rss_mib(pid)
            if peak is not None:
                peaks[server_name(pid)] = peak
        idle_units = 0
        if peers is not None:
            units_before = peers.gmail.total_units
            await daemon.poll()
            idle_units = peers.gmail.total_units - units_before
    return AgentRun(pipeline.metrics, wall, cpu_self, cpu_children, peaks, poll_units, idle_units, commits)


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """The pipeline logs a warning per LLM fallback etc.; benchmarks print tables, not logs."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def python() -> str:
    return sys.executable
