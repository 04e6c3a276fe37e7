"""The requests `orchestrator.llm` sends are byte-for-byte what the SDK's typed methods would send.

`LLM` posts prebuilt plain-JSON bodies through the client (no transform pass) and reuses the router's strict schema;
these tests send the same call both ways through the real `openai` client and compare what reaches the wire.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from orchestrator.llm import LLM, response_format_for, to_openai_tool, tool_message
from orchestrator.models import RouterDecision
from support_testing.openai_emulator import EMULATOR_API_KEY

pytestmark = pytest.mark.anyio

BASE_URL = "http://llm.test/v1"
ROUTER_JSON = {
    "category": "ShippingDelivery",
    "language": "es",
    "order_number": "#1001",
    "sentiment": "neutral",
    "urgency": "normal",
    "handover": [],
    "confidence": 0.9,
}
TOOL = to_openai_tool(
    "lookup_order",
    "Full status of one order.",
    {"type": "object", "properties": {"order_number": {"type": "string", "title": "N"}}, "required": ["order_number"]},
)


class Recorder:
    """A transport that records each request and answers with one assistant message."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        choice = {"index": 0, "message": {"role": "assistant", "content": self.content}, "finish_reason": "stop"}
        usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
        body = {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [choice],
            "usage": usage,
        }
        return httpx.Response(200, json=body)

    def sent(self, index: int) -> tuple[str, str, Any]:
        request = self.requests[index]
        return request.url.path, request.headers["Authorization"], json.loads(request.content)


def sdk_client(recorder: Recorder) -> openai.AsyncOpenAI:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return openai.AsyncOpenAI(api_key=EMULATOR_API_KEY, base_url=BASE_URL, http_client=http, max_retries=0)  # type: ignore[arg-type]


def our_llm(recorder: Recorder) -> LLM:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return LLM(api_key=EMULATOR_API_KEY, base_url=BASE_URL, http_client=http, max_retries=0)


async def test_the_router_request_is_the_one_the_sdk_parse_sends() -> None:
    recorder = Recorder(json.dumps(ROUTER_JSON))
    messages: list[Any] = [{"role": "system", "content": "Route."}, {"role": "user", "content": "¿Dónde está #1001?"}]
    async with sdk_client(recorder) as client:
        sdk = await client.chat.completions.parse(
            model="gpt-4o-mini", messages=messages, response_format=RouterDecision
        )
    async with our_llm(recorder) as llm:
        for _ in range(2):  # the second call reuses the prebuilt schema
            ours, usage = await llm.parse(
                model="gpt-4o-mini", system="Route.", user="¿Dónde está #1001?", output=RouterDecision
            )
    reference = recorder.sent(0)
    assert recorder.sent(1) == reference and recorder.sent(2) == reference
    assert reference[2]["response_format"]["json_schema"]["strict"] is True
    assert reference[2]["response_format"]["json_schema"]["schema"]["additionalProperties"] is False
    assert ours == sdk.choices[0].message.parsed
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 3)


async def test_the_prebuilt_schema_is_the_sdks_and_is_built_once() -> None:
    from openai.lib._parsing import type_to_response_format_param

    assert response_format_for(RouterDecision) == type_to_response_format_param(RouterDecision)
    assert response_format_for(RouterDecision) is response_format_for(RouterDecision)


async def test_a_tool_turn_request_is_the_one_the_sdk_create_sends() -> None:
    recorder = Recorder("Hola")
    messages: list[Any] = [
        {"role": "system", "content": "Answer."},
        {"role": "user", "content": "Pedido #1001?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"n": 1}'}}
            ],
        },
        tool_message("c1", '{"status": "shipped"}'),
    ]
    async with sdk_client(recorder) as client:
        await client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[TOOL])  # type: ignore[list-item]
        await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    async with our_llm(recorder) as llm:
        with_tools = await llm.chat(model="gpt-4o-mini", messages=messages, tools=[TOOL])
        without = await llm.chat(model="gpt-4o-mini", messages=messages, tools=None)
    assert recorder.sent(2) == recorder.sent(0)
    assert recorder.sent(3) == recorder.sent(1)
    assert with_tools.content == without.content == "Hola"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"category": "Weather", "language": "es"}', "off-schema"),
        ("not json", "invalid JSON"),
        ("", "no content"),
        (json.dumps(ROUTER_JSON | {"confidence": 7}), "off-schema"),
    ],
)
async def test_the_router_answer_is_still_validated(content: str, problem: str) -> None:
    from orchestrator.errors import LLMOutputError

    async with our_llm(Recorder(content)) as llm:
        with pytest.raises(LLMOutputError, match=problem):
            await llm.parse(system="Route.", user="hi", output=RouterDecision)
