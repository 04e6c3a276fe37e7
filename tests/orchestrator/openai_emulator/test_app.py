"""The emulator's HTTP surface in-process: request validation, OpenAI's response and error shapes, faults, log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from support_testing.openai_emulator import (
    EMULATOR_API_KEY,
    FaultPlan,
    OpenAIEmulator,
    estimate_tokens,
    in_order,
    text,
    tool_calls,
)

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {EMULATOR_API_KEY}"}
TOOL = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {}}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}


@pytest.fixture
def emulator() -> OpenAIEmulator:
    return OpenAIEmulator()


@pytest.fixture
async def http(emulator: OpenAIEmulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator/v1", headers=AUTH) as client:
        yield client


def body(**overrides: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]} | overrides


async def test_a_completion_has_openais_shape_and_deterministic_usage(
    http: httpx.AsyncClient, emulator: OpenAIEmulator
) -> None:
    emulator.script = in_order(text("Hi there, how can I help?"))
    response = await http.post("/chat/completions", json=body())
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == "gpt-4o-mini" and isinstance(data["created"], int)
    (choice,) = data["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Hi there, how can I help?",
        "refusal": None,
        "annotations": [],
    }
    prompt = 4 + estimate_tokens("Hello")
    completion = estimate_tokens("Hi there, how can I help?")
    assert data["usage"] == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    assert (await http.post("/chat/completions", json=body())).json()["usage"] == data["usage"]


async def test_tool_calls_get_unique_ids_and_string_arguments(
    http: httpx.AsyncClient, emulator: OpenAIEmulator
) -> None:
    emulator.script = in_order(tool_calls(("lookup_order", {"order_number": "#1001"}), ("get_policies", {})))
    first = (await http.post("/chat/completions", json=body(tools=[TOOL]))).json()["choices"][0]
    second = (await http.post("/chat/completions", json=body(tools=[TOOL]))).json()["choices"][0]
    assert first["finish_reason"] == "tool_calls" and first["message"]["content"] is None
    calls = first["message"]["tool_calls"] + second["message"]["tool_calls"]
    assert [c["function"] for c in calls[:2]] == [
        {"name": "lookup_order", "arguments": '{"order_number": "#1001"}'},
        {"name": "get_policies", "arguments": "{}"},
    ]
    assert len({c["id"] for c in calls}) == 4 and all(c["type"] == "function" for c in calls)
    record = emulator.requests[0]
    assert (record.kind, record.tools, record.messages) == ("tool_calls", ("lookup_order",), 1)
    assert record.tool_calls == [("lookup_order", '{"order_number": "#1001"}'), ("get_policies", "{}")]


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        (body(model=""), "model"),
        (body(messages=[]), "messages"),
        (body(messages=[{"role": "robot", "content": "x"}]), "messages[0].role"),
        (body(messages=[{"role": "user", "content": 42}]), "messages[0].content"),
        (body(messages=[{"role": "tool", "tool_call_id": "call_1", "content": "x"}]), "messages[0].tool_call_id"),
        (
            body(
                messages=[
                    {"role": "assistant", "content": None, "tool_calls": [CALL]},
                    {"role": "user", "content": "x"},
                ]
            ),
            "messages[1].role",
        ),
        (body(tools=[{"type": "function", "function": {"name": "bad name!"}}]), "tools[0].function.name"),
        (body(tools=[TOOL, TOOL]), "tools[1].function.name"),
        (body(response_format={"type": "xml"}), "response_format.type"),
        (
            body(response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "array"}}}),
            "response_format",
        ),
    ],
)
async def test_malformed_requests_get_openais_400(http: httpx.AsyncClient, request_body: Any, param: str) -> None:
    response = await http.post("/chat/completions", json=request_body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


async def test_a_complete_tool_exchange_is_accepted(http: httpx.AsyncClient) -> None:
    messages = [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": [{"type": "text", "text": "Order #1001?"}]},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
    ]
    response = await http.post("/chat/completions", json=body(messages=messages, tools=[TOOL]))
    assert response.status_code == 200
    assert "shipped" in response.json()["choices"][0]["message"]["content"]


async def test_body_that_is_not_json_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/chat/completions", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_unknown_model_is_a_404_and_models_lists_the_served_ones(http: httpx.AsyncClient) -> None:
    response = await http.post("/chat/completions", json=body(model="gpt-imaginary"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    models = (await http.get("/models")).json()
    assert models["object"] == "list" and "gpt-4o-mini" in {m["id"] for m in models["data"]}


async def test_a_wrong_or_missing_key_is_a_401(http: httpx.AsyncClient, emulator: OpenAIEmulator) -> None:
    wrong = await http.post("/chat/completions", json=body(), headers={"Authorization": "Bearer sk-wrong-123456789"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-wrong-123456789" not in wrong.text  # masked, as OpenAI does
    missing = await http.get("/models", headers={"Authorization": ""})
    assert missing.status_code == 401 and "didn't provide an API key" in missing.json()["error"]["message"]
    assert emulator.requests[0].kind == "unauthorized" and emulator.requests[0].request is not None


async def test_faults_are_taken_in_order(http: httpx.AsyncClient, emulator: OpenAIEmulator) -> None:
    emulator.faults.http_status(429, 1, retry_after=1.5)
    emulator.faults.http_status(503)
    emulator.faults.refusal()
    emulator.faults.malformed_json()
    emulator.faults.timeout(1, seconds=0.05)
    answers = [await http.post("/chat/completions", json=body()) for _ in range(6)]
    assert [a.status_code for a in answers] == [429, 503, 200, 200, 200, 200]
    assert answers[0].headers["retry-after"] == "1.5" and "retry-after" not in answers[1].headers
    assert answers[0].json()["error"]["code"] == "rate_limit_exceeded"
    assert answers[1].json()["error"]["type"] == "server_error"
    refused = answers[2].json()["choices"][0]["message"]
    assert refused["content"] is None and refused["refusal"]
    assert answers[3].json()["choices"][0]["message"]["content"].startswith('{"category"')
    assert [r.kind for r in emulator.requests] == ["http_429", "http_503", "refusal", "malformed_json", "text", "text"]
    assert [r.fault for r in emulator.requests] == [
        "HTTP 429",
        "HTTP 503",
        "refusal",
        "malformed_json",
        "timeout 0.05s",
        None,
    ]
    assert emulator.requests[4].latency >= 0.05
    assert len(emulator.faults) == 0


def test_fault_plan_rejects_nonsense() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="HTTP error"):
        plan.http_status(200)
    with pytest.raises(ValueError, match="negative"):
        plan.refusal(-1)
    plan.timeout(2)
    plan.clear()
    assert plan.next() is None
