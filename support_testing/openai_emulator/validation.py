"""Checks a chat completion request the way OpenAI does, so a malformed request fails here and not in production."""

from __future__ import annotations

import re
from typing import Any

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class RequestProblem(Exception):
    """A 400 answer: what is wrong (`message`) and where (`param`, in OpenAI's dotted/indexed notation)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def validate_request(body: Any) -> None:
    """Raise `RequestProblem` unless `body` is a well-formed chat completion request."""
    if not isinstance(body, dict):
        raise RequestProblem("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestProblem("you must provide a model parameter", "model")
    if body.get("stream"):
        raise RequestProblem("Streaming is not supported by the emulator.", "stream")
    tools = body.get("tools")
    if tools is not None:
        _check_tools(tools)
    _check_messages(body.get("messages"))
    response_format = body.get("response_format")
    if response_format is not None:
        _check_response_format(response_format)


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise RequestProblem("'messages' must be a non-empty array.", "messages")
    pending: set[str] = set()
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise RequestProblem(f"Invalid type for '{where}': expected an object.", where)
        role = message.get("role")
        if role not in ROLES:
            raise RequestProblem(f"Invalid value for '{where}.role': {role!r}.", f"{where}.role")
        if role != "tool" and pending:
            raise RequestProblem(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {sorted(pending)}",
                f"{where}.role",
            )
        content = message.get("content")
        if role == "assistant":
            calls = message.get("tool_calls")
            if content is None and not calls:
                raise RequestProblem(f"'{where}': an assistant message needs content or tool_calls.", where)
            pending = _check_assistant_calls(calls, where) if calls else set()
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise RequestProblem(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
                    "'tool_calls'.",
                    f"{where}.tool_call_id",
                )
            pending.discard(call_id)
        if role != "assistant" or content is not None:
            _check_content(content, f"{where}.content")
    if pending:
        raise RequestProblem(
            f"The following tool_call_ids did not have response messages: {sorted(pending)}", "messages"
        )


def _check_assistant_calls(calls: Any, where: str) -> set[str]:
    if not isinstance(calls, list):
        raise RequestProblem(f"Invalid type for '{where}.tool_calls': expected an array.", f"{where}.tool_calls")
    ids: set[str] = set()
    for number, call in enumerate(calls):
        spot = f"{where}.tool_calls[{number}]"
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or call.get("type") != "function"
            or not isinstance(call.get("id"), str)
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            raise RequestProblem(
                f"Invalid '{spot}': expected {{id, type: 'function', function: {{name, arguments}}}}.", spot
            )
        ids.add(call["id"])
    return ids


def _check_content(content: Any, where: str) -> None:
    if isinstance(content, str):
        return
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") in ("text", "refusal") and isinstance(part.get(part["type"]), str)
        for part in content
    ):
        return
    raise RequestProblem(f"Invalid type for '{where}': expected a string or an array of text parts.", where)


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list) or not tools:
        raise RequestProblem("'tools' must be a non-empty array when given.", "tools")
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise RequestProblem(f"Invalid '{where}': expected {{type: 'function', function: {{...}}}}.", where)
        name = function.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise RequestProblem(
                f"Invalid '{where}.function.name': string does not match pattern '^[a-zA-Z0-9_-]{{1,64}}$'.",
                f"{where}.function.name",
            )
        if name in seen:
            raise RequestProblem(f"Duplicate tool name {name!r}.", f"{where}.function.name")
        seen.add(name)
        parameters = function.get("parameters")
        if parameters is not None and (not isinstance(parameters, dict) or parameters.get("type") != "object"):
            raise RequestProblem(
                f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"'.",
                f"{where}.function.parameters",
            )
        if function.get("strict") and isinstance(parameters, dict):
            _check_strict(parameters, f"function '{name}'", ())


def _check_response_format(response_format: Any) -> None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return
    if kind != "json_schema":
        raise RequestProblem(f"Invalid value for 'response_format.type': {kind!r}.", "response_format.type")
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        raise RequestProblem(
            "Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise RequestProblem(
            "Invalid 'response_format.json_schema.name': string does not match pattern '^[a-zA-Z0-9_-]{1,64}$'.",
            "response_format.json_schema.name",
        )
    schema = spec.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise RequestProblem(
            f"Invalid schema for response_format '{name}': schema must be a JSON Schema of 'type: \"object\"'.",
            "response_format",
        )
    if spec.get("strict"):
        _check_strict(schema, f"response_format '{name}'", ())


def _check_strict(schema: Any, owner: str, context: tuple[str, ...]) -> None:
    """Strict mode's rules: every object closes `additionalProperties` and requires all of its properties."""
    if isinstance(schema, list):
        for item in schema:
            _check_strict(item, owner, context)
        return
    if not isinstance(schema, dict):
        return
    where = f"In context=({', '.join(repr(c) for c in context)})"
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            raise RequestProblem(
                f"Invalid schema for {owner}: {where}, 'additionalProperties' is required to be supplied and to "
                "be false.",
                "response_format",
            )
        names = list(properties or {})
        missing = [n for n in names if n not in (schema.get("required") or [])]
        if missing:
            raise RequestProblem(
                f"Invalid schema for {owner}: {where}, 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing {missing[0]!r}.",
                "response_format",
            )
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for name, sub in value.items():
                _check_strict(sub, owner, (*context, key, name))
        elif key in ("items", "anyOf", "allOf", "oneOf"):
            _check_strict(value, owner, (*context, key))
