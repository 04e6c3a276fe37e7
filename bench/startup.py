"""Benchmark 4: start-up: spawn → first answered `tools/list` for each server, and the daemon's peak memory."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client

from bench import throughput
from bench.report import Section
from orchestrator.inbox_demo import prepare, specs
from orchestrator.servers import ServerSpec


async def _first_tools_list(spec_target: object) -> tuple[float, int]:
    started = time.perf_counter()
    async with Client(spec_target) as client:  # type: ignore[arg-type]
        tools = (await client.list_tools()).tools
        return time.perf_counter() - started, len(tools)


def _python_start(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


async def run(quick: bool = False) -> Section:
    repeats = 2 if quick else 5
    section = Section(
        "4. Start-up and memory",
        "Each server spawned as the daemon spawns it (stdio, demo configuration: sandbox store, sandbox Maildir), "
        f"timed from spawn to the first answered `tools/list`; {repeats} spawns each, sequentially.",
    )
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        folder = prepare(Path(tmp) / "demo")
        shopify, gmail = specs(folder)
        remote = ServerSpec(
            "shopify (store URL set, no embedded sandbox)",
            module="shopify_mcp",
            env={**shopify.env, "SHOPIFY_STORE": "http://127.0.0.1:9", "SHOPIFY_ACCESS_TOKEN": "shpat_bench"},
        )
        for spec in (shopify, remote, gmail):
            times: list[float] = []
            count = 0
            for _ in range(repeats):
                elapsed, count = await _first_tools_list(spec.target())
                times.append(elapsed * 1000)
            best = min(times)
            rows.append(
                [
                    spec.name.replace("shopify", "shopify-mcp", 1) if "(" in spec.name else f"{spec.name}-mcp",
                    count,
                    best,
                    statistics.median(times),
                    max(times),
                    "yes" if max(times) <= 1500 else "**no**",
                ]
            )
    bare = min(_python_start("pass") for _ in range(3)) * 1000
    imports = {
        "shopify_mcp.server": min(_python_start("import shopify_mcp.server") for _ in range(2)) * 1000,
        "gmail_mcp.server": min(_python_start("import gmail_mcp.server") for _ in range(2)) * 1000,
    }
    section.add(["server", "tools", "min ms", "median ms", "max ms", "≤ 1.5 s"], rows)
    section.add(
        ["what", "ms"],
        [["bare `python -c pass`", bare], *[[f"`import {name}`", value] for name, value in imports.items()]],
    )
    memory = throughput.FIRST_RUN
    if memory.daemon_mib is not None:
        servers = memory.servers_mib or {}
        section.add(
            ["process (run 1 of benchmark 1)", "peak RSS MiB"],
            [["daemon (bench process: daemon + LLM client + ledger)", memory.daemon_mib]]
            + [[name, value] for name, value in sorted(servers.items())],
        )
        section.notes.append(
            "Daemon peak memory is the bench process's ru_maxrss after run 1 of benchmark 1 (it hosts the daemon "
            "only; the emulators run in another process), so it also includes the bench harness (~a few MiB); "
            "servers' is VmHWM from /proc just before they exit."
        )
    else:
        section.notes.append("Peak memory is measured during benchmark 1's first run, which was not run this time.")
    section.notes.append(
        "Most of the start-up is Python importing the server's dependencies (MCP SDK, pydantic, httpx, the Google "
        "client): compare the import rows with the spawn rows. The difference between the two shopify-mcp rows is "
        "the embedded sandbox store (loading store.json, building the emulator's GraphQL schema), which a "
        "deployment against a real store does not pay."
    )
    section.notes.append(
        "The sandbox shopify-mcp has little margin under the 1.5 s target: on a busy 2-core machine (another "
        "process on the cores) it has measured up to ~1.8 s here. Importing the emulator and graphql-core only "
        "when the first sandbox request arrives, and the Google client only for the Gmail API backend, would "
        "give it room."
    )
    return section
