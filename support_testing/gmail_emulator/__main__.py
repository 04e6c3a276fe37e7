"""`python -m support_testing.gmail_emulator`: run the Gmail emulator on loopback until interrupted (logs to stderr)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from support_core.embedded import run_loopback_main, serve_until_signal
from support_testing.gmail_emulator.app import DEFAULT_ADDRESS, GmailEmulator
from support_testing.gmail_emulator.server import serve_emulator
from support_testing.gmail_emulator.tokens import EMULATOR_TOKEN

logger = logging.getLogger("support_testing.gmail_emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m support_testing.gmail_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port (0 picks a free one; default 8766)")
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help=f"the mailbox address (default {DEFAULT_ADDRESS})")
    parser.add_argument("--mailbox", type=Path, help="a directory of .eml files delivered to the inbox at start")
    parser.add_argument("--token", default=EMULATOR_TOKEN, help=f"accepted access token (default {EMULATOR_TOKEN})")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    emulator = GmailEmulator(args.address, access_tokens={args.token})
    if args.mailbox is not None:
        if not args.mailbox.is_dir():
            raise ValueError(f"--mailbox {args.mailbox} is not a directory")
        delivered = emulator.mailbox.deliver_directory(args.mailbox)
        logger.info("Delivered %d messages from %s", len(delivered), args.mailbox)

    def banner(url: str) -> str:
        return f"Gmail emulator: {url}  (Authorization: Bearer {args.token}; token URI {url}/token)"

    await serve_until_signal(serve_emulator(emulator, args.host, args.port), banner)


def main(argv: list[str] | None = None) -> int:
    return run_loopback_main(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
