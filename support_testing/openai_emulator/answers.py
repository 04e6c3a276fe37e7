"""What a script answers for one request (`Answer`), and the helpers that build each kind of answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

AnswerKind = Literal["text", "json", "tool_calls", "refusal", "malformed_json"]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """A tool call as the script wants it; `arguments` is sent verbatim (it need not be valid JSON)."""

    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Answer:
    """One assistant message: `content` and/or `tool_calls`, or a `refusal`. The emulator adds ids and usage."""

    kind: AnswerKind
    content: str | None = None
    tool_calls: tuple[ScriptedCall, ...] = field(default=())
    refusal: str | None = None

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def text(content: str) -> Answer:
    """A plain text reply (the agent's final answer)."""
    return Answer("text", content=content)


def router_answer(decision: dict[str, Any]) -> Answer:
    """A structured-output answer: `decision` serialised as the message content (what json_schema mode returns)."""
    return Answer("json", content=json.dumps(decision, ensure_ascii=False))


def tool_call(name: str, arguments: dict[str, Any]) -> Answer:
    """The model asks for one tool with well-formed JSON arguments."""
    return tool_calls((name, arguments))


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> Answer:
    """The model asks for several tools at once (parallel tool calls)."""
    scripted = tuple(ScriptedCall(name, json.dumps(arguments, ensure_ascii=False)) for name, arguments in calls)
    return Answer("tool_calls", tool_calls=scripted)


def malformed_tool_call(name: str, raw: str) -> Answer:
    """The model asks for `name` with `raw` as arguments, typically broken JSON such as `{"order_number": "#10`."""
    return Answer("tool_calls", tool_calls=(ScriptedCall(name, raw),))


def refusal(reason: str = "I'm sorry, but I can't help with that request.") -> Answer:
    """The model declines: `message.refusal` is set and `content` is null (as OpenAI does with structured outputs)."""
    return Answer("refusal", refusal=reason)


def malformed_json(content: str = '{"category": "ShippingDelivery", "language": ') -> Answer:
    """A structured-output answer that is not JSON (an endpoint that ignores the response format, or a cut-off)."""
    return Answer("malformed_json", content=content)
