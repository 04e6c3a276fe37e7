"""Serving any ASGI app with uvicorn inside a running program: the project's emulators on loopback (tests,
benchmarks, `python -m support_testing.<emulator>`) and `support-agent serve`. uvicorn's own signal handling is
left to the embedding program, a failed bind is reported instead of exiting, and stopping never leaks the socket.
No MCP import here: an emulator process starts without the SDK."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Literal

import anyio
import uvicorn
from starlette.types import ASGIApp

from support_core.http_limits import HttpLimits, uvicorn_config

__all__ = [
    "READY_TIMEOUT",
    "EmbeddedServer",
    "PromptServer",
    "run_loopback_main",
    "serve_on_loopback",
    "serve_until_signal",
]

logger = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
POLL_INTERVAL = 0.005
SHUTDOWN_GRACE = 1
"""Seconds in-flight requests get at shutdown before they are cancelled."""
STOP_TIMEOUT = 5.0
"""Seconds beyond the grace period to wait for uvicorn to stop before giving up on a clean shutdown."""


class PromptServer(uvicorn.Server):
    """uvicorn that stops in milliseconds instead of ~0.2 s (`serve_http` and `EmbeddedServer` use it).

    uvicorn notices `should_exit` only at its next tick (every 0.1 s) and then pauses 0.1 s before looking at the
    open connections, which it checks every 0.1 s. Here setting `should_exit` (uvicorn's own signal handler does)
    ends the tick loop at once, and the connections are checked every `POLL_INTERVAL` from the start; requests under
    way still get `timeout_graceful_shutdown` seconds, as with uvicorn. (A test suite starts and stops a server for
    most tests: those pauses were a good part of its run.)
    """

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_requested = asyncio.Event()
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value:
            self._exit_requested.set()

    async def main_loop(self) -> None:
        """uvicorn's loop of a tick every 0.1 s (the Date header, the request limit), left as soon as `should_exit`
        is set."""
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._exit_requested.wait()
            should_exit = await self.on_tick(counter)

    @property
    def _busy(self) -> bool:
        """Connections still open or requests still running, unless a forced exit was asked for."""
        return bool(self.server_state.connections or self.server_state.tasks) and not self.force_exit

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown (stop listening, close idle connections, let requests under way finish within the
        grace period, cancel the rest, then the lifespan's shutdown), without its pauses of 0.1 s."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while self._busy:  # noqa: ASYNC110 - uvicorn keeps no event for it: looked at every POLL_INTERVAL
                    await asyncio.sleep(POLL_INTERVAL)
                for server in self.servers:
                    await server.wait_closed()
        except TimeoutError:
            logger.error("Cancelling %d request(s) still running after the grace period", len(self.server_state.tasks))
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()


class EmbeddedServer(PromptServer):
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
