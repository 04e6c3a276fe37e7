"""`python -m bench.peers`: the three loopback emulators in their own process, so the throughput benchmark can
count only our own processes' CPU. Prints one JSON line of URLs, serves until stdin closes."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from anyio.streams.buffered import BufferedByteReceiveStream

from bench.harness import generated_mail, serve_peers


async def _serve(messages: int, latency: float, bottomless: bool) -> None:
    async with serve_peers(generated_mail(messages), latency, bottomless=bottomless) as peers:
        print(json.dumps(peers.urls()), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)


@contextlib.asynccontextmanager
async def peers_process(
    messages: int, latency: float, *, bottomless: bool = True
) -> AsyncIterator[tuple[dict[str, str], int]]:
    """`python -m bench.peers` as a child process: (the emulators' URLs, its pid); stopped on exit."""
    command = [sys.executable, "-m", "bench.peers", "--messages", str(messages), "--latency", str(latency)]
    command += ["--shopify-bucket", "bottomless" if bottomless else "shopify"]
    process = await anyio.open_process(command, stderr=None)
    assert process.stdin is not None and process.stdout is not None
    try:
        line = await BufferedByteReceiveStream(process.stdout).receive_until(b"\n", 65536)
        yield json.loads(line), process.pid
    finally:
        await process.stdin.aclose()
        with anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per LLM call")
    parser.add_argument("--shopify-bucket", choices=["bottomless", "shopify"], default="bottomless")
    args = parser.parse_args(argv)
    anyio.run(_serve, args.messages, args.latency, args.shopify_bucket == "bottomless")


if __name__ == "__main__":
    main()
