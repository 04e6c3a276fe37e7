"""`python -m support_testing.openai_emulator`: run the OpenAI emulator standalone on loopback until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

import anyio

from support_testing.openai_emulator.app import DEFAULT_MODELS, EMULATOR_API_KEY, OpenAIEmulator
from support_testing.openai_emulator.scripts import DefaultScript, HostileScript, Script
from support_testing.openai_emulator.server import serve_emulator

logger = logging.getLogger("support_testing.openai_emulator")

SCRIPTS: dict[str, type[DefaultScript] | type[HostileScript]] = {"default": DefaultScript, "hostile": HostileScript}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m support_testing.openai_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port (0 picks a free one; default 8766)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each completion takes (default 0)")
    parser.add_argument("--api-key", default=EMULATOR_API_KEY, help="the accepted Bearer key")
    parser.add_argument("--script", choices=sorted(SCRIPTS), default="default", help="who answers (default: default)")
    parser.add_argument("--model", action="append", help="a model to serve (repeatable; default: common GPT names)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    if args.latency < 0:
        raise ValueError("--latency cannot be negative")
    script: Script = SCRIPTS[args.script]()
    emulator = OpenAIEmulator(
        latency=args.latency, api_key=args.api_key, models=args.model or DEFAULT_MODELS, script=script
    )
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serve_emulator(emulator, args.host, args.port) as url:
            print(f"OpenAI emulator: OPENAI_BASE_URL={url}  OPENAI_API_KEY={args.api_key}", file=sys.stderr, flush=True)
            async for received in signals:
                logger.info("Received %s, shutting down", signal.Signals(received).name)
                break


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        anyio.run(run, args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
