"""The one model interface: Chat Completions through the `openai` client, against OpenAI or any compatible endpoint.

This is the only module that imports `openai`. Callers get plain values (`Reply`, `ToolCall`, `Usage`, dicts) and
one error hierarchy:

- `LLMError`: base of everything raised here.
- `LLMUnavailableError`: the endpoint timed out, refused the connection, rate-limited or failed after the client's
  own retries (with backoff, honouring Retry-After); the caller falls back to the offline engine or retries later.
- `LLMAuthError`: the endpoint rejected the API key (401/403); retrying will not help.
- `LLMOutputError`: the model answered, but not usably (a refusal, JSON that does not parse or fit the model).

After an outage (a call that still failed after those retries) the endpoint is not called for `outage_pause`
seconds: calls raise `LLMUnavailableError` at once, then one trial call goes through (`orchestrator.llm_outage`).

Structured output: the SDK's own builder (`type_to_response_format_param`, what `chat.completions.parse` uses)
writes the strict JSON schema of a pydantic model, once per model (it is the same on every call), and the answer is
validated into that model with `model_validate_json`, as `parse` does; no schema code of ours is involved.

Requests go through the client's `post` (its retries, auth, timeouts and error types, the body sent as is): the
bodies built here are plain JSON, which the typed methods' transform pass would return unchanged at ~0.3-0.7 ms
of CPU per call (it resolves each message against the message TypedDict union). The response is the same
`ChatCompletion` model the typed methods return.

Prompts, replies and keys never reach the logs or error messages; DEBUG logs carry only models, sizes and usage.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
import openai
from openai.lib._parsing import type_to_response_format_param
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageFunctionToolCall
from pydantic import BaseModel, SecretStr, ValidationError

from orchestrator.errors import LLMAuthError, LLMOutputError, LLMUnavailableError
from orchestrator.llm_outage import DEFAULT_PAUSE, OutageBreaker
from support_core.retry import retry_after_seconds

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2

_UNNEEDED_SCHEMA_KEYS = frozenset({"$schema", "title"})
ModelT = TypeVar("ModelT", bound=BaseModel)
CompletionT = TypeVar("CompletionT")
_COMPLETIONS_PATH = "/chat/completions"
_RESPONSE_FORMATS: dict[type[BaseModel], dict[str, Any]] = {}
"""The strict `response_format` of each output model, built by the SDK on first use (a model's schema is fixed)."""


def response_format_for(output: type[BaseModel]) -> dict[str, Any]:
    """The `response_format` (strict `json_schema`) the SDK's `chat.completions.parse` sends for `output`, built
    once per model by the SDK's own builder. Callers must not mutate it: it is shared."""
    found = _RESPONSE_FORMATS.get(output)
    if found is None:
        built = type_to_response_format_param(output)
        if not isinstance(built, dict):  # Omit: only for a response_format that is not a type
            raise TypeError(f"No response_format for {output!r}")
        found = _RESPONSE_FORMATS[output] = dict(built)
    return found


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one call (or, summed with `+`, several calls) consumed, as the endpoint reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the model asked for. `arguments` is None when `raw_arguments` is not a JSON object, so
    the caller can tell the model its arguments were malformed instead of guessing."""

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One assistant turn: text, tool calls, or both."""

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None

    def as_message(self) -> dict[str, Any]:
        """This turn as a Chat Completions `assistant` message, to append to the conversation before tool results."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.raw_arguments}}
                for call in self.tool_calls
            ]
        return message


def tool_message(tool_call_id: str, content: str) -> dict[str, Any]:
    """A `tool` message answering the tool call `tool_call_id` with `content` (a result or an error sentence)."""
    return {"role": "tool", "tool_call_id": tool_call_id, "content": content}


def to_openai_tool(mcp_tool_name: str, description: str | None, input_schema: dict[str, Any]) -> dict[str, Any]:
    """An MCP tool (name, description, `inputSchema`) as a Chat Completions `tools` entry of type function.

    Keys the model does not need (`$schema`, `title`) are dropped everywhere except where they are property names.
    """
    parameters = _strip_schema(input_schema)
    if not isinstance(parameters, dict):
        parameters = {}
    parameters.setdefault("type", "object")
    if parameters.get("type") == "object":
        parameters.setdefault("properties", {})
    function: dict[str, Any] = {"name": mcp_tool_name, "parameters": parameters}
    if description:
        function["description"] = description.strip()
    return {"type": "function", "function": function}


def _strip_schema(node: Any, *, names: bool = False) -> Any:
    """A copy of a JSON schema without `$schema`/`title`; `names` marks a mapping of property names (kept as is)."""
    if isinstance(node, list):
        return [_strip_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if not names and key in _UNNEEDED_SCHEMA_KEYS:
            continue
        holds_names = not names and key in ("properties", "$defs", "definitions", "patternProperties")
        result[key] = _strip_schema(value, names=holds_names)
    return result


class LLM:
    """Chat Completions against OpenAI or any OpenAI-compatible endpoint (Ollama, vLLM, Azure, the emulator).

    The `openai` client retries 408/409/429/5xx, timeouts and connection errors itself (`max_retries`, exponential
    backoff, Retry-After honoured); what still fails becomes an `LLMError`, and an outage pauses the endpoint for
    `outage_pause` seconds (0: never; `clock` is the pause's monotonic clock). `http_client` lets tests inject
    transports. Use `async with LLM(...)` or call `aclose()`.
    """

    def __init__(
        self,
        *,
        api_key: str | SecretStr,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        router_model: str = DEFAULT_MODEL,
        agent_model: str = DEFAULT_MODEL,
        http_client: httpx.AsyncClient | None = None,
        outage_pause: float = DEFAULT_PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key:
            raise LLMAuthError("No API key for the LLM endpoint: set OPENAI_API_KEY (or run the offline engine).")
        self.router_model = router_model
        self.agent_model = agent_model
        self.timeout = timeout
        self.max_retries = max_retries
        self._client = openai.AsyncOpenAI(
            api_key=key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=cast(Any, http_client),
        )
        self.endpoint = _describe_endpoint(str(self._client.base_url))
        self._outage = OutageBreaker(self.endpoint, outage_pause, clock)

    @property
    def paused(self) -> bool:
        """Whether the endpoint is paused after an outage (calls fail at once; the pause was logged when it began)."""
        return self._outage.paused

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (an injected `http_client` is closed too: the client owns it from then on)."""
        await self._client.close()

    async def parse(
        self,
        *,
        model: str | None = None,
        system: str,
        user: str,
        output: type[ModelT],
    ) -> tuple[ModelT, Usage]:
        """One structured-output call: `output`'s strict JSON schema as `response_format` (built by the SDK, see the
        module docstring), the answer validated into `output`. Raises `LLMOutputError` on a refusal, a cut-off or
        filtered answer, or one that does not fit the model (the answer is untrusted: it is always validated)."""
        model = model or self.router_model
        name = output.__name__
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        completion = await self._call(
            self._completion,
            model=model,
            stream=False,  # what `chat.completions.parse` sends
            messages=messages,
            response_format=response_format_for(output),
        )
        for choice in completion.choices:  # as the SDK's parse: any choice cut short fails the call
            if choice.finish_reason == "length":
                raise LLMOutputError(
                    f"The model {model} answered {name} with invalid JSON (cut off by the token limit)."
                )
            if choice.finish_reason == "content_filter":
                raise LLMOutputError(f"The model {model} refused to produce {name} (content filter).")
        message, _finish_reason, usage = _first_choice(completion, model)
        if message.refusal:
            raise LLMOutputError(f"The model {model} refused to produce {name}.")
        if not message.content:
            raise LLMOutputError(f"The model {model} answered {name} with invalid JSON (no content).")
        try:
            parsed = output.model_validate_json(message.content)
        except ValidationError as exc:
            invalid_json = any(error["type"] == "json_invalid" for error in exc.errors())
            shape = "with invalid JSON" if invalid_json else "off-schema (it does not fit the model)"
            raise LLMOutputError(f"The model {model} answered {name} {shape}.") from None
        logger.debug("parse %s via %s: %s+%s tokens", name, model, usage.prompt_tokens, usage.completion_tokens)
        return parsed, usage

    async def chat(
        self,
        *,
        model: str | None = None,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
    ) -> Reply:
        """One assistant turn over `messages`, offering `tools` (Chat Completions function tools) when given."""
        model = model or self.agent_model
        extra: dict[str, Any] = {"tools": tools} if tools else {}
        completion = await self._create(model=model, messages=messages, **extra)
        message, finish_reason, usage = _first_choice(completion, model)
        if message.refusal and not message.content:
            raise LLMOutputError(f"The model {model} refused to answer.")
        calls = [
            _tool_call(call.id, call.function.name, call.function.arguments)
            for call in message.tool_calls or []
            if isinstance(call, ChatCompletionMessageFunctionToolCall)
        ]
        logger.debug(
            "chat via %s: %d messages, %d tool calls, %s+%s tokens",
            model,
            len(messages),
            len(calls),
            usage.prompt_tokens,
            usage.completion_tokens,
        )
        return Reply(content=message.content, tool_calls=calls, usage=usage, finish_reason=finish_reason)

    async def _create(self, **params: Any) -> ChatCompletion:
        return await self._call(self._completion, **params)

    async def _completion(self, **body: Any) -> ChatCompletion:
        """POST `body` (keyword order kept: callers pass what the typed method would send, in its order) the way
        `chat.completions.create` sends it (path, bearer auth, retries, timeout, response model), minus its
        transform pass, which leaves plain JSON bodies like ours unchanged."""
        return await self._client.post(
            _COMPLETIONS_PATH, body=body, cast_to=ChatCompletion, options={"security": {"bearer_auth": True}}
        )

    async def _call(self, method: Callable[..., Awaitable[CompletionT]], **params: Any) -> CompletionT:
        """`method(**params)` unless the endpoint is paused after an outage (then `LLMUnavailableError` at once)."""
        with self._outage.attempt():
            return await self._request(method, **params)

    async def _request(self, method: Callable[..., Awaitable[CompletionT]], **params: Any) -> CompletionT:
        """`method(**params)` with the endpoint's failures turned into `LLMError`s a person can act on."""
        try:
            return await method(**params)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LLMAuthError(
                f"The LLM endpoint {self.endpoint} rejected the API key (HTTP {exc.status_code}): "
                "check OPENAI_API_KEY and that the key may use this endpoint and model.",
                status=exc.status_code,
            ) from None
        except openai.APITimeoutError:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} did not answer within {self.timeout:g}s "
                f"({self._attempts()}); try again later or raise the timeout.",
            ) from None
        except openai.APIConnectionError:
            raise LLMUnavailableError(
                f"Could not connect to the LLM endpoint {self.endpoint} ({self._attempts()}): "
                "check OPENAI_BASE_URL and the network.",
            ) from None
        except openai.RateLimitError as exc:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} is rate limiting us (HTTP 429, {self._attempts()}): "
                "wait, or check the account's quota.",
                status=exc.status_code,
                retry_after=_retry_after(exc.response.headers),
            ) from None
        except openai.APIStatusError as exc:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} answered HTTP {exc.status_code} "
                f"({self._attempts()}){_server_reason(exc)}.",
                status=exc.status_code,
                retry_after=_retry_after(exc.response.headers),
            ) from None
        except openai.APIError as exc:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} sent an answer that could not be read ({type(exc).__name__})."
            ) from None

    def _attempts(self) -> str:
        attempts = self.max_retries + 1
        return "1 attempt" if attempts == 1 else f"{attempts} attempts"


