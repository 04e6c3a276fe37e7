"""`support_core.embedded`: stopping an embedded uvicorn keeps uvicorn's promises without its fixed pauses.

`EmbeddedServer` replaces uvicorn's tick loop and shutdown (see its docstring); these tests hold it to what uvicorn
itself does on a stop: the socket is closed, idle kept-alive connections do not hold the stop, a request under way
gets the grace period and its answer, and one that outlasts the grace period is cancelled.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from support_core.embedded import EmbeddedServer, serve_on_loopback

pytestmark = pytest.mark.anyio


class SlowApp:
    """Answers `/` at once and `/slow` after `delay` seconds; notes how each slow request ended."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started = anyio.Event()
        self.ended: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/slow":
            self.started.set()
            try:
                await anyio.sleep(self.delay)
            except anyio.get_cancelled_exc_class():
                self.ended.append("cancelled")
                raise
            self.ended.append("finished")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"done"})


@asynccontextmanager
async def embedded(app: SlowApp, grace: float) -> AsyncIterator[tuple[EmbeddedServer, str]]:
    """An `EmbeddedServer` with the grace period `grace`, running in this event loop until the block ends."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", timeout_graceful_shutdown=grace)
    server = EmbeddedServer(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.run_until_exit)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn keeps no event for it
                await anyio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield server, f"http://127.0.0.1:{port}"


def refuses(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


async def test_a_stop_closes_the_socket_without_waiting_for_idle_kept_alive_connections() -> None:
    async with httpx.AsyncClient() as http:
        with anyio.fail_after(10):  # waiting for the idle connection would hold the stop for the 30 s grace period
            async with embedded(SlowApp(0), grace=30) as (server, url):
                assert (await http.get(url)).status_code == 200  # the connection stays open, idle
                server.should_exit = True
        assert refuses(url), "the listening socket is closed"


async def test_serve_on_loopback_stops_even_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError, match="the caller's own"):
        async with serve_on_loopback(SlowApp(0), name="test app") as url:
            raise RuntimeError("the caller's own error")
    assert refuses(url)


async def test_a_request_under_way_gets_its_answer_within_the_grace_period() -> None:
    app = SlowApp(delay=0.3)
    async with embedded(app, grace=30) as (server, url), httpx.AsyncClient(timeout=10) as http:
        answers: list[httpx.Response] = []

        async def ask() -> None:
            answers.append(await http.get(f"{url}/slow"))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask)
            await app.started.wait()
            server.should_exit = True
    assert refuses(url)
    assert [a.status_code for a in answers] == [200] and answers[0].text == "done"
    assert app.ended == ["finished"]


async def test_a_request_that_outlasts_the_grace_period_is_cancelled() -> None:
    app = SlowApp(delay=30)
    outcome: list[int | str] = []

    async def ask(http: httpx.AsyncClient, url: str) -> None:
        try:
            outcome.append((await http.get(f"{url}/slow")).status_code)  # uvicorn's 500 for the cancelled request
        except httpx.RemoteProtocolError:
            outcome.append("closed without an answer")

    with anyio.fail_after(10):  # the request's 30 s are cut to the grace period's 0.2 s
        async with (
            embedded(app, grace=0.2) as (server, url),
            httpx.AsyncClient(timeout=10) as http,
            anyio.create_task_group() as tasks,
        ):
            tasks.start_soon(ask, http, url)
            await app.started.wait()
            server.should_exit = True
    assert app.ended == ["cancelled"]
    assert outcome and outcome[0] != 200
    assert refuses(url)
