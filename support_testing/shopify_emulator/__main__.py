"""`python -m support_testing.shopify_emulator`: run the Shopify emulator standalone on loopback until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shopify_mcp.emulator.app import SANDBOX_TOKEN
from shopify_mcp.emulator.cost import DEFAULT_BUCKET_SIZE, DEFAULT_RESTORE_RATE
from shopify_mcp.emulator.store import Store, load_sandbox_store, load_store
from support_core.embedded import run_loopback_main, serve_until_signal
from support_testing.shopify_emulator.peer import ShopifyEmulator
from support_testing.shopify_emulator.server import serve_emulator
from support_testing.shopify_emulator.tau import load_tau_store

logger = logging.getLogger("shopify_mcp.emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m support_testing.shopify_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--store", type=Path, help="a store file in the sandbox format (default: the sandbox store)")
    source.add_argument("--tau", type=Path, help="the tau-retail directory (users/orders/products.json)")
    parser.add_argument("--bucket", type=float, default=DEFAULT_BUCKET_SIZE, help="cost bucket size (points)")
    parser.add_argument("--restore", type=float, default=DEFAULT_RESTORE_RATE, help="bucket restore rate (points/s)")
    parser.add_argument("--token", default=SANDBOX_TOKEN, help=f"accepted access token (default {SANDBOX_TOKEN})")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def load(args: argparse.Namespace) -> Store:
    if args.tau is not None:
        return load_tau_store(args.tau)
    if args.store is not None:
        return load_store(args.store)
    return load_sandbox_store()


async def run(args: argparse.Namespace) -> None:
    store = load(args)
    emulator = ShopifyEmulator(
        store=store, access_tokens={args.token}, bucket_size=args.bucket, restore_rate=args.restore
    )
    logger.info("%s", store.summary())

    def banner(url: str) -> str:
        return f"Shopify emulator: {url}  (X-Shopify-Access-Token: {args.token})"

    await serve_until_signal(serve_emulator(emulator, args.host, args.port), banner)


def main(argv: list[str] | None = None) -> int:
    return run_loopback_main(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
