"""The HTTP API of `support-agent serve`: POST /chat (secret, limits, validated history), health probes, metrics."""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestrator.chat import ChatTurn, answer, router
from orchestrator.config import AgentConfig
from orchestrator.errors import LedgerError, RequestError, ServerUnavailableError, ToolCallError
from orchestrator.ledger import Ledger, LedgerEntry
from orchestrator.metrics import CONTENT_TYPE, Metrics
from orchestrator.servers import ServerConnection, ToolServers
from support_core.addresses import AddressError, normalise_address
from support_core.version import __version__

if TYPE_CHECKING:  # the openai client is imported only when an LLM is configured
    from orchestrator.llm import LLM

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_TEXT = 4000
MAX_TURNS = 20
PROBE_TIMEOUT = 3.0


# --- requests ---------------------------------------------------------------------------------------------------


class HistoryItem(BaseModel):
    """One earlier turn: only the customer's (`user`) and ours (`assistant`); no system or tool messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TEXT)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str = Field(min_length=1, max_length=MAX_TEXT)
    history: list[HistoryItem] = Field(default_factory=list, max_length=MAX_TURNS)
    customer_email: str | None = Field(default=None, max_length=254)
    """The customer the trusted caller has authenticated; order tools disclose details only to this address."""

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is empty")
        return value

    @field_validator("customer_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_address(value)
        except AddressError as exc:
            raise ValueError(f"customer_email must be one email address, like name@example.com: {exc}") from None


def readable(exc: ValidationError) -> str:
    """Validation errors as one sentence per problem: `history.2.role: Input should be 'user' or 'assistant'`."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


# --- rate limit -------------------------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per client: `rate` requests per second on average, bursts of up to `burst`."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """0 if the request may go ahead (a token is taken), else the seconds until the next token."""
        now = self._clock()
        tokens, updated = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)  # the least recently seen client starts afresh
        return wait


# --- health -----------------------------------------------------------------------------------------------------


@dataclass
class HealthState:
    """What the probes cannot ask a component directly: the worker's progress and the last LLM call's outcome."""

    worker_expected: bool = False
    worker_alive: bool = False
    poll_interval: float = 60.0
    last_poll: float | None = None
    """Wall-clock time (time.time()) of the last successful poll."""
    last_poll_error: str | None = None
    llm_last_ok: float | None = None
    llm_last_error: str | None = None
    started: float = field(default_factory=time.time)

    def note_poll(self, error: str | None = None) -> None:
        if error is None:
            self.last_poll, self.last_poll_error = time.time(), None
        else:
            self.last_poll_error = error

    def note_entry(self, entry: LedgerEntry) -> None:
        """The LLM's last status as the daemon saw it: a message that used it, or failed on it."""
        if entry.error and "LLM" in entry.error:
            self.llm_last_error = entry.error[:300]
        elif entry.llm_calls and entry.state in ("done", "ignored", "alerted"):
            self.llm_last_ok, self.llm_last_error = time.time(), None

    def stale_after(self) -> float:
        """A worker that has not polled successfully for this long is reported stuck."""
        return max(3 * self.poll_interval, 30.0) + 60.0


async def ping(connection: ServerConnection) -> None:
    """One MCP round trip to the server: tools/list past the caches (`tools()` is cached and MCP's ping is
    deprecated), so a dead process is noticed."""
    client = connection._client  # ServerConnection has no public liveness call yet
    if client is None:
        raise ServerUnavailableError(f"the {connection.spec.name} server is (re)starting")
    await client.list_tools(cache_mode="bypass")


Check = dict[str, Any]


async def probe_server(connection: ServerConnection) -> Check:
    started = time.perf_counter()
    try:
        with anyio.fail_after(PROBE_TIMEOUT):
            await ping(connection)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {PROBE_TIMEOUT:g} s"}
    except Exception as exc:  # any failure of the probe means the server is not usable: name it, do not crash
        return {"ok": False, "error": f"unreachable ({type(exc).__name__}: {exc})"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), "restarts": connection.restarts}


async def probe_ledger(ledger: Ledger, mailbox: str = "default") -> Check:
    try:
        with anyio.fail_after(PROBE_TIMEOUT):
            counts = await ledger.counts_by_state()
            cursor = await ledger.get_cursor(mailbox)
            if cursor is not None:
                await ledger.set_cursor(mailbox, cursor)  # takes the write lock; stores nothing new
    except (LedgerError, TimeoutError) as exc:
        return {"ok": False, "error": str(exc) or "no answer in time"}
    check: Check = {"ok": True, "backend": ledger.backend, "backlog": counts["new"] + counts["failed"]}
    check["states"] = dict(counts)
    path = ledger.path
    if path is not None and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        check["ok"] = False
        check["error"] = f"{path} or its folder is not writable by this user"
    return check


def probe_llm(llm: LLM | None, health: HealthState) -> Check:
    if llm is None:
        return {"ok": True, "configured": False, "engine": "offline"}
    return {
        "ok": health.llm_last_error is None,
        "configured": True,
        "endpoint": llm.endpoint,
        "paused": llm.paused,  # after an outage: the offline engine answers until the pause ends
        "last_ok": health.llm_last_ok,
        "last_error": health.llm_last_error,
    }


def probe_worker(health: HealthState) -> Check:
    if not health.worker_expected:
        return {"ok": True, "running": False}
    last = health.last_poll if health.last_poll is not None else health.started
    stale = time.time() - last > health.stale_after()
    check: Check = {
        "ok": health.worker_alive and not stale,
        "running": health.worker_alive,
        "last_poll": health.last_poll,
        "last_poll_error": health.last_poll_error,
    }
    if not health.worker_alive:
        check["error"] = "the inbox worker is not running"
    elif stale:
        check["error"] = f"no successful poll for over {health.stale_after():g} s"
    return check


