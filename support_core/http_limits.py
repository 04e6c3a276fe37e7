"""HTTP limits every server of the project applies: which proxies to believe, how long to wait for a client,
how many clients at once, how big headers may be (uvicorn alone has no header timeout and trusts 127.0.0.1)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import math
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import anyio
import h11
import uvicorn
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from support_core.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpLimits:
    """How an HTTP server treats its clients. The defaults believe no proxy headers and cut off slow clients."""

    forwarded_allow_ips: str | None = None
    """Proxies (comma-separated addresses or networks, `*`: any) whose X-Forwarded-For/-Proto set the client address
    and scheme. None: nobody's; uvicorn would otherwise believe any process on 127.0.0.1."""
    limit_concurrency: int = 100
    """Open connections (and requests in progress) beyond which a request gets 503 (uvicorn's limit_concurrency)."""
    timeout_headers: float = 10.0
    """Seconds a client has to send a request's line and headers, from connecting or from its first byte."""
    timeout_body: float = 30.0
    """Seconds a request's whole body may take to arrive once its headers are in (then 408 and disconnect)."""
    timeout_keep_alive: int = 5
    """Seconds an idle kept-alive connection stays open waiting for the next request."""
    max_header_size: int = 16 * 1024
    """Largest request line plus headers, in bytes; beyond it: 431."""

    def __post_init__(self) -> None:
        numbers = {
            "--limit-concurrency": self.limit_concurrency,
            "--timeout-headers": self.timeout_headers,
            "--timeout-body": self.timeout_body,
            "--timeout-keep-alive": self.timeout_keep_alive,
            "--max-header-size": self.max_header_size,
        }
        for flag, value in numbers.items():
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{flag} must be a number more than 0 (got {value:g}).")
        if self.limit_concurrency < 2:
            raise ConfigError("--limit-concurrency must be at least 2 (the connection asking counts too).")
        if self.forwarded_allow_ips is not None:
            check_forwarded_allow_ips(self.forwarded_allow_ips)


def check_forwarded_allow_ips(value: str) -> None:
    """`ConfigError` unless `value` is `*` or comma-separated IP addresses and networks, written as uvicorn reads
    them (it would silently never match a malformed entry, such as a network with host bits set)."""
    entries = [entry.strip() for entry in value.split(",")]
    if entries == ["*"]:
        return
    for entry in entries:
        try:
            if "/" in entry:
                ipaddress.ip_network(entry)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            raise ConfigError(
                f"Trusted proxies (--forwarded-allow-ips or its setting): {entry!r} is not an IP address or network "
                "(write addresses and networks like 127.0.0.1, ::1, 10.0.0.0/8, separated by commas, or *)."
            ) from None


def add_http_flags(parser: argparse.ArgumentParser, *, forwarded_env: str) -> None:
    """The HTTP limit flags (defaults from `HttpLimits`); `forwarded_env` names the setting the first one overrides."""
    defaults = HttpLimits()
    group = parser.add_argument_group("HTTP limits")
    group.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="reverse proxies whose X-Forwarded-For/-Proto are believed: comma-separated addresses or networks "
        f"(127.0.0.1, 10.0.0.0/8), or * for any; overrides {forwarded_env}; default: none (the connecting address "
        "is the client's)",
    )
    limits: tuple[tuple[str, type, str, str], ...] = (
        ("--limit-concurrency", int, "N", "connections and requests at once; beyond: 503"),
        ("--timeout-headers", float, "SECONDS", "time for a request's headers to arrive; then 408 and disconnect"),
        ("--timeout-body", float, "SECONDS", "time for a request's body to arrive after its headers; then 408"),
        ("--timeout-keep-alive", int, "SECONDS", "how long an idle connection is kept open"),
        ("--max-header-size", int, "BYTES", "largest request line plus headers; beyond: 431"),
    )
    for flag, kind, metavar, text in limits:
        default = getattr(defaults, flag[2:].replace("-", "_"))
        group.add_argument(flag, type=kind, default=default, metavar=metavar, help=f"{text} (default {default:g})")


def http_limits(args: argparse.Namespace, forwarded_allow_ips: str | None = None) -> HttpLimits:
    """`HttpLimits` from the flags of `add_http_flags`; `forwarded_allow_ips` is the environment setting, which
    `--forwarded-allow-ips` overrides. An empty value means no proxy. `ConfigError` for a bad value."""
    forwarded = args.forwarded_allow_ips if args.forwarded_allow_ips is not None else forwarded_allow_ips
    if forwarded is not None and not forwarded.strip():
        forwarded = None
    return HttpLimits(
        forwarded_allow_ips=forwarded,
        limit_concurrency=args.limit_concurrency,
        timeout_headers=args.timeout_headers,
        timeout_body=args.timeout_body,
        timeout_keep_alive=args.timeout_keep_alive,
        max_header_size=args.max_header_size,
    )


_HEAD_END = re.compile(rb"\r?\n\r?\n")