def _describe_endpoint(base_url: str) -> str:
    """`scheme://host[:port]/path` without any user info or query string that could hold a secret."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait the endpoint asked for: OpenAI's `retry-after-ms`, else the standard `Retry-After` (seconds or an
    HTTP date), as the openai client reads them between its own retries; None when it asked for none."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        seconds = retry_after_seconds(milliseconds)
        if seconds is not None:
            return seconds / 1000
    return retry_after_seconds(headers.get("retry-after"))


def _server_reason(exc: openai.APIStatusError) -> str:
    """The endpoint's error code/type (not its free text, which may echo input)."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict):
        code = body.get("code") or body.get("type")
        if isinstance(code, str) and code:
            return f": {code[:80]}"
    return ""


def _first_choice(completion: ChatCompletion, model: str) -> tuple[ChatCompletionMessage, str | None, Usage]:
    usage = Usage()
    if completion.usage is not None:
        usage = Usage(completion.usage.prompt_tokens or 0, completion.usage.completion_tokens or 0)
    if not completion.choices:
        raise LLMOutputError(f"The model {model} returned no answer (no choices).")
    choice = completion.choices[0]
    return choice.message, choice.finish_reason, usage


def _tool_call(call_id: str, name: str, raw_arguments: str | None) -> ToolCall:
    raw = raw_arguments or ""
    arguments: dict[str, Any] | None
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        parsed = None
    arguments = parsed if isinstance(parsed, dict) else None
    return ToolCall(id=call_id, name=name, arguments=arguments, raw_arguments=raw)
