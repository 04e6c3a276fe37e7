"""One customer message answered without a mailbox: the daemon's router, category agent and draft guard (CLI, /chat)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.config import AgentConfig
from orchestrator.errors import LLMError
from orchestrator.guard import checked_decision, guard_draft
from orchestrator.ledger import Ledger
from orchestrator.llm import LLM
from orchestrator.llm_agent import answer_llm
from orchestrator.models import RouterDecision
from orchestrator.offline_agent import answer_offline
from orchestrator.pipeline import Pipeline
from orchestrator.reply_facts import ReplyFacts
from orchestrator.servers import ToolServers
from orchestrator.templates import render_reply
from orchestrator.tools import BoundTools

CHAT_WORKER = "chat"


@dataclass(frozen=True)
class ChatTurn:
    role: Literal["customer", "agent"]
    text: str


@dataclass(frozen=True)
class ChatAnswer:
    response: str
    category: str
    language: str
    tools_used: tuple[str, ...]
    handover: bool = False
    """The router wants a person (low confidence or a trigger); a chat escalates nothing, the caller may."""
    removed: tuple[str, ...] = ()
    """What the draft guard stopped (the reply was replaced by the holding reply); empty when it was clean."""
    ticket: str | None = None
    """The ticket opened for a person when the chat was handed over (only with `escalate` and a customer email)."""


def router(servers: ToolServers, config: AgentConfig, llm: LLM | None = None) -> Pipeline:
    """A pipeline used only for `route` without a message id: the ledger is never opened (a chat records nothing),
    and opening it by mistake fails loudly instead of writing somewhere."""
    return Pipeline(servers, Ledger(Path(os.devnull)), config, own_address="", worker=CHAT_WORKER, llm=llm)


def subject_of(message: str) -> str:
    """A chat message has no subject: its first line plays that part, as in an email written without one."""
    return message.strip().split("\n", 1)[0][:120]


async def _with_history(decision: RouterDecision, history: list[ChatTurn], pipeline: Pipeline) -> RouterDecision:
    """A follow-up without an order number ("and when will it arrive?") refers to the last one the customer gave."""
    if decision.order_number:
        return decision
    for turn in reversed(history):
        if turn.role == "customer":
            earlier, _ = await pipeline.route(subject_of(turn.text), turn.text)
            if earlier.order_number:
                return decision.model_copy(update={"order_number": earlier.order_number})
    return decision


async def answer(
    servers: ToolServers,
    config: AgentConfig,
    message: str,
    *,
    customer_email: str | None,
    history: list[ChatTurn] | None = None,
    pipeline: Pipeline | None = None,
    escalate: bool = False,
) -> ChatAnswer:
    """Route `message`, let its category agent answer with the category's tools, and guard the reply.

    `customer_email` is the verified identity order tools are bound to; with None they disclose nothing.
    `history` is the conversation so far (oldest first); the caller appends this exchange to it.
    With `escalate`, a handover (a trigger or low confidence) opens a ticket for a person, as the inbox does, and
    the reply gives its reference; that needs a customer email (a ticket nobody can answer helps nobody).
    """
    pipeline = pipeline or router(servers, config)
    decision, _engine = await pipeline.route(subject_of(message), message)
    earlier = "\n".join(turn.text for turn in history or [] if turn.role == "customer")
    decision = checked_decision(decision, f"{earlier}\n{message}", config.tone.fallback_language)
    decision = await _with_history(decision, history or [], pipeline)
    handover = bool(decision.handover) or decision.confidence < config.engine.min_confidence
    allowed = config.categories[decision.category].tools
    tools = BoundTools(servers.shopify, customer_email, (*allowed, "escalate_ticket") if escalate else allowed)
    ticket_id = None
    if escalate and handover and customer_email:
        reasons = ", ".join(decision.handover) or f"low confidence ({decision.confidence:.2f})"
        transcript = "\n".join(f"{turn.role}: {turn.text[:500]}" for turn in (history or [])[-6:])
        ticket = await tools.call(
            "escalate_ticket",
            {
                "category": decision.category,
                "summary": f"Chat handed over: {reasons}\n\n{transcript}\ncustomer: {message[:2000]}".strip(),
                "priority": "high" if decision.handover else "normal",
                "order_number": decision.order_number,
            },
        )
        ticket_id = str(ticket.get("id"))
    text = ""
    if escalate and handover and not customer_email:  # no ticket nobody can answer: ask how to reach them
        facts = ReplyFacts(handover=True, no_contact=True)
        text = render_reply(decision.category, decision.language, facts, tone=pipeline.tone)
    if pipeline.llm is not None and not handover:
        try:
            result = await answer_llm(
                pipeline.llm,
                tools,
                decision,
                config=config,
                subject=subject_of(message),
                body=message,
                customer_name=None,
            )
            text = result.text
        except LLMError:
            text = ""  # the offline engine answers instead
    if not text.strip():
        text = await answer_offline(
            tools,
            decision,
            subject=subject_of(message),
            body=message,
            customer_name=None,
            tone=pipeline.tone,
            handover=handover,
            ticket_id=ticket_id,
        )
    guarded = guard_draft(
        text,
        evidence=tools.evidence,
        shop_domains=config.shop.domains,
        recipient=customer_email or "",
        customer_text=f"{earlier}\n{message}",
        shop_text=config.tone.all_signatures,
    )
    if guarded.flagged:  # never a patched answer: the holding reply, with no data at all
        handover = True
        facts = ReplyFacts(handover=True, ticket_id=ticket_id)
        text = render_reply(decision.category, decision.language, facts, tone=pipeline.tone)
    return ChatAnswer(
        response=guarded.text if not guarded.flagged else text,
        category=decision.category,
        language=decision.language,
        tools_used=tuple(dict.fromkeys(call.tool for call in tools.calls)),
        handover=handover,
        removed=guarded.removed,
        ticket=ticket_id,
    )
