"""One `Daemon.run_once()` on a sandbox folder, as a real process the crash tests can kill.

    python -m tests.orchestrator.crash_worker FOLDER [STAGE N] [--worker NAME] [--lease S] [--clock-offset S]
                                                 [--barrier FILE] [--ledger LOCATION]

With STAGE and N, the process SIGKILLs itself the N-th time the pipeline reports STAGE (`on_stage`), after
printing `KILL <stage> <message id>` on stderr. `--clock-offset` runs the ledger's clock ahead, so the leases of
a worker killed a moment ago look expired (a restart long after the crash, without sleeping). With `--barrier`,
the worker opens its servers and ledger, writes `<barrier>.<worker>.ready`, and waits for the barrier file before
polling (several workers started at the same moment). On a normal end it prints one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import anyio

from orchestrator.config import load_config
from orchestrator.daemon import Daemon
from orchestrator.inbox_demo import MAILBOX, specs
from orchestrator.ledger import Ledger
from orchestrator.servers import ToolServers


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="crash_worker")
    parser.add_argument("folder", type=Path)
    parser.add_argument("stage", nargs="?", default="")
    parser.add_argument("n", nargs="?", type=int, default=0)
    parser.add_argument("--worker", default=f"crash-worker:{os.getpid()}")
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    parser.add_argument("--barrier", type=Path)
    parser.add_argument(
        "--ledger", help="the ledger's location (default: FOLDER/ledger.sqlite3; or a postgresql:// URL)"
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, object]:
    config = load_config()
    config = config.model_copy(update={"daemon": config.daemon.model_copy(update={"concurrency": 1})})
    reached = 0

    def on_stage(stage: str, message_id: str) -> None:
        nonlocal reached
        if stage != args.stage:
            return
        reached += 1
        if reached == args.n:
            print(f"KILL {stage} {message_id}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    offset = args.clock_offset
    location = args.ledger or args.folder / "ledger.sqlite3"
    ledger = Ledger(location, lease_seconds=args.lease, clock=lambda: time.time() + offset)
    async with ToolServers(*specs(args.folder)) as servers, ledger:
        daemon = Daemon(servers, ledger, config, own_address=MAILBOX, worker=args.worker, on_stage=on_stage)
        if args.barrier is not None:
            await anyio.Path(f"{args.barrier}.{args.worker}.ready").write_text("ready\n")
            with anyio.fail_after(60):
                while not await anyio.Path(args.barrier).exists():  # noqa: ASYNC110 - another process makes it
                    await anyio.sleep(0.005)
        outcomes = await daemon.run_once()
    return {
        "worker": args.worker,
        "handled": [o.message_id for o in outcomes],
        "drafted": [o.message_id for o in outcomes if o.draft_id],
        "failures": daemon.failures,
        "stage_reached": reached,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    print(json.dumps(anyio.run(run, args)), flush=True)


if __name__ == "__main__":
    main()