async def health_report(
    servers: ToolServers, ledger: Ledger, llm: LLM | None, health: HealthState, mailbox: str = "default"
) -> Check:
    checks: dict[str, Check] = {}

    async def run(name: str, probe: Callable[[], Awaitable[Check]]) -> None:
        checks[name] = await probe()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "shopify", lambda: probe_server(servers.shopify))
        tg.start_soon(run, "gmail", lambda: probe_server(servers.gmail))
        tg.start_soon(run, "ledger", lambda: probe_ledger(ledger, mailbox))
    checks["llm"] = probe_llm(llm, health)
    checks["worker"] = probe_worker(health)
    order = ("shopify", "gmail", "llm", "worker", "ledger")
    failing = [name for name in order if not checks[name]["ok"]]
    return {
        "status": "degraded" if failing else "healthy",
        "failing": failing,
        "backlog": checks["ledger"].get("backlog"),
        "checks": {name: checks[name] for name in order},
    }


# --- the app ----------------------------------------------------------------------------------------------------


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed `limit` bytes: by Content-Length or while read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"The request body is over {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"The request body is over {limit} bytes.")
    return bytes(body)


def parse_chat(body: bytes) -> ChatRequest:
    """The request, or `RequestError` 422 saying what is wrong: never an exception the caller sees as a 500."""
    try:
        data = json.loads(body)
    except RecursionError:  # json's parser recurses per nesting level: [[[[...]]]] exhausts the stack
        raise RequestError(422, "The body is JSON nested too deeply to be a chat request.") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and numbers too long to convert
        raise RequestError(422, f"The body is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise RequestError(422, 'The body must be a JSON object like {"message": "..."}.')
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestError(422, f"Invalid request: {readable(exc)}.") from None


def create_app(
    *,
    servers: ToolServers,
    config: AgentConfig,
    secret: str | None,
    insecure: bool,
    ledger: Ledger,
    metrics: Metrics,
    llm: LLM | None,
    health_state: HealthState,
    mailbox: str = "default",
    rate_per_minute: float = 30,
    burst: int = 10,
    max_body: int = MAX_BODY,
) -> Starlette:
    """The Starlette app: `POST /chat` (X-Secret), `GET /` and `GET /health` (probes), `GET /metrics`.

    Without a `secret` the app is refused unless `insecure` (the caller checks the host is loopback). The health
    probes' details (counts, errors, what fails) go only to callers with the X-Secret; others get the status alone.
    """
    if not secret and not insecure:
        raise ValueError("The API needs a secret (X-Secret); run without one only with the explicit insecure flag.")
    expected = secret.encode() if secret else None
    limiter = RateLimiter(rate=rate_per_minute / 60, burst=burst)
    pipeline = router(servers, config, llm)

    def authorize(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-secret", "").encode()
        if not hmac.compare_digest(given, expected):
            raise RequestError(401, "Missing or wrong X-Secret header.")

    def limit(request: Request) -> None:
        """Take one of the client's tokens, or `RequestError` 429 when it has none left."""
        wait = limiter.take(request.client.host if request.client else "unknown")
        if wait:
            retry = str(max(1, int(wait + 0.999)))
            raise RequestError(429, f"Too many requests: try again in {retry} s.", {"Retry-After": retry})

    def vouched(request: Request) -> bool:
        """True for the right X-Secret (or no secret configured), False for none; a wrong one is 401 and costs a token
        of the client's /chat rate limit, so /health is no free oracle for guessing the secret."""
        if expected is None:
            return True
        given = request.headers.get("x-secret")
        if given is None:
            return False
        if hmac.compare_digest(given.encode(), expected):
            return True
        limit(request)
        raise RequestError(401, "Wrong X-Secret header (send none to get the status alone).")

    async def chat(request: Request) -> Response:
        try:
            limit(request)
            authorize(request)
            body = parse_chat(await read_body(request, max_body))
            history = [ChatTurn("customer" if h.role == "user" else "agent", h.content) for h in body.history]
            reply = await answer(
                servers,
                config,
                body.message,
                customer_email=body.customer_email,
                history=history,
                pipeline=pipeline,
                escalate=True,
            )
        except RequestError as exc:
            metrics.chat_requests.labels(status=str(exc.status)).inc()
            return error(exc.status, str(exc), exc.headers)
        except ClientDisconnect:
            return Response(status_code=400)
        except (ToolCallError, ServerUnavailableError, TimeoutError) as exc:
            logger.warning("POST /chat: a tool server failed (%s)", type(exc).__name__)
            metrics.chat_requests.labels(status="503").inc()
            return error(503, "A tool server is unavailable; try again shortly.")
        metrics.chat_requests.labels(status="200").inc()
        turns = [h.model_dump() for h in body.history]
        turns += [{"role": "user", "content": body.message}, {"role": "assistant", "content": reply.response}]
        return JSONResponse(
            {
                "response": reply.response,
                "category": reply.category,
                "language": reply.language,
                "history": turns,
                "tools_used": list(reply.tools_used),
                "handover": reply.handover,
                "ticket": reply.ticket,
            }
        )

    async def health(request: Request) -> Response:
        try:
            details = vouched(request)
        except RequestError as exc:
            return error(exc.status, str(exc), exc.headers)
        report = await health_report(servers, ledger, llm, health_state, mailbox)
        shown = report if details else {"status": report["status"]}
        if request.url.path == "/":
            about = {"name": "support-agent", "version": __version__} if details else {"name": "support-agent"}
            shown = {**about, **shown}
        return JSONResponse(shown, status_code=200 if report["status"] == "healthy" else 503)

    async def scrape(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/", health, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", scrape, methods=["GET"]),
            Route("/chat", chat, methods=["POST"]),
        ]
    )
