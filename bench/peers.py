"""`python -m bench.peers`: the three loopback emulators in their own process, so the throughput benchmark can
count only our own processes' CPU. Prints one JSON line of URLs, serves until stdin closes."""

from __future__ import annotations

import argparse
import json
import sys

import anyio
import anyio.to_thread

from bench.harness import generated_mail, serve_peers


async def _serve(messages: int, latency: float, bottomless: bool) -> None:
    async with serve_peers(generated_mail(messages), latency, bottomless=bottomless) as peers:
        print(json.dumps(peers.urls()), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per LLM call")
    parser.add_argument("--shopify-bucket", choices=["bottomless", "shopify"], default="bottomless")
    args = parser.parse_args(argv)
    anyio.run(_serve, args.messages, args.latency, args.shopify_bucket == "bottomless")


if __name__ == "__main__":
    main()
