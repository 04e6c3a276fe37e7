"""The one model interface: Chat Completions through the `openai` client, against OpenAI or any compatible endpoint.

This is the only module that imports `openai`. Callers get plain values (`Reply`, `ToolCall`, `Usage`, dicts) and
one error hierarchy:

- `LLMError`: base of everything raised here.
- `LLMUnavailableError`: the endpoint timed out, refused the connection, rate-limited or failed after the client's
  own retries (with backoff, honouring Retry-After); the caller falls back to the offline engine or retries later.
- `LLMAuthError`: the endpoint rejected the API key (401/403); retrying will not help.
- `LLMOutputError`: the model answered, but not usably (a refusal, JSON that does not parse or fit the schema).

Prompts, replies and keys never reach the logs or error messages; DEBUG logs carry only models, sizes and usage.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageFunctionToolCall
from pydantic import SecretStr

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2

_UNNEEDED_SCHEMA_KEYS = frozenset({"$schema", "title"})


class LLMError(Exception):
    """Base of the errors this module raises; the message is for a person and never holds a key or a prompt."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMUnavailableError(LLMError):
    """The endpoint could not answer (timeout, connection, 429, 5xx, other HTTP errors) after the client's retries."""


class LLMAuthError(LLMError):
    """The endpoint rejected the credentials (HTTP 401/403): fix the key, retrying will not help."""


class LLMOutputError(LLMError):
    """The model answered, but not usably: a refusal, no choices, or JSON that does not parse or fit the schema."""


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


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` that OpenAI's strict structured outputs accept.

    Every object gets `additionalProperties: false` and lists all its properties as required (the model then
    states a value it would otherwise have left to a default, so the answer still validates against the
    original model); `default`, `title` and `$schema` are dropped.
    """
    return cast(dict[str, Any], _strict_node(_strip_schema(schema)))


def _strict_node(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict_node(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            result[key] = {name: _strict_node(sub) for name, sub in value.items()}
        else:
            result[key] = _strict_node(value)
    properties = result.get("properties")
    if result.get("type") == "object" or isinstance(properties, dict):
        properties = properties if isinstance(properties, dict) else {}
        result["properties"] = properties
        result["required"] = list(properties)
        result["additionalProperties"] = False
    return result


def schema_problem(value: Any, schema: dict[str, Any], path: str = "$") -> str | None:
    """Where `value` breaks `schema` (types, enum, const, required, additionalProperties, items, anyOf, local
    `$ref`), or None when it fits. Enough to catch a model that ignored the response format."""
    return _check(value, schema, schema, path)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _fits_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def _check(value: Any, schema: Any, root: dict[str, Any], path: str) -> str | None:
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _check(value, target, root, path)
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if isinstance(options, list) and all(_check(value, option, root, path) for option in options):
            return f"{path} matches none of the allowed shapes"
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    if kinds and not any(_fits_type(value, k) for k in kinds):
        return f"{path} should be {' or '.join(kinds)}, not {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path} should be one of {schema['enum']}"
    if "const" in schema and value != schema["const"]:
        return f"{path} should be {schema['const']!r}"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                return f"{path} lacks the required key {name!r}"
        for name, item in value.items():
            if name in properties:
                problem = _check(item, properties[name], root, f"{path}.{name}")
                if problem:
                    return problem
            elif schema.get("additionalProperties") is False:
                return f"{path} has the unexpected key {name!r}"
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problem = _check(item, schema["items"], root, f"{path}[{index}]")
            if problem:
                return problem
    return None


class LLM:
    """Chat Completions against OpenAI or any OpenAI-compatible endpoint (Ollama, vLLM, Azure, the emulator).

    The `openai` client retries 408/409/429/5xx, timeouts and connection errors itself (`max_retries`, exponential
    backoff, Retry-After honoured); what still fails becomes an `LLMError`. `http_client` lets tests inject
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

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (an injected `http_client` is closed too: the client owns it from then on)."""
        await self._client.close()

    async def structured(
        self,
        *,
        model: str | None = None,
        system: str,
        user: str,
        schema_name: str,
        schema: dict[str, Any],
    ) -> tuple[dict[str, Any], Usage]:
        """One structured-output call: the answer is a JSON object that fits `schema` (made strict-compatible with
        `strict_schema`). Raises `LLMOutputError` on a refusal or an answer that is not such an object."""
        model = model or self.router_model
        strict = strict_schema(schema)
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": strict, "strict": True},
        }
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        completion = await self._create(model=model, messages=messages, response_format=response_format)
        message, finish_reason, usage = _first_choice(completion, model)
        if message.refusal:
            raise LLMOutputError(f"The model {model} refused to produce {schema_name}.")
        content = message.content or ""
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            truncated = " (the answer was cut off by the token limit)" if finish_reason == "length" else ""
            raise LLMOutputError(f"The model {model} answered {schema_name} with invalid JSON{truncated}.") from exc
        problem = schema_problem(data, strict)
        if problem:
            raise LLMOutputError(f"The model {model} answered {schema_name} off-schema: {problem}.")
        logger.debug(
            "structured %s via %s: %s+%s tokens", schema_name, model, usage.prompt_tokens, usage.completion_tokens
        )
        return cast(dict[str, Any], data), usage

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
        try:
            completion: ChatCompletion = await self._client.chat.completions.create(**params)
            return completion
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
            ) from None
        except openai.APIStatusError as exc:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} answered HTTP {exc.status_code} "
                f"({self._attempts()}){_server_reason(exc)}.",
                status=exc.status_code,
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
