"""Serving an MCP server (stdio, Streamable HTTP, SSE): bearer token, Host/Origin checks, HTTP limits, stateless
Streamable HTTP (any replica answers any request). Both MCP servers use it; serving a plain ASGI app inside a
program is `support_core.embedded`, host checks and binding are `support_core.loopback`."""

from __future__ import annotations

import hmac
import logging
import socket
from typing import Literal, Protocol

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from support_core.embedded import PromptServer
from support_core.errors import ConfigError
from support_core.http_limits import HttpLimits, uvicorn_config
from support_core.loopback import is_loopback
from support_core.stdio_pipes import serve_stdio

logger = logging.getLogger(__name__)

Transport = Literal["stdio", "streamable-http", "sse"]
PUBLIC_PATHS = frozenset({"/health"})
MCP_PATH = "/mcp"


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
    await PromptServer(config).serve(sockets=[sock] if sock is not None else None)


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
