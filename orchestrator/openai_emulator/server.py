"""Serving the OpenAI emulator on loopback with uvicorn: for tests, benchmarks and `python -m`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import anyio
import uvicorn

from orchestrator.openai_emulator.app import OpenAIEmulator

logger = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
POLL_INTERVAL = 0.005
SHUTDOWN_GRACE = 1
"""Seconds in-flight requests get at shutdown before they are cancelled."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the embedding program (or pytest) owns SIGINT/SIGTERM."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_failed = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve_once(self) -> None:
        try:
            await self.serve()
        except SystemExit:  # uvicorn exits when it cannot bind
            self.startup_failed = True


@contextlib.asynccontextmanager
async def serve_emulator(
    emulator: OpenAIEmulator, host: str = "127.0.0.1", port: int = 0, *, ready_timeout: float = READY_TIMEOUT
) -> AsyncIterator[str]:
    """Run `emulator` on `host:port` (0 picks a free port) in this event loop; yields the base URL, which ends
    with `/v1` (what `openai.AsyncOpenAI(base_url=...)` expects).

    Ready means uvicorn is listening; on exit the server stops and in-flight requests get `SHUTDOWN_GRACE` seconds.
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
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve_once)
        try:
            with anyio.fail_after(ready_timeout):
                while not server.started:
                    if server.startup_failed:
                        raise OSError(f"the OpenAI emulator could not listen on {host}:{port}")
                    await anyio.sleep(POLL_INTERVAL)
            bound = server.servers[0].sockets[0].getsockname()[1]
            root = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
            logger.info("OpenAI emulator listening on %s", root)
            yield f"{root}/v1"
        finally:
            server.should_exit = True
