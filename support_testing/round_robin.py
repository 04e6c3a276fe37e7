"""A loopback round-robin reverse proxy for tests: each request goes to the next upstream in turn, with no session
affinity at all (no cookie, no header and no client connection keeps a client on one upstream), and responses,
Server-Sent Events included, stream through as they arrive.

    proxy = RoundRobinProxy(["http://127.0.0.1:8000", "http://127.0.0.1:8002"])
    async with serve_round_robin(proxy) as url:  # http://127.0.0.1:PORT, forwarding every path
        ...
    proxy.requests  # [n0, n1]: how many requests each upstream received

`python -m support_testing.round_robin --port 8080 URL URL ...` runs one by hand until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import anyio
import httpx
from starlette.types import Message, Receive, Scope, Send

from support_core.embedded import run_loopback_main, serve_on_loopback, serve_until_signal

__all__ = ["RoundRobinProxy", "main", "serve_round_robin"]

logger = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
"""Headers that describe one connection, not the request (RFC 9110 7.6.1), and Host, which names the upstream."""


class RoundRobinProxy:
    """An ASGI app forwarding request `n` to `upstreams[n % len(upstreams)]`, counting requests per upstream.

    The request body is read whole (MCP requests are small JSON) and the response is streamed back chunk by chunk
    without decoding, so Content-Length and Content-Encoding stay true. An upstream that cannot be reached answers
    502; the proxy never retries on another one (a retried POST could run a tool twice)."""

    def __init__(self, upstreams: Sequence[str], *, timeout: float = 60.0) -> None:
        if not upstreams:
            raise ValueError("a round-robin proxy needs at least one upstream URL")
        self.upstreams = [url.rstrip("/") for url in upstreams]
        self.requests = [0] * len(self.upstreams)
        """How many requests each upstream was sent, in the order of `upstreams`."""
        self._turn = 0
        self._timeout = httpx.Timeout(timeout, connect=5.0)
        self._http: httpx.AsyncClient | None = None

    def _next_upstream(self) -> int:
        index = self._turn % len(self.upstreams)
        self._turn += 1
        self.requests[index] += 1
        return index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan to run; websockets are not proxied
            return
        index = self._next_upstream()
        upstream = self.upstreams[index]
        body = await _read_body(receive)
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in HOP_BY_HOP]
        path = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{upstream}{path}?{query}" if query else f"{upstream}{path}"
        http = self._client()
        request = http.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await http.send(request, stream=True)
        except httpx.HTTPError as exc:
            logger.info("Upstream %s failed: %s", upstream, type(exc).__name__)
            await _plain(send, 502, f"upstream {urlsplit(upstream).netloc} failed: {type(exc).__name__}")
            return
        try:
            await self._relay(response, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def _relay(self, response: httpx.Response, receive: Receive, send: Send) -> None:
        """Stream `response` to the client until it ends or the client goes away (an open SSE stream would otherwise
        keep its upstream connection until the upstream next writes)."""
        headers = [(name.lower(), value) for name, value in response.headers.raw if name.lower() not in HOP_BY_HOP]
        async with anyio.create_task_group() as tasks:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch_disconnect)
            await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
            try:
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx.HTTPError as exc:  # the upstream broke off mid-response: end ours, the client will notice
                logger.info("Upstream response broke off: %s", type(exc).__name__)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tasks.cancel_scope.cancel()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, trust_env=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def serve_round_robin(proxy: RoundRobinProxy, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `proxy` on `host:port` (0: a free port) in this event loop; yields its base URL."""
    try:
        async with serve_on_loopback(proxy, name="round-robin proxy", host=host, port=port) as url:
            yield url
    finally:
        await proxy.aclose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m support_testing.round_robin", description=__doc__.split("\n")[0])
    parser.add_argument("upstreams", nargs="+", help="base URLs of the replicas, e.g. http://127.0.0.1:8000")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one; default 8080)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    proxy = RoundRobinProxy(args.upstreams)

    def banner(url: str) -> str:
        return f"Round-robin proxy on {url} -> {', '.join(proxy.upstreams)}"

    await serve_until_signal(serve_round_robin(proxy, host=args.host, port=args.port), banner)
    logger.info("Requests per upstream: %s", dict(zip(proxy.upstreams, proxy.requests, strict=True)))


def main(argv: list[str] | None = None) -> int:
    return run_loopback_main(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
