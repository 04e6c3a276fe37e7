"""The command line both MCP servers share: the transport flags, and a `main` that loads the settings, opens the
server's services and serves until stopped, turning a configuration problem into one line and exit code 2."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import socket
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import anyio

from support_core.arguments import OneLineErrorParser, add_stateful_flag, port_number
from support_core.errors import ConfigError
from support_core.http_limits import HttpLimits, add_http_flags, http_limits
from support_core.loopback import bind_socket
from support_core.version import __version__

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from support_core.transport import HttpServerSettings, Transport

__all__ = ["EXIT_CONFIG", "ServeOptions", "ServerProgram", "server_parser"]

EXIT_CONFIG = 2
logger = logging.getLogger(__name__)
S = TypeVar("S", bound="HttpServerSettings")


def server_parser(prog: str, description: str, *, default_port: int, forwarded_env: str) -> OneLineErrorParser:
    """The flags every MCP server of the project takes: transport, bind address, version, log level, HTTP limits."""
    parser = OneLineErrorParser(prog=prog, description=description)
    parser.add_argument(
        "--transport", choices=["stdio", "streamable-http", "sse"], default="stdio", help="default: stdio"
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=default_port, help=f"HTTP port (default {default_port})")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_http_flags(parser, forwarded_env=forwarded_env)
    add_stateful_flag(parser)
    return parser


@dataclass(frozen=True)
class ServeOptions:
    """How to serve, from the flags: the transport, where to bind, and (over HTTP) the limits and statelessness."""

    transport: Transport
    host: str
    port: int
    log_level: str
    limits: HttpLimits | None = None
    stateless: bool = True
    sock: socket.socket | None = None
    """Over HTTP: the port, taken before the services open (a busy port costs no start-up)."""


@dataclass(frozen=True)
class ServerProgram(Generic[S]):
    """One MCP server's program: its name, how it reads its settings, and `open` (its services, yielding the
    `MCPServer` and a few words for the start-up log line, e.g. "sandbox" or "maildir backend")."""

    prog: str
    load_settings: Callable[[], S]
    open: Callable[[S], AbstractAsyncContextManager[tuple[MCPServer, str]]]
    readable_errors: tuple[type[Exception], ...] = (ConfigError,)

    def main(self, args: argparse.Namespace) -> None:
        """Serve as `args` say until stopped; a problem the user can fix is one line on stderr and exit code 2."""
        logging.basicConfig(
            level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        from support_core.transport import require_token  # the MCP SDK, imported once a server is to run

        try:
            settings = self.load_settings()
            options = ServeOptions(
                transport=args.transport,
                host=args.host,
                port=args.port,
                log_level=args.log_level,
                limits=http_limits(args, settings.mcp_forwarded_allow_ips),
                stateless=not args.stateful,
            )
            if options.transport != "stdio":  # before opening anything: a refused bind costs no start-up
                token = settings.mcp_bearer_token.get_secret_value() if settings.mcp_bearer_token else None
                require_token(options.host, token, settings.bearer_token_variable)
                options = dataclasses.replace(options, sock=bind_socket(options.host, options.port))
            anyio.run(self.serve, settings, options)
        except self.readable_errors as exc:
            print(f"{self.prog}: {exc}", file=sys.stderr)
            raise SystemExit(EXIT_CONFIG) from None
        except KeyboardInterrupt:
            pass

    async def serve(self, settings: S, options: ServeOptions) -> None:
        """Open the services and run the server on the chosen transport until it is stopped."""
        from support_core.transport import run_server

        async with self.open(settings) as (server, mode):
            logger.info("%s ready (%s, %s)", self.prog, options.transport, mode)
            await run_server(
                server,
                options.transport,
                settings,
                host=options.host,
                port=options.port,
                log_level=options.log_level,
                limits=options.limits,
                stateless=options.stateless,
                sock=options.sock,
            )