def _json_error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with two limits on a request's line and headers (the head), which uvicorn lacks:

    - a deadline: a client that connects, or starts a request on a kept-alive connection, and has not finished the
      head `timeout_headers` seconds later gets 408 and is disconnected (uvicorn's keep-alive timer stops at the
      first byte, so a client trickling headers could hold the connection for ever);
    - a size: a head over `max_header_size` bytes gets 431 however it arrives (h11's own limit, which uvicorn sets
      from h11_max_incomplete_event_size, applies only to a head still incomplete after a read).
    """

    timeout_headers = HttpLimits.timeout_headers
    max_header_size = HttpLimits.max_header_size

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_timer: asyncio.TimerHandle | None = None
        self._head_received = 0
        """Bytes of the awaited head received so far."""
        self._head_tail = b""
        """Its last bytes, where the blank line ending the head may have begun."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_size(data) > self.max_header_size:
            logger.info("Refused a request whose line and headers are over %d bytes", self.max_header_size)
            self._refuse(431, f"The request line and headers are over {self.max_header_size} bytes.")
            return
        super().data_received(data)
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_headers_timer()
        super().connection_lost(exc)

    def _head_size(self, data: bytes) -> int:
        """Bytes of the awaited head with `data` (which may hold the body too): so far, or in all when it ends.
        Only `data` is searched, so a head trickled byte by byte costs linear time."""
        window = self._head_tail + data
        end = _HEAD_END.search(window)
        size = self._head_received + (len(data) if end is None else end.end() - len(self._head_tail))
        self._head_received += len(data)
        self._head_tail = window[-3:]
        return size

    def _watch_headers(self) -> None:
        """Time the head while it is awaited: h11 has no request yet and the keep-alive timer is not running."""
        if self.conn.their_state is not h11.IDLE:
            self._head_received, self._head_tail = 0, b""  # the next head starts afresh
        awaiting = self.conn.their_state is h11.IDLE and self.timeout_keep_alive_task is None
        if not awaiting or self.transport.is_closing():
            self._stop_headers_timer()
        elif self._headers_timer is None:
            self._headers_timer = self.loop.call_later(self.timeout_headers, self._headers_timed_out)

    def _stop_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_timed_out(self) -> None:
        self._headers_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        logger.info("Closed a connection that sent no complete request headers within %g s", self.timeout_headers)
        self._refuse(408, f"The request headers did not arrive within {self.timeout_headers:g} s.")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with `message` and hang up. h11 cannot answer a request it has not parsed, so the response
        is written as bytes."""
        body = _json_error(message)
        head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        self.transport.write(head.encode() + body)
        self.transport.close()


def limited_protocol(limits: HttpLimits) -> type[LimitedH11Protocol]:
    """`LimitedH11Protocol` with `limits` set (uvicorn builds each connection's protocol from a class)."""
    settings = {"timeout_headers": limits.timeout_headers, "max_header_size": limits.max_header_size}
    return type("LimitedH11Protocol", (LimitedH11Protocol,), settings)


class BodyTimeoutMiddleware:
    """Answers 408 and closes the connection when a request's body has not fully arrived `timeout` seconds after its
    headers (a client trickling the body would otherwise hold a connection and a task for as long as it likes).
    The application then sees the client as disconnected; what it sends afterwards is dropped."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self._app = app
        self._timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        deadline = anyio.current_time() + self._timeout
        body_done = timed_out = answered = started = False

        async def receive_in_time() -> Message:
            nonlocal body_done, timed_out, answered
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not started:
                    answered = True
                    body = _json_error(f"The request body did not arrive within {self._timeout:g} s.")
                    headers = [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ]
                    await send({"type": "http.response.start", "status": 408, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                return {"type": "http.disconnect"}
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_unless_answered(message: Message) -> None:
            nonlocal started
            if answered:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive_in_time, send_unless_answered)
        except ClientDisconnect:  # Starlette's reaction to the disconnect we reported; the client has its 408
            if not timed_out:
                raise


def uvicorn_config(app: ASGIApp, *, host: str, port: int, limits: HttpLimits, **options: Any) -> uvicorn.Config:
    """A uvicorn Config applying `limits` to `app` (`options`: other Config arguments, such as log_level).

    Proxy headers are honoured only from `limits.forwarded_allow_ips`; uvicorn's own default (trust 127.0.0.1, or
    its FORWARDED_ALLOW_IPS variable) is not used.
    """
    return uvicorn.Config(
        BodyTimeoutMiddleware(app, limits.timeout_body),
        host=host,
        port=port,
        http=limited_protocol(limits),
        proxy_headers=limits.forwarded_allow_ips is not None,
        forwarded_allow_ips=limits.forwarded_allow_ips or [],
        limit_concurrency=limits.limit_concurrency,
        timeout_keep_alive=limits.timeout_keep_alive,
        h11_max_incomplete_event_size=limits.max_header_size,
        **options,
    )
