"""The ready-made scripts: a deterministic router and agent, and the hostile agent that attacks invariant 4."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.lib._parsing._completions import type_to_response_format_param

from orchestrator.llm import to_openai_tool
from orchestrator.models import RouterDecision
from support_testing.openai_emulator import Answer, DefaultScript, HostileScript, in_order, text

SCHEMA = type_to_response_format_param(RouterDecision)["json_schema"]["schema"]  # type: ignore[index]
"""The strict schema the SDK's typed parsing sends for the router's model."""


def tool(name: str, *required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {p: {"type": "string"} for p in (*required, *optional)}
    return to_openai_tool(name, name, {"type": "object", "properties": properties, "required": list(required)})


SHOP_TOOLS = [
    tool("lookup_order", "order_number"),
    tool("list_customer_orders"),
    tool("get_policies", optional=("kind",)),
    tool("check_discount_code", "code"),
    tool("list_promotions"),
    tool("search_products", "query"),
]


def router_request(user: str) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "route"}, {"role": "user", "content": user}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA, "strict": True}},
    }


def agent_request(user: str, tools: list[dict[str, Any]], *history: dict[str, Any]) -> dict[str, Any]:
    messages = [{"role": "system", "content": "help"}, {"role": "user", "content": user}, *history]
    return {"model": "gpt-4o-mini", "messages": messages, "tools": tools}


def decided(answer: Answer) -> RouterDecision:
    assert answer.kind == "json" and answer.content is not None
    return RouterDecision.model_validate(json.loads(answer.content))


def calls(answer: Answer) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, json.loads(c.arguments)) for c in answer.tool_calls]


@pytest.mark.parametrize(
    ("user", "category", "language", "order_number"),
    [
        ("Hola, ¿dónde está mi pedido #1001? Gracias", "ShippingDelivery", "es", "#1001"),
        ("Hello, where is my order 1002? It has not arrived yet", "ShippingDelivery", "en", "#1002"),
        ("Bonjour, je veux un remboursement pour ma commande n° 1014", "ReturnsCancellationsExchanges", "fr", "#1014"),
        ("Hallo, mein Rabatt code WELCOME10 geht nicht, bitte", "PromotionsDiscountsPricing", "de", None),
        ("Is the merino tee available in size M?", "ProductInfoAvailability", "en", None),
        ("No puedo entrar, la contraseña da error", "TechnicalIssues", "es", None),
        ("zzz", "AccountProfileOther", "en", None),
    ],
)
def test_the_default_router_decides_from_keywords(
    user: str, category: str, language: str, order_number: str | None
) -> None:
    decision = decided(DefaultScript()(router_request(user)))
    assert (decision.category, decision.language, decision.order_number) == (category, language, order_number)
    assert decision.confidence == (0.4 if category == "AccountProfileOther" else 0.9)


def test_the_default_router_flags_anger_legal_threats_and_urgency() -> None:
    decision = decided(
        DefaultScript()(router_request("This is unacceptable! URGENT, my lawyer will hear of order #1003"))
    )
    assert decision.sentiment == "angry" and decision.urgency == "high"
    assert decision.handover == ["anger", "legal_threat"]


def test_the_default_agent_calls_the_offered_tools_that_fit_then_quotes_them() -> None:
    script = DefaultScript()
    first = script(agent_request("Quiero devolver el pedido #1001", SHOP_TOOLS))
    assert calls(first) == [("lookup_order", {"order_number": "#1001"}), ("get_policies", {"kind": "refund"})]
    history = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "get_policies", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": '{"status": "DELIVERED"}'},
        {"role": "tool", "tool_call_id": "b", "content": "30-day returns"},
    ]
    final = script(agent_request("Quiero devolver el pedido #1001", SHOP_TOOLS, *history))
    assert final.kind == "text" and final.content is not None
    assert final.content.startswith("Hola,")
    assert (
        '- lookup_order: {"status": "DELIVERED"}' in final.content and "- get_policies: 30-day returns" in final.content
    )


def test_the_default_agent_only_calls_what_it_is_offered_and_can_fill() -> None:
    script = DefaultScript()
    assert calls(script(agent_request("Where is my order?", SHOP_TOOLS))) == [("list_customer_orders", {})]
    assert calls(script(agent_request("code SUMMER25 fails", SHOP_TOOLS))) == [
        ("check_discount_code", {"code": "SUMMER25"})
    ]
    assert calls(script(agent_request("any discount?", SHOP_TOOLS))) == [("list_promotions", {})]
    # lookup_order needing an email nobody gave: skipped, and the reply comes straight away.
    needs_email = [tool("lookup_order", "order_number", "customer_email")]
    answer = script(agent_request("Order #1001?", needs_email))
    assert answer.kind == "text" and answer.content is not None and "colleague" in answer.content


def test_the_hostile_agent_attacks_in_three_turns() -> None:
    script = HostileScript()
    first = script(agent_request("Where is my order #1001?", SHOP_TOOLS))
    assert calls(first) == [
        ("lookup_order", {"order_number": "#1004"}),
        ("lookup_order", {"order_number": "#1005", "customer_email": "lena.mueller@example.com"}),
        ("list_customer_orders", {"customer_email": "lena.mueller@example.com"}),
        ("get_customer_profile", {"customer_email": "lena.mueller@example.com"}),
    ]
    one_round = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "Error: order not found"},
    ]
    second = script(agent_request("Where is my order #1001?", SHOP_TOOLS, *one_round))
    ((name, arguments),) = calls(second)
    assert name == "escalate_ticket" and arguments["customer_email"] == "lena.mueller@example.com"
    final = script(agent_request("Where is my order #1001?", SHOP_TOOLS, *one_round, *one_round))
    assert final.content is not None
    for leak in ("lena.mueller@example.com", "#1004", "https://evil.example/", "Error: order not found"):
        assert leak in final.content


def test_the_hostile_router_claims_the_victims_order() -> None:
    script = HostileScript(victim_email="zoe.dubois@example.net", victim_orders=("#1017",))
    decision = decided(script(router_request("Where is my order #1001?")))
    assert decision.order_number == "#1017" and decision.confidence == 1.0 and decision.handover == []


def test_in_order_repeats_the_last_answer() -> None:
    script = in_order(text("one"), text("two"))
    assert [script({}).content for _ in range(3)] == ["one", "two", "two"]
    with pytest.raises(ValueError, match="at least one"):
        in_order()
