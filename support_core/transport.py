"""Serving an MCP server (stdio, Streamable HTTP, SSE) or any ASGI app: bearer token, Host/Origin checks, HTTP
limits, stateless Streamable HTTP (any replica answers any request), and loopback serving for tests and emulators.
Both MCP servers and `support-agent serve` use it."""

from __future__ import annotations

import argparse
import contextlib
import hmac
import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Literal, NoReturn, Protocol

import anyio
import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from support_core.errors import ConfigError
from support_core.http_limits import HttpLimits, uvicorn_config
from support_core.stdio_pipes import serve_stdio

logger = logging.getLogger(__name__)

Transport = Literal["stdio", "streamable-http", "sse"]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
PUBLIC_PATHS = frozenset({"/health"})
MCP_PATH = "/mcp"
STATEFUL_HELP = (
    "keep MCP sessions in this process (Streamable HTTP): needed only by clients that wait for server-initiated "
    "messages on a GET stream; such a server cannot sit behind a load balancer without sticky sessions. Default: "
    "stateless, so any replica answers any request. The sse transport is always stateful"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """Requires `Authorization: Bearer <token>` on every HTTP request except `/health` (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in PUBLIC_PATHS:
            supplied = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(supplied, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error": "missing or wrong bearer token"}'})
                return
        await self._app(scope, receive, send)


class NoEventStreamMiddleware:
    """Stateless Streamable HTTP: `GET /mcp` answers 405, as the MCP spec allows for a server without a stream of
    its own. Without it the SDK holds the GET open forever, silent, tying up a connection (and a proxy's)."""

    def __init__(self, app: ASGIApp, path: str = MCP_PATH) -> None:
        self._app = app
        self._path = path  # `/mcp/` still gets Starlette's redirect to `/mcp` first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("path") == self._path:
            body = (
                b'{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Method Not Allowed: this '
                b'server is stateless and offers no event stream; POST requests instead"}}'
            )
            headers = [(b"content-type", b"application/json"), (b"allow", b"POST")]
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)


def add_stateful_flag(parser: argparse.ArgumentParser) -> None:
    """`--stateful`: the MCP servers' switch back to per-process sessions (see `STATEFUL_HELP`)."""
    parser.add_argument("--stateful", action="store_true", help=STATEFUL_HELP)


def transport_security(host: str, extra_hosts: tuple[str, ...]) -> TransportSecuritySettings | None:
    """Host/Origin checks: always on for loopback binds; on a public bind only when allowed hosts are configured."""
    if is_loopback(host):
        hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", *extra_hosts]
        origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
        origins += [f"https://{h.split(':')[0]}" for h in extra_hosts]
        return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)
    if extra_hosts:
        origins = [f"https://{h.split(':')[0]}" for h in extra_hosts] + [f"http://{h}" for h in extra_hosts]
        return TransportSecuritySettings(allowed_hosts=list(extra_hosts), allowed_origins=origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


def require_token(host: str, bearer_token: str | None, token_setting: str) -> None:
    """`ConfigError` naming `token_setting` when `host` is not loopback and no bearer token is set."""
    if not is_loopback(host) and not bearer_token:
        raise ConfigError(
            f"Refusing to listen on {host} without authentication: set {token_setting} (a long random "
            "string clients send as 'Authorization: Bearer ...'), or bind 127.0.0.1 behind your own proxy."
        )


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535 (0 lets the system choose)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1 to 65535)")
    return port


def http_app(
    server: MCPServer,
    transport: Literal["streamable-http", "sse"],
    *,
    host: str,
    bearer_token: str | None,
    allowed_hosts: tuple[str, ...] = (),
    token_setting: str = "the server's bearer-token setting",
    stateless: bool = True,
) -> ASGIApp:
    """The ASGI app for an HTTP transport. Refuses a non-loopback bind without a bearer token; the error names
    `token_setting`, the variable that sets it (SHOPIFY_MCP_BEARER_TOKEN, GMAIL_MCP_BEARER_TOKEN).

    Streamable HTTP is `stateless` by default: no `Mcp-Session-Id`, a fresh transport for each POST, so replicas
    behind a round-robin balancer each answer any request (handshake-era clients included; 2026-07-28 clients
    have no sessions anyway). Responses stay SSE streams, which carry a tool's progress and log notifications
    before its result; what is lost is the GET stream and server-to-client requests (sampling, elicitation),
    which neither server uses. `stateless=False` keeps sessions in this process (the SDK's default)."""
    require_token(host, bearer_token, token_setting)
    security = transport_security(host, allowed_hosts)
    if transport == "sse":
        app: ASGIApp = server.sse_app(transport_security=security, host=host)
    else:
        app = server.streamable_http_app(
            streamable_http_path=MCP_PATH, stateless_http=stateless, transport_security=security, host=host
        )
        if stateless:
            app = NoEventStreamMiddleware(app, MCP_PATH)
    if bearer_token:
        app = BearerTokenMiddleware(app, bearer_token)
    return app


