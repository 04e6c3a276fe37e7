"""Command-line pieces every program of the project shares, kept free of heavy imports so that `--help` and a bad
flag answer at once: the one-line-error parser and the `--port` type."""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["STATEFUL_HELP", "OneLineErrorParser", "add_stateful_flag", "port_number"]

STATEFUL_HELP = (
    "keep MCP sessions in this process (Streamable HTTP): needed only by clients that wait for server-initiated "
    "messages on a GET stream; such a server cannot sit behind a load balancer without sticky sessions. Default: "
    "stateless, so any replica answers any request. The sse transport is always stateful"
)


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (argparse's usage block runs to many lines)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535 (0 lets the system choose)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1 to 65535)")
    return port


def add_stateful_flag(parser: argparse.ArgumentParser) -> None:
    """`--stateful`: the MCP servers' switch back to per-process sessions (see `STATEFUL_HELP`)."""
    parser.add_argument("--stateful", action="store_true", help=STATEFUL_HELP)
