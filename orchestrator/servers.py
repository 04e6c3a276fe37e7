"""The orchestrator's MCP clients of the Shopify and Gmail servers: stdio subprocesses by default, or URLs."""

from __future__ import annotations

import contextlib
import logging
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, CallToolRequest, CallToolRequestParams, CallToolResult, Tool

from orchestrator.errors import ServerUnavailableError, ToolCallError

logger = logging.getLogger(__name__)

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    ConnectionError,
    OSError,
)


RESTART_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, TimeoutError, MCPError)


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one server: a module to spawn over stdio with an explicit environment, or a URL."""

    name: str
    module: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None

    @property
    def trusted(self) -> bool:
        """A server we spawn ourselves: it validates what it returns with pydantic before sending it, so checking
        each result again against its output schema (jsonschema, a quarter of the daemon's CPU) buys nothing.
        Results from a URL are still checked, by the SDK's `call_tool`."""
        return self.url is None

    def target(self) -> StdioServerParameters | str:
        if self.url:
            return self.url
        assert self.module, "a ServerSpec needs a module or a url"
        # The SDK's stdio client forwards almost no environment: every setting is passed here explicitly.
        return StdioServerParameters(
            command=sys.executable, args=["-m", self.module, "--log-level", "WARNING"], env=self.env
        )


class ServerConnection:
    """One MCP client session, kept by its own task; a call that finds the server dead restarts it and retries once.

    The session is opened and closed inside `keep()` (anyio requires a task to exit what it entered); any task
    may call tools on it concurrently.
    """

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self._client: Client | None = None
        self._ready = anyio.Event()
        self._restart = anyio.Event()
        self._changed = anyio.Event()
        self._closing = False
        self._tools: list[Tool] | None = None
        self.restarts = 0
        self.calls = 0

    async def keep(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        started = False
        while not self._closing:
            async with Client(self.spec.target()) as client:
                self._client = client
                self._ready.set()
                self._changed.set()
                self._changed = anyio.Event()
                if not started:
                    task_status.started()
                    started = True
                await self._restart.wait()
            self._client = None
            if not self._closing:
                self.restarts += 1
                logger.warning("The %s tool server died; restarting it", self.spec.name)
            self._ready, self._restart = anyio.Event(), anyio.Event()

    async def _session(self) -> Client:
        await self._ready.wait()
        assert self._client is not None
        return self._client

    async def tools(self) -> list[Tool]:
        if self._tools is None:
            self._tools = list((await (await self._session()).list_tools()).tools)
        return self._tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Structured result of a tool; `ToolCallError` when the tool reports an error."""
        self.calls += 1
        client = await self._session()
        try:
            result = await self._call_tool(client, tool, arguments)
        except RESTART_ERRORS as exc:
            if isinstance(exc, TimeoutError) or (isinstance(exc, MCPError) and exc.error.code != CONNECTION_CLOSED):
                raise
            if self._client is client:
                self._restart.set()
            try:
                with anyio.fail_after(60):
                    while self._client is None or self._client is client:  # the keeper is restarting it
                        await self._changed.wait()
                    result = await self._call_tool(self._client, tool, arguments)
            except RESTART_ERRORS as exc:
                raise ServerUnavailableError(f"The {self.spec.name} tool server is unavailable ({exc!r}).") from None
        if result.is_error:
            text = " ".join(getattr(c, "text", "") for c in result.content).strip()
            raise ToolCallError(self.spec.name, tool, text.removeprefix(f"Error executing tool {tool}: "))
        return dict(result.structured_content or {})

    async def _call_tool(self, client: Client, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        if not self.spec.trusted:
            return await client.call_tool(tool, arguments)
        # The session's plain request: the same JSON-RPC call and result model as `call_tool`, without the
        # output-schema check and the input-required/claimed-result handling, which our servers never use.
        request = CallToolRequest(params=CallToolRequestParams(name=tool, arguments=arguments))
        return await client.session.send_request(request, CallToolResult)

    def close(self) -> None:
        self._closing = True
        self._restart.set()


class ToolServers:
    """Both tool servers, opened together: `async with ToolServers(shopify_spec, gmail_spec) as servers`."""

    def __init__(self, shopify: ServerSpec, gmail: ServerSpec) -> None:
        self.shopify = ServerConnection(shopify)
        self.gmail = ServerConnection(gmail)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> ToolServers:
        tg = await self._stack.enter_async_context(anyio.create_task_group())
        for connection in (self.shopify, self.gmail):
            try:
                await tg.start(connection.keep)
            except (Exception, BaseExceptionGroup) as exc:  # the child exited at start-up: it said why on stderr
                logger.debug("The %s tool server did not start: %r", connection.spec.name, exc)
                self.shopify.close()
                self.gmail.close()
                with contextlib.suppress(Exception, BaseExceptionGroup):
                    await self._stack.aclose()
                raise ServerUnavailableError(
                    f"The {connection.spec.name} tool server did not start (its own message, above, says why)."
                ) from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gmail.close()
        self.shopify.close()
        await self._stack.aclose()