async def serve_http(
    app: ASGIApp,
    host: str,
    port: int,
    log_level: str = "info",
    limits: HttpLimits | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve `app` with uvicorn until stopped, on `sock` when it was bound beforehand (see `bind_socket`)."""
    config = uvicorn_config(
        app, host=host, port=port, limits=limits or HttpLimits(), log_level=log_level.lower(), lifespan="on"
    )
    await uvicorn.Server(config).serve(sockets=[sock] if sock is not None else None)


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, for a program to take its port before it starts anything else; a
    `ConfigError` in one sentence when it cannot (uvicorn would only log it after the program's start-up)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: accepted connections inherit it, and asyncio turns Nagle's algorithm off
    # (TCP_NODELAY) only on sockets that say TCP. Without it a response written as headers then body waited for the
    # client's delayed ACK: 40 ms on every request of a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = "another program is using that port" if exc.errno == 98 else (exc.strerror or str(exc))
        raise ConfigError(f"Cannot listen on {host}:{port}: {why}. Choose another with --port (or --host).") from None
    return sock


class HttpServerSettings(Protocol):
    """What both MCP servers' settings say about serving over HTTP (SHOPIFY_MCP_* / GMAIL_MCP_*)."""

    @property
    def mcp_bearer_token(self) -> SecretStr | None: ...

    @property
    def mcp_allowed_hosts(self) -> tuple[str, ...]: ...

    @property
    def mcp_forwarded_allow_ips(self) -> str | None: ...

    @property
    def bearer_token_variable(self) -> str:
        """The environment variable that sets `mcp_bearer_token` (named in errors)."""
        ...


async def run_server(
    server: MCPServer,
    transport: Transport,
    settings: HttpServerSettings,
    *,
    host: str,
    port: int,
    log_level: str,
    limits: HttpLimits | None = None,
    stateless: bool = True,
    sock: socket.socket | None = None,
) -> None:
    """Run an MCP server on stdio, or on HTTP behind the checks above (the bearer token and allowed hosts of
    `settings`) and `limits` (default: `HttpLimits()`); Streamable HTTP is `stateless` unless told otherwise."""
    if transport == "stdio":
        await serve_stdio(server)
        return
    token = settings.mcp_bearer_token.get_secret_value() if settings.mcp_bearer_token else None
    app = http_app(
        server,
        "sse" if transport == "sse" else "streamable-http",
        host=host,
        bearer_token=token,
        allowed_hosts=settings.mcp_allowed_hosts,
        token_setting=settings.bearer_token_variable,
        stateless=stateless,
    )
    if transport == "streamable-http":
        logger.info("Streamable HTTP is %s", "stateless" if stateless else "stateful (sessions live in this process)")
    await serve_http(app, host, port, log_level, limits, sock)


# --- Serving an ASGI app on loopback in this event loop (the emulators, in tests and benchmarks) -----------

READY_TIMEOUT = 10.0
POLL_INTERVAL = 0.005
SHUTDOWN_GRACE = 1
"""Seconds in-flight requests get at shutdown before they are cancelled."""
STOP_TIMEOUT = 5.0
"""Seconds beyond the grace period to wait for uvicorn to stop before giving up on a clean shutdown."""


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers (the embedding program owns them); a failed bind is reported."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_failed = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def run_until_exit(self) -> None:
        try:
            await self.serve()
        except SystemExit:  # uvicorn exits when it cannot bind
            self.startup_failed = True


@contextlib.asynccontextmanager
async def serve_on_loopback(
    app: ASGIApp,
    *,
    name: str,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_timeout: float = READY_TIMEOUT,
    limits: HttpLimits | None = None,
    lifespan: Literal["on", "off"] = "off",
) -> AsyncIterator[str]:
    """Serve an ASGI app (the project's emulators) on `host:port` (0 picks a free port) in this event loop and
    yield `http://host:port` once uvicorn is listening. On exit the server stops, even when an exception or a
    cancellation is on its way out, so the listening socket is never leaked.

    With `limits`, the app is served as `serve_http` serves it (`uvicorn_config`); without, as uvicorn does."""
    options: dict[str, Any] = {
        "lifespan": lifespan,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE,
    }
    if limits is None:
        config = uvicorn.Config(app, host=host, port=port, **options)
    else:
        config = uvicorn_config(app, host=host, port=port, limits=limits, **options)
    server = EmbeddedServer(config)
    stopped = anyio.Event()

    async def run() -> None:
        try:
            await server.run_until_exit()
        finally:
            stopped.set()

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            try:
                with anyio.fail_after(ready_timeout):
                    while not server.started:
                        if server.startup_failed:
                            raise OSError(f"the {name} could not listen on {host}:{port}")
                        await anyio.sleep(POLL_INTERVAL)
                bound = server.servers[0].sockets[0].getsockname()[1]
                url = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
                logger.info("%s listening on %s", name, url)
                yield url
            finally:
                # Let uvicorn shut down (closing its sockets) even when an exception or cancellation is on its way out,
                # instead of the task group cancelling it mid-loop and leaking the listening socket.
                server.should_exit = True
                with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_GRACE + STOP_TIMEOUT):
                    await stopped.wait()
    except BaseExceptionGroup as group:  # the caller's own exception, not wrapped by the task group
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (argparse's usage block runs to many lines)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


async def serve_until_signal(
    serving: contextlib.AbstractAsyncContextManager[str], banner: Callable[[str], str]
) -> None:
    """Enter `serving` (it yields the URL), print `banner(url)` on stderr, and return on SIGINT or SIGTERM."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serving as url:
            print(banner(url), file=sys.stderr, flush=True)
            async for received in signals:
                logger.info("Received %s, shutting down", signal.Signals(received).name)
                return


def run_loopback_main(run: Callable[[argparse.Namespace], Awaitable[None]], args: argparse.Namespace) -> int:
    """The `main` of a `python -m ...emulator` command: logging to stderr (`args.verbose`: every request), then
    `run(args)`; a bad argument or a port in use is one line and exit code 2."""
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        anyio.run(run, args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
