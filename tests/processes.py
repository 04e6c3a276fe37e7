"""Running the project's servers as real subprocesses on loopback, with an asynchronous readiness check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` every 50 ms; fail the test, naming `what`, when it does not hold within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def shared_cache() -> dict[str, str]:
    """The test session's cache folder (tests/conftest.py), for a child process given a clean environment: the
    language model restricted to our languages is built once per test process, not once per command run."""
    from orchestrator.language_model import CACHE_ENV

    return {CACHE_ENV: os.environ[CACHE_ENV]} if CACHE_ENV in os.environ else {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    url: str


@asynccontextmanager
async def http_server(
    module: str, env: dict[str, str], *, transport: str = "streamable-http"
) -> AsyncIterator[RunningServer]:
    """`python -m <module> --transport ... --port N`, ready once GET /health answers 200; stopped on exit.

    Every wait is asynchronous: emulators the server talks to may share the test's event loop.
    """
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 (start-up only; the wait below is async)
        [sys.executable, "-m", module, "--transport", transport, "--port", str(port)],
        env=env,
        cwd=env.get("HOME"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            with anyio.fail_after(30):
                while True:
                    assert process.poll() is None, f"{module} exited during start-up"
                    try:
                        if (await http.get(f"{base}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.05)
        yield RunningServer(process, base)
    finally:
        process.terminate()
        process.wait(timeout=10)
