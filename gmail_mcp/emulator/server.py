"""Serving the Gmail emulator on loopback with uvicorn (tests, benchmarks, `python -m gmail_mcp.emulator`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import anyio
import uvicorn

from gmail_mcp.emulator.app import GmailEmulator

logger = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
POLL_INTERVAL = 0.005
SHUTDOWN_GRACE = 1
"""Seconds in-flight requests (a `delay` fault may hold one) get at shutdown before they are cancelled."""
STOP_TIMEOUT = 5.0
"""Seconds beyond the grace period to wait for uvicorn to stop before giving up on a clean shutdown."""


class _EmbeddedServer(uvicorn.Server):
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
async def serve_emulator(
    emulator: GmailEmulator, host: str = "127.0.0.1", port: int = 0, *, ready_timeout: float = READY_TIMEOUT
) -> AsyncIterator[str]:
    """Serve `emulator` on `host:port` (0 picks a free port) in this event loop and yield `http://host:port`.

    Ready means uvicorn is listening. Point the Google client at it with `client_options={"api_endpoint": url + "/"}`
    and credentials whose `token_uri` is `url + "/token"`. On exit the server stops.
    """
    config = uvicorn.Config(
        emulator.app,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    server = _EmbeddedServer(config)
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
                            raise OSError(f"the Gmail emulator could not listen on {host}:{port}")
                        await anyio.sleep(POLL_INTERVAL)
                bound = server.servers[0].sockets[0].getsockname()[1]
                url = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
                logger.info("Gmail emulator listening on %s", url)
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
