"""One customer message answered without a mailbox: the daemon's router, category agent and draft guard (CLI, /chat)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from orchestrator.config import AgentConfig
from orchestrator.errors import LLMError
from orchestrator.guard import checked_decision, guard_draft
from orchestrator.language import in_languages
from orchestrator.ledger import Ledger
from orchestrator.models import RouterDecision
from orchestrator.offline_agent import answer_offline
from orchestrator.phrasebook import FALLBACK_LANGUAGE, phrasebook
from orchestrator.pipeline import Pipeline
from orchestrator.reply_facts import ReplyFacts
from orchestrator.servers import ToolServers
from orchestrator.templates import render_reply
from orchestrator.tools import BoundTools

if TYPE_CHECKING:  # the openai client is imported only when an LLM is configured
    from orchestrator.llm import LLM

CHAT_WORKER = "chat"
_HOLDING = frozenset({"holding", "holding_no_contact"})
"""Phrases that are the holding reply itself (they hand over by design), not a follow-up promised inside an answer."""


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
    """The ticket opened for a person (only with `escalate` and a customer email): for a handover, for a category
    the configuration escalates (`escalate = true`), or because the answer promises a colleague's follow-up."""


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


def in_shop_languages(decision: RouterDecision, text: str, config: AgentConfig) -> RouterDecision:
    """The decision in one of the shop's languages (`[shop] languages`)."""
    language = in_languages(decision.language, text, config.shop.languages, config.tone.fallback_language)
    return decision if language == decision.language else decision.model_copy(update={"language": language})


@dataclass(frozen=True)
class _Promises:
    """The phrases of one phrase book that promise a colleague's follow-up, as patterns with their placeholders open,
    found by their English version naming a colleague: `conditional` ones ("If your parcel has not arrived..., reply
    ... and a colleague will..."), the category's `closing` line ("A colleague will check your request..."), and
    specific `follow_ups` ("A colleague will check the restock date...")."""

    conditional: tuple[re.Pattern[str], ...]
    closing: tuple[re.Pattern[str], ...]
    follow_ups: tuple[re.Pattern[str], ...]


@cache
def _promises(language: str) -> _Promises:
    reference, book = phrasebook(FALLBACK_LANGUAGE).data["text"], phrasebook(language).data["text"]
    kinds: dict[str, list[re.Pattern[str]]] = {"conditional": [], "closing": [], "follow_ups": []}
    for key, english in reference.items():
        if key in _HOLDING or key not in book or "colleague" not in str(english).lower():
            continue
        kind = (
            "conditional" if str(english).startswith("If ") else "closing" if key.startswith("next_") else "follow_ups"
        )
        kinds[kind].append(_phrase_pattern(str(book[key])))
    return _Promises(**{kind: tuple(patterns) for kind, patterns in kinds.items()})


def _phrase_pattern(template: str) -> re.Pattern[str]:
    literals = re.split(r"\$(?:\{\w+\}|\w+)", template)
    return re.compile(".+?".join(re.escape(part) for part in literals))


def _replace_lines(text: str, patterns: tuple[re.Pattern[str], ...], replacement: str | None) -> tuple[str, bool]:
    """`text` without the phrases `patterns` find (a line left empty goes too); `replacement`, when given, stands
    where the first one was. Returns the text and whether anything was found."""
    lines, found = [], False
    for line in text.split("\n"):
        kept = line
        for pattern in patterns:
            kept = pattern.sub("", kept)
        if kept == line:
            lines.append(line)
            continue
        if replacement is not None and not found:
            lines.append(replacement)
        found = True
        if kept.strip():
            lines.append(kept.strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)), found


def _with_reference(text: str, language: str, ticket: str, signature: str) -> str:
    """The ticket's reference said in the reply, before its closing words (or its signature), unless already there."""
    if ticket in text:
        return text
    book = phrasebook(language)
    line = book.say("ticket", ticket=ticket)
    for anchor in (f"\n{book.say('closing')}", f"\n{signature.strip()}"):
        if anchor.strip() and anchor in text:
            head, _, tail = text.rpartition(anchor)
            return f"{head.rstrip()}\n\n{line}\n{anchor}{tail}"
    return f"{text.rstrip()}\n\n{line}\n"


