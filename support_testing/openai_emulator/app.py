"""The emulator as an ASGI app: OpenAI's Chat Completions and Models endpoints, answered by a script, with faults."""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from support_testing.openai_emulator.answers import Answer, malformed_json, refusal
from support_testing.openai_emulator.conversation import message_text
from support_testing.openai_emulator.faults import Fault, FaultPlan, error_body
from support_testing.openai_emulator.scripts import DefaultScript, Script
from support_testing.openai_emulator.validation import RequestProblem, validate_request

logger = logging.getLogger(__name__)

EMULATOR_API_KEY = "sk-emulator-0123456789abcdef"
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "gpt-5-mini", "gpt-5")
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens each message costs on top of its text (role and separators), as in OpenAI's own accounting."""


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: one token per four characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_tokens(request: dict[str, Any]) -> int:
    """Tokens of the messages (text, tool calls), the offered tools and the response format."""
    total = 0
    for message in request.get("messages", []):
        total += MESSAGE_OVERHEAD + estimate_tokens(message_text(message))
        if message.get("tool_calls"):
            total += estimate_tokens(json.dumps(message["tool_calls"]))
    for key in ("tools", "response_format"):
        if request.get(key):
            total += estimate_tokens(json.dumps(request[key]))
    return total


def completion_tokens(answer: Answer) -> int:
    text = answer.content or answer.refusal or ""
    return estimate_tokens(text) + sum(estimate_tokens(c.name + c.arguments) for c in answer.tool_calls)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One chat completion request as the emulator saw it (never the API key).

    `kind` is the answer's kind (text, json, tool_calls, refusal, malformed_json) or what went wrong
    (http_<status>, unauthorized, invalid_request, unknown_model). `latency` is the time until the answer.
    """

    timestamp: float
    model: str | None
    messages: int
    tools: tuple[str, ...]
    response_format: str | None
    kind: str
    status: int
    fault: str | None
    latency: float
    usage: dict[str, int] | None
    request: dict[str, Any] | None
    answer: dict[str, Any] | None

    @property
    def tool_calls(self) -> list[tuple[str, str]]:
        """`(name, raw arguments)` of the tool calls this answer asked for."""
        if not self.answer:
            return []
        message = self.answer["choices"][0]["message"]
        return [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]


class OpenAIEmulator:
    """A loopback OpenAI-compatible endpoint. Mutable state for tests: `script`, `faults`, `latency`, `requests`.

    Every chat completion waits `latency` seconds (a model thinking), then takes the next fault from `faults`
    and asks `script` (a callable `request JSON -> Answer`) what to say.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        api_key: str = EMULATOR_API_KEY,
        models: Iterable[str] = DEFAULT_MODELS,
        script: Script | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.latency = latency
        self.api_key = api_key
        self.models: tuple[str, ...] = tuple(models)
        self.script: Script = script or DefaultScript()
        self.clock = clock
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    def authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.api_key

    async def _models(self, request: Request) -> Response:
        if not self.authorised(request):
            return _unauthorised(request)
        data = [{"id": model, "object": "model", "created": 0, "owned_by": "emulator"} for model in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _chat_completions(self, request: Request) -> Response:
        started = self.clock()
        fault = self.faults.next()
        body: Any = None
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        response, kind, answer = await self._answer(request, body, fault)
        self._log(body, kind, response, answer, fault, started)
        return response

    async def _answer(
        self, request: Request, body: Any, fault: Fault | None
    ) -> tuple[Response, str, dict[str, Any] | None]:
        """Faults replace the answer first (as infrastructure would), then the key, the body and the model count."""
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return JSONResponse(error_body(fault.status), fault.status, headers), f"http_{fault.status}", None
        if not self.authorised(request):
            return _unauthorised(request), "unauthorized", None
        if body is None:
            return _error(400, "We could not parse the JSON body of your request.", None), "invalid_request", None
        try:
            validate_request(body)
        except RequestProblem as problem:
            return _error(400, problem.message, problem.param), "invalid_request", None
        if body["model"] not in self.models:
            message = f"The model `{body['model']}` does not exist or you do not have access to it."
            return _error(404, message, None, code="model_not_found"), "unknown_model", None
        await _sleep_unless_disconnected(request, self.latency + (fault.seconds if fault else 0.0))
        scripted = self.script(body)
        if fault is not None and fault.kind == "refusal":
            scripted = refusal()
        elif fault is not None and fault.kind == "malformed_json":
            scripted = malformed_json()
        completion = self._completion(body, scripted)
        return JSONResponse(completion), scripted.kind, completion

    def _completion(self, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.content,
            "refusal": answer.refusal,
            "annotations": [],
        }
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_emu{number:05d}x{index}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for index, call in enumerate(answer.tool_calls)
            ]
        prompt, completion = prompt_tokens(body), completion_tokens(answer)
        return {
            "id": f"chatcmpl-emu{number:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_emulator",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }

    def _log(
        self,
        body: Any,
        kind: str,
        response: Response,
        answer: dict[str, Any] | None,
        fault: Fault | None,
        started: float,
    ) -> None:
        request = body if isinstance(body, dict) else None
        request = request or {}
        tools = tuple(
            str(t.get("function", {}).get("name"))
            for t in request.get("tools") or []
            if isinstance(t, dict) and isinstance(t.get("function"), dict)
        )
        response_format = request.get("response_format")
        form = None
        if isinstance(response_format, dict):
            form = str(response_format.get("type"))
            spec = response_format.get("json_schema")
            if isinstance(spec, dict) and spec.get("name"):
                form = f"{form}:{spec['name']}"
        messages = request.get("messages")
        model = request.get("model")
        record = RequestRecord(
            timestamp=started,
            model=model if isinstance(model, str) else None,
            messages=len(messages) if isinstance(messages, list) else 0,
            tools=tools,
            response_format=form,
            kind=kind,
            status=response.status_code,
            fault=None if fault is None else fault.describe(),
            latency=self.clock() - started,
            usage=None if answer is None else answer["usage"],
            request=body if isinstance(body, dict) else None,
            answer=answer,
        )
        self.requests.append(record)
        logger.debug("chat %s (%d messages) -> %s %s", record.model, record.messages, record.status, kind)


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    """Wait `seconds`, but stop as soon as the client hangs up (a timed-out client must not hold up shutdown)."""
    if seconds <= 0:
        return

    async def watch(scope: anyio.CancelScope) -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch, tasks.cancel_scope)
        await anyio.sleep(seconds)
        tasks.cancel_scope.cancel()


def _error(status: int, message: str, param: str | None, *, code: str | None = None) -> Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def _unauthorised(request: Request) -> Response:
    """OpenAI's 401, which echoes a masked form of the key it was given (clients must not repeat it)."""
    _, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if not token:
        message = "You didn't provide an API key. You need to provide your API key in an Authorization header."
        return _error(401, message, None)
    masked = f"{token[:3]}{'*' * 8}{token[-4:]}" if len(token) > 8 else "*" * len(token)
    return _error(401, f"Incorrect API key provided: {masked}.", None, code="invalid_api_key")
