"""`orchestrator.llm` with the real `openai.AsyncOpenAI` client against the OpenAI emulator on loopback."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from mcp.server import MCPServer
from pydantic import Field

from orchestrator.errors import LLMAuthError, LLMOutputError, LLMUnavailableError
from orchestrator.llm import LLM, Usage, to_openai_tool, tool_message
from orchestrator.models import RouterDecision
from support_testing.openai_emulator import (
    EMULATOR_API_KEY,
    OpenAIEmulator,
    SwappableEmulator,
    in_order,
    malformed_tool_call,
    refusal,
    router_answer,
    text,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ROUTER = {"system": "You route support mail."}
SPANISH = "Hola, ¿dónde está mi pedido #1001? Gracias"
LOOKUP_ORDER = to_openai_tool(
    "lookup_order",
    "Full status of one order.",
    {
        "type": "object",
        "properties": {"order_number": {"type": "string", "title": "Order Number"}},
        "required": ["order_number"],
    },
)

LLMFactory = Callable[..., AbstractAsyncContextManager[LLM]]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def base_url(loopback: SwappableEmulator, emulator: OpenAIEmulator) -> str:
    return loopback.url


@pytest.fixture
def llm_with(base_url: str) -> LLMFactory:
    """An `LLM` on the emulator (closed on exit); keyword arguments override the defaults."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[LLM]:
        options: dict[str, Any] = {"api_key": EMULATOR_API_KEY, "base_url": base_url, "timeout": 5.0, "max_retries": 2}
        async with LLM(**(options | overrides)) as llm:
            yield llm

    return factory


async def route(llm: LLM, user: str = SPANISH) -> tuple[RouterDecision, Usage]:
    return await llm.parse(user=user, output=RouterDecision, **ROUTER)