async def _open_ticket(
    tools: BoundTools, decision: RouterDecision, why: str, message: str, history: list[ChatTurn], priority: str
) -> str:
    transcript = "\n".join(f"{turn.role}: {turn.text[:500]}" for turn in history[-6:])
    ticket = await tools.call(
        "escalate_ticket",
        {
            "category": decision.category,
            "summary": f"Chat: {why}\n\n{transcript}\ncustomer: {message[:2000]}".strip(),
            "priority": priority,
            "order_number": decision.order_number,
        },
    )
    return str(ticket.get("id"))


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

    `customer_email` is the verified identity order tools are bound to; with None they disclose nothing, and a reply
    that needs an order asks for the email address the customer ordered with instead of an order number.
    `history` is the conversation so far (oldest first); the caller appends this exchange to it.
    With `escalate` (the HTTP API), a ticket is opened for a person, as the inbox does, for a handover (a trigger or
    low confidence) and for a category the configuration escalates (`escalate = true`), and the reply gives its
    reference; that needs a customer email (a ticket nobody can answer helps nobody). A reply only promises a
    colleague's follow-up when a ticket was opened: such a promise opens one, or (without an email) becomes a request
    for one, or (without `escalate`) is left out.
    """
    pipeline = pipeline or router(servers, config)
    turns = history or []
    decision, _engine = await pipeline.route(subject_of(message), message)
    earlier = "\n".join(turn.text for turn in turns if turn.role == "customer")
    decision = checked_decision(decision, f"{earlier}\n{message}", config.tone.fallback_language)
    decision = in_shop_languages(decision, message, config)
    decision = await _with_history(decision, turns, pipeline)
    handover = bool(decision.handover) or decision.confidence < config.engine.min_confidence
    allowed = config.categories[decision.category].tools
    tools = BoundTools(servers.shopify, customer_email, (*allowed, "escalate_ticket") if escalate else allowed)
    can_open = escalate and customer_email is not None
    ticket_id = None
    if can_open and (handover or config.categories[decision.category].escalate):
        why = "handed over: " + (", ".join(decision.handover) or f"low confidence ({decision.confidence:.2f})")
        why = why if handover else f"{decision.category} always goes to a person too"
        ticket_id = await _open_ticket(tools, decision, why, message, turns, "high" if decision.handover else "normal")
    text = ""
    if escalate and handover and not customer_email:  # no ticket nobody can answer: ask how to reach them
        facts = ReplyFacts(handover=True, no_contact=True)
        text = render_reply(decision.category, decision.language, facts, tone=pipeline.tone)
    if pipeline.llm is not None and not handover:
        from orchestrator.llm_agent import answer_llm

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
    if not handover:
        text, ticket_id = await _keep_promises(text, tools, decision, message, turns, can_open, ticket_id)
        if ticket_id is not None:
            text = _with_reference(text, decision.language, ticket_id, pipeline.tone.signature_for(decision.language))
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


async def _keep_promises(
    text: str,
    tools: BoundTools,
    decision: RouterDecision,
    message: str,
    history: list[ChatTurn],
    can_open: bool,
    ticket_id: str | None,
) -> tuple[str, str | None]:
    """A chat has no reviewer who reads the answer before it goes out, so a colleague's follow-up it promises ("A
    colleague will check the restock date") happens only through a ticket. With a ticket open every promise stands;
    a specific follow-up opens one when it can. Otherwise the promises go: "if..., reply to this email and a
    colleague will..." and the category's closing promise are left out; a request for the order number (which alone
    would not let anyone look the order up) becomes `ask_order_email`, a request for the email address the customer
    ordered with; a specific follow-up becomes `holding_no_contact` (how a colleague can reach them), or goes when
    the reply already asks for the address."""
    if ticket_id is not None:
        return text, ticket_id
    promises = _promises(decision.language)
    if can_open and any(pattern.search(text) for pattern in promises.follow_ups):
        why = "the answer promises a colleague's follow-up"
        return text, await _open_ticket(tools, decision, why, message, history, "normal")
    text, _ = _replace_lines(text, (*promises.conditional, *promises.closing), None)
    if tools.customer_email is not None:
        text, _ = _replace_lines(text, promises.follow_ups, None)
        return text, None
    book = phrasebook(decision.language)
    ask_number = (re.compile(re.escape(book.say("ask_order_number"))),)
    text, asked = _replace_lines(text, ask_number, book.say("ask_order_email"))
    text, _ = _replace_lines(text, promises.follow_ups, None if asked else book.say("holding_no_contact"))
    return text, None
