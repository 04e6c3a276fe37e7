"""`python -m bench.scale_worker`: one worker process of the scale-out benchmark.

Starts the real stdio MCP servers against the emulators at `--urls`, opens the shared ledger, prints `ready`, waits
for one line on stdin (every worker starts at the same moment), runs the daemon once over the mailbox and prints
one JSON line: messages handled and drafted, ledger commits, and its wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import anyio
import anyio.to_thread

from bench.harness import bench_config, quiet_logs, server_specs
from orchestrator.daemon import Daemon
from orchestrator.ledger import Ledger
from orchestrator.llm import LLM
from orchestrator.pipeline import Pipeline
from orchestrator.servers import ToolServers
from support_testing.openai_emulator import EMULATOR_API_KEY


async def work(urls: dict[str, str], ledger_location: str, concurrency: int, worker: str) -> dict[str, object]:
    config = bench_config(concurrency)
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        llm = LLM(api_key=EMULATOR_API_KEY, base_url=urls["openai"], timeout=60, max_retries=0)
        async with llm, ToolServers(*server_specs(Path(tmp), urls)) as servers, Ledger(ledger_location) as ledger:
            await servers.gmail.tools()
            await servers.shopify.tools()
            pipeline = Pipeline(servers, ledger, config, own_address=urls["address"], worker=worker, llm=llm)
            daemon = Daemon(servers, ledger, config, own_address=urls["address"], worker=worker, pipeline=pipeline)
            print("ready", flush=True)
            await anyio.to_thread.run_sync(sys.stdin.readline)
            started = time.perf_counter()
            commits = ledger.commits
            outcomes = await daemon.run_once()
            return {
                "worker": worker,
                "handled": len(outcomes),
                "drafted": sum(1 for o in outcomes if o.draft_id),
                "failures": daemon.failures,
                "commits": ledger.commits - commits,
                "wall": time.perf_counter() - started,
            }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", required=True, help="the emulators' URLs, as bench.peers prints them")
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--worker", default="bench-worker")
    args = parser.parse_args(argv)
    with quiet_logs():
        result = anyio.run(work, json.loads(args.urls), args.ledger, args.concurrency, args.worker)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