async def test_router_output_is_parsed_into_a_router_decision(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    async with llm_with(router_model="gpt-4.1-mini") as llm:
        decision, usage = await route(llm)
    assert isinstance(decision, RouterDecision)
    assert (decision.category, decision.language, decision.order_number) == ("ShippingDelivery", "es", "#1001")
    (record,) = emulator.requests
    assert record.model == "gpt-4.1-mini"
    assert record.response_format == "json_schema:RouterDecision"
    assert record.usage == {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0


async def test_the_sdk_sends_a_strict_schema_and_the_emulator_checks_it(emulator: OpenAIEmulator) -> None:
    """The SDK's typed parsing writes the strict schema (our code writes none); the emulator, like OpenAI, refuses
    a schema sent to strict mode as pydantic writes it, so a regression to hand-made schemas would be caught."""
    raw = RouterDecision.model_json_schema()
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": raw, "strict": True}},
    }
    headers = {"Authorization": f"Bearer {EMULATOR_API_KEY}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), base_url="http://emu") as http:
        response = await http.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 400
    assert "additionalProperties" in response.json()["error"]["message"]


async def test_off_schema_json_is_an_output_error(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.script = in_order(router_answer({"category": "Weather", "language": "es"}))
    async with llm_with() as llm:
        with pytest.raises(LLMOutputError, match="off-schema"):
            await route(llm)


async def test_tool_calls_round_trip_to_a_final_text(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You help customers."},
        {"role": "user", "content": "Where is my order #1002?"},
    ]
    async with llm_with() as llm:
        first = await llm.chat(messages=messages, tools=[LOOKUP_ORDER])
        assert first.finish_reason == "tool_calls" and first.content is None
        (call,) = first.tool_calls
        assert (call.name, call.arguments) == ("lookup_order", {"order_number": "#1002"})
        messages += [first.as_message(), tool_message(call.id, '{"status": "IN_TRANSIT", "carrier": "SEUR"}')]
        final = await llm.chat(messages=messages, tools=[LOOKUP_ORDER])
    assert final.finish_reason == "stop" and not final.tool_calls
    assert final.content is not None and "IN_TRANSIT" in final.content
    assert final.usage.total_tokens == emulator.requests[-1].usage["total_tokens"]  # type: ignore[index]
    assert [r.tools for r in emulator.requests] == [("lookup_order",), ("lookup_order",)]
    assert emulator.requests[-1].messages == 4


async def test_malformed_tool_arguments_surface_as_none(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.script = in_order(malformed_tool_call("lookup_order", '{"order_number": "#10'), text("Sorry."))
    messages: list[dict[str, Any]] = [{"role": "user", "content": "order #1001"}]
    async with llm_with() as llm:
        reply = await llm.chat(messages=messages, tools=[LOOKUP_ORDER])
        (call,) = reply.tool_calls
        assert call.arguments is None and call.raw_arguments == '{"order_number": "#10'
        # The caller reports the problem back to the model, and the conversation stays valid.
        messages += [reply.as_message(), tool_message(call.id, "Error: the arguments were not valid JSON.")]
        assert (await llm.chat(messages=messages, tools=[LOOKUP_ORDER])).content == "Sorry."


async def test_refusals_are_output_errors(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.faults.refusal()
    async with llm_with() as llm:
        with pytest.raises(LLMOutputError, match="refused"):
            await route(llm)
        emulator.script = in_order(refusal("I can't help with that."))
        with pytest.raises(LLMOutputError, match="refused"):
            await llm.chat(messages=[{"role": "user", "content": "hi"}], tools=None)
    assert [r.kind for r in emulator.requests] == ["refusal", "refusal"]


async def test_structured_output_that_is_not_json_is_an_output_error(
    llm_with: LLMFactory, emulator: OpenAIEmulator
) -> None:
    emulator.faults.malformed_json()
    async with llm_with() as llm:
        with pytest.raises(LLMOutputError, match="invalid JSON"):
            await route(llm)
        decision, _ = await route(llm)  # the next answer is fine again
    assert decision.category == "ShippingDelivery"


async def test_429_is_retried_after_retry_after(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.faults.http_status(429, 1, retry_after=0.4)
    async with llm_with(max_retries=2) as llm:
        started = time.monotonic()
        decision, _ = await route(llm)
        elapsed = time.monotonic() - started
    assert decision.order_number == "#1001"
    assert [r.status for r in emulator.requests] == [429, 200]
    assert emulator.requests[1].timestamp - emulator.requests[0].timestamp >= 0.4
    assert 0.4 <= elapsed < 3


async def test_persistent_500_becomes_unavailable(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.faults.http_status(500, 10, retry_after=0.01)
    async with llm_with(max_retries=2) as llm:
        with pytest.raises(LLMUnavailableError, match=r"HTTP 500 \(3 attempts\)") as caught:
            await route(llm)
    assert caught.value.status == 500
    assert len(emulator.requests) == 3


async def test_timeout_becomes_unavailable_quickly(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.faults.timeout(5)
    async with llm_with(timeout=0.2, max_retries=1) as llm:
        started = time.monotonic()
        with pytest.raises(LLMUnavailableError, match=r"did not answer within 0.2s \(2 attempts\)"):
            await route(llm)
        assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(LLMUnavailableError, match="paused"):  # then the endpoint is left alone for a while
            await route(llm)
        assert time.monotonic() - started < 0.2, "not even one timeout"


async def test_wrong_key_is_an_auth_error_without_the_key(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    key = "sk-proj-wrongWRONGwrong0123456789"
    async with llm_with(api_key=key) as llm:
        with pytest.raises(LLMAuthError) as caught:
            await route(llm)
    message = str(caught.value)
    assert "HTTP 401" in message and "OPENAI_API_KEY" in message
    assert key not in message and key[-4:] not in message and key[:8] not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert [r.kind for r in emulator.requests] == ["unauthorized"]  # no retries on 401


async def test_no_key_is_an_auth_error() -> None:
    with pytest.raises(LLMAuthError, match="OPENAI_API_KEY"):
        LLM(api_key="")


async def test_unreachable_endpoint_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with LLM(api_key="sk-x", base_url=f"http://user:pw@127.0.0.1:{port}/v1", max_retries=0) as llm:
        with pytest.raises(LLMUnavailableError, match="Could not connect") as caught:
            await route(llm)
    assert "pw" not in str(caught.value) and f"http://127.0.0.1:{port}/v1" in str(caught.value)


async def test_latency_setting_is_honoured(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.latency = 0.3
    async with llm_with() as llm:
        started = time.monotonic()
        await llm.chat(messages=[{"role": "user", "content": "hello"}])
        elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 2
    assert emulator.requests[0].latency >= 0.3


async def test_prompts_and_replies_stay_out_of_the_logs(
    llm_with: LLMFactory, emulator: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestrator")
    caplog.set_level(logging.INFO)
    async with llm_with() as llm:
        await route(llm, "secret-question maria.garcia@example.com pedido #1001")
        await llm.chat(messages=[{"role": "user", "content": "secret-question"}], tools=[LOOKUP_ORDER])
    logged = caplog.text
    assert "secret-question" not in logged and "maria.garcia" not in logged and EMULATOR_API_KEY not in logged


async def test_an_injected_http_client_reaches_the_emulator_in_process(emulator: OpenAIEmulator) -> None:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app))
    async with LLM(api_key=EMULATOR_API_KEY, base_url="http://emulator.test/v1", http_client=http) as llm:
        decision, _ = await route(llm, "My order #1005 has not arrived")
    assert decision.order_number == "#1005" and decision.language == "en"
    assert http.is_closed


async def test_an_mcp_tool_schema_becomes_a_chat_completions_tool(
    llm_with: LLMFactory, emulator: OpenAIEmulator
) -> None:
    server = MCPServer("shop")

    @server.tool(name="lookup_order", title="Look up an order")
    def lookup_order(
        order_number: Annotated[str, Field(description="Order number: '#1001' or '1001'.", max_length=40)],
        title: Annotated[str | None, Field(description="A property that happens to be called title.")] = None,
        include_items: bool = True,
    ) -> dict[str, str]:
        """Full status of one order."""
        return {}

    (mcp_tool,) = await server.list_tools()
    schema = mcp_tool.input_schema | {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    tool = to_openai_tool(mcp_tool.name, mcp_tool.description, schema)

    assert tool["type"] == "function"
    function = tool["function"]
    assert (function["name"], function["description"]) == ("lookup_order", "Full status of one order.")
    parameters = function["parameters"]
    assert "$schema" not in parameters and "title" not in parameters
    assert set(parameters["properties"]) == {"order_number", "title", "include_items"}  # a property named title stays
    assert all("title" not in p for p in parameters["properties"].values())
    assert parameters["properties"]["order_number"] == {
        "type": "string",
        "description": "Order number: '#1001' or '1001'.",
        "maxLength": 40,
    }
    assert parameters["required"] == ["order_number"]

    async with llm_with() as llm:
        reply = await llm.chat(messages=[{"role": "user", "content": "Pedido #1001?"}], tools=[tool])
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("lookup_order", {"order_number": "#1001"})]


@pytest.mark.parametrize(("finish_reason", "reason"), [("length", "cut off"), ("content_filter", "content filter")])
async def test_a_structured_answer_cut_short_is_an_output_error(finish_reason: str, reason: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {EMULATOR_API_KEY}"
        assert json.loads(request.content)["response_format"]["json_schema"]["strict"] is True
        message = {"role": "assistant", "content": '{"category": "Shipp'}
        choice = {"index": 0, "message": message, "finish_reason": finish_reason}
        body = {"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini", "choices": [choice]}
        return httpx.Response(200, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with LLM(api_key=EMULATOR_API_KEY, base_url="http://llm.test/v1", http_client=http, max_retries=0) as llm:
        with pytest.raises(LLMOutputError, match=reason):
            await route(llm)
