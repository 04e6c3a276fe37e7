"""`python -m support_testing.openai_emulator`: run the OpenAI emulator standalone on loopback until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys

from support_core.embedded import run_loopback_main, serve_until_signal
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

    def banner(url: str) -> str:
        return f"OpenAI emulator: OPENAI_BASE_URL={url}  OPENAI_API_KEY={args.api_key}"

    await serve_until_signal(serve_emulator(emulator, args.host, args.port), banner)


def main(argv: list[str] | None = None) -> int:
    return run_loopback_main(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
