"""One message through the pipeline: fetch, gatekeeper, router, category agent, guarded draft, labels, ledger."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.config import AgentConfig
from orchestrator.errors import LLMError
from orchestrator.gatekeeper import gatekeep, ledger_reason
from orchestrator.guard import checked_decision, guard_draft
from orchestrator.language import in_languages
from orchestrator.ledger import Claim, Ledger, Record
from orchestrator.models import GateDecision, RouterDecision, Verdict
from orchestrator.offline_agent import answer_offline
from orchestrator.offline_router import route_offline
from orchestrator.reply_facts import ReplyFacts, Tone
from orchestrator.reply_scope import may_quote, superseded
from orchestrator.servers import ToolServers
from orchestrator.templates import render_reply
from orchestrator.tools import BoundTools
from support_core.mail import Message

if TYPE_CHECKING:  # the openai client is imported only when an LLM is configured
    from orchestrator.llm import LLM

logger = logging.getLogger(__name__)

REVIEW_LABEL = "support-agent/review"
"""Added when the sender could not be verified or the draft guard stopped something: a person should look first
(also on a contact form that no draft can answer: it is alerted, and a person answers its sender by hand)."""


@dataclass
class Outcome:
    """What happened to one message (the demo's table and the tests read this; the ledger has the rest)."""

    message_id: str
    mailbox: str = "default"
    rfc_message_id: str | None = None
    sender: str | None = None
    subject: str = ""
    verdict: Verdict | None = None
    reason: str = ""
    category: str | None = None
    language: str | None = None
    engine: str | None = None
    tools: list[str] = field(default_factory=list)
    draft_id: str | None = None
    escalated: bool = False
    flagged: list[str] = field(default_factory=list)
    """What the draft guard stopped (the draft was replaced by a reply without customer data)."""
    review: list[str] = field(default_factory=list)
    """Why the sender is not verified (no lookups were made); empty for a verified customer."""
    recipient: str | None = None
    superseded: bool = False


class Attempt:
    """One claimed message being processed: its claim (renewed when a slow message passes half its lease) and the
    `Record` of what this attempt learnt, written to the ledger with the next state change (at most three commits
    for a message: the claim, the draft, the end; a renewal only for a message slower than half a lease)."""

    def __init__(self, claim: Claim, record: Record, ledger: Ledger) -> None:
        self.claim = claim
        self.record = record
        self._ledger = ledger
        self._renewed = time.monotonic()

    @property
    def message_id(self) -> str:
        return self.claim.message_id

    async def keep(self) -> None:
        """Renew the lease once half of it has passed since the claim or the last renewal."""
        if time.monotonic() - self._renewed > self._ledger.lease_seconds / 2:
            self.claim = await self._ledger.renew(self.claim)
            self._renewed = time.monotonic()


class Pipeline:
    """Processes claimed messages for one worker and mailbox. The draft is recorded before labels and mark-read,
    and the message is closed after them; what each stage learnt travels in the attempt's `Record`."""

    def __init__(
        self,
        servers: ToolServers,
        ledger: Ledger,
        config: AgentConfig,
        *,
        own_address: str,
        worker: str,
        on_stage: Callable[[str, str], None] | None = None,
        llm: LLM | None = None,
    ):
        self.servers = servers
        self.llm = llm
        self.on_stage = on_stage
        """Called as on_stage(stage, message_id) after each stage (the crash tests kill the process there)."""
        self.ledger = ledger
        self.config = config
        self.own_address = own_address.lower()
        self.worker = worker
        self.tone = Tone(
            persona_name=config.tone.persona_name,
            shop_name=config.shop.name,
            signature=config.tone.signature,
            signatures=config.tone.signatures,
            emoji=config.tone.emoji,
            timezone=config.shop.timezone,
        )

    async def _timed(self, attempt: Attempt, stage: str, started: float) -> None:
        attempt.record.add_timing(stage, (time.perf_counter() - started) * 1000)
        await attempt.keep()  # a slow message keeps its claim
        self._stage(stage, attempt.message_id)

    def _stage(self, stage: str, message_id: str) -> None:
        if self.on_stage is not None:
            self.on_stage(stage, message_id)

    async def _label(self, message_id: str, add: list[str], *, mark_read: bool) -> None:
        await self.servers.gmail.call(
            "modify_labels", {"message_ids": [message_id], "add": add, "remove": ["UNREAD"] if mark_read else []}
        )

    async def process(self, claim: Claim, record: Record | None = None) -> Outcome:
        """Run one claimed message to its end state. Exceptions propagate: the daemon records the failure, with
        `record` (pass one in to keep what the failed attempt learnt)."""
        attempt = Attempt(claim, record if record is not None else Record(), self.ledger)
        message_id = claim.message_id
        outcome = Outcome(message_id=message_id, mailbox=claim.mailbox)
        if claim.draft_id:  # drafted before a crash: only the labels and the read state are left to do
            await self._label(message_id, [self.config.labels.processed], mark_read=True)
            await self.ledger.finish(attempt.claim, state="done", record=attempt.record)
            outcome.draft_id = claim.draft_id
            return outcome
        started = time.perf_counter()
        message = Message.model_validate(await self.servers.gmail.call("get_message", {"message_id": message_id}))
        thread = await self.servers.gmail.call("get_thread", {"thread_id": message.thread_id})
        await self._timed(attempt, "fetch", started)
        outcome.sender = message.headers.from_.email if message.headers.from_ else None
        outcome.subject = message.headers.subject
        outcome.rfc_message_id = message.headers.message_id
        started = time.perf_counter()
        gate = self._gatekeep(message)
        await self._timed(attempt, "gatekeeper", started)
        if superseded(message, gate, thread, self._gatekeep):
            outcome.superseded = True
            attempt.record.verdict, attempt.record.reason = Verdict.IGNORE, "superseded"
            await self._label(message_id, [self.config.labels.processed], mark_read=True)
            await self.ledger.finish(attempt.claim, state="ignored", record=attempt.record)
            outcome.verdict, outcome.reason = Verdict.IGNORE, "superseded"
            return outcome
        attempt.record.verdict, attempt.record.reason = gate.verdict, ledger_reason(gate)
        outcome.verdict, outcome.reason = gate.verdict, gate.reason
        if gate.verdict is Verdict.IGNORE:
            await self._label(message_id, [self.config.labels.ignored], mark_read=True)
            await self.ledger.finish(attempt.claim, state="ignored", record=attempt.record)
            return outcome
        if gate.verdict is Verdict.INTERNAL_ALERT:
            await self._alert(attempt, message, gate, outcome)
            return outcome
        return await self._answer(attempt, message, gate, outcome)

    def _gatekeep(self, message: Message) -> GateDecision:
        """The gatekeeper's decision on a message of this mailbox (the one claimed, or another of its thread)."""
        return gatekeep(message, own_address=self.own_address, rules=self.config.gatekeeper)

    @staticmethod
    def _note(outcome: Outcome, removed: tuple[str, ...]) -> str:
        """The draft's hidden note: which engine wrote it, and what the guard removed (reviewers should look)."""
        note = f"engine={outcome.engine}; category={outcome.category}"
        if not removed:
            return note
        kinds = sorted({item.split(" ", 1)[0] for item in removed})  # kinds only: headers travel with the mail
        return f"{note}; review: the guard removed {len(removed)} item(s) ({', '.join(kinds)})"

    async def _alert(self, attempt: Attempt, message: Message, gate: GateDecision, outcome: Outcome) -> None:
        """A ticket and the alert label, the message left unread for a person: partner mail, and contact forms no
        draft can answer (no usable Reply-To: those also get the review label, and the reasons in the ticket)."""
        sender = gate.customer_email or (message.headers.from_.email if message.headers.from_ else None)
        if sender:
            tools = BoundTools(self.servers.shopify, sender, ("escalate_ticket",))
            if gate.review:
                why = "; ".join(gate.review)
                summary = f"Contact form to answer by hand (no draft: {why}): {message.headers.subject}"
                arguments = {"category": "Other", "priority": "normal"}
            else:
                summary, arguments = f"Partner mail: {message.headers.subject}", {"category": "InternalAlert"}
            arguments["summary"] = f"{summary[:1000]}\n\n{message.new_text[:1500]}"  # a form: with its Email field
            try:
                await tools.call("escalate_ticket", {"priority": "high", **arguments})
            finally:
                for call in tools.calls:
                    attempt.record.add_tool(call.tool, call.error)
            outcome.tools = [c.tool for c in tools.calls]
            outcome.escalated = True
        outcome.review = list(gate.review)
        labels = [self.config.labels.alert, *([REVIEW_LABEL] if gate.review else [])]
        await self._label(message.id, labels, mark_read=False)
        await self.ledger.finish(attempt.claim, state="alerted", record=attempt.record)

    async def route(self, subject: str, body: str, record: Record | None = None) -> tuple[RouterDecision, str]:
        """The LLM router when configured (its failures fall back to the offline router), else the offline one;
        the LLM's token use goes into `record` when one is given."""
        if self.llm is not None:
            from orchestrator.llm_agent import route_llm

            try:
                decision, usage = await route_llm(self.llm, self.config, subject=subject, body=body)
            except LLMError as exc:
                level = logging.DEBUG if self.llm.paused else logging.WARNING  # a pause is logged once, by the LLM
                logger.log(level, "LLM router failed (%s); using the offline router", type(exc).__name__)
            else:
                if record is not None:
                    record.add_usage(usage.prompt_tokens, usage.completion_tokens, calls=1)
                return decision, "llm"
        decision = route_offline(
            subject, body, default_language=self.config.tone.fallback_language, languages=self.config.shop.languages
        )
        return decision, "offline"

    async def _reply_text(
        self, attempt: Attempt, tools: BoundTools, decision: RouterDecision, message: Message, body: str, **facts: Any
    ) -> tuple[str, str]:
        """(reply, engine): the LLM agent unless a person takes over or the LLM fails; else the templates."""
        if self.llm is not None and not facts["handover"]:
            from orchestrator.llm_agent import answer_llm

            try:
                result = await answer_llm(
                    self.llm,
                    tools,
                    decision,
                    config=self.config,
                    subject=message.headers.subject,
                    body=body,
                    customer_name=facts["customer_name"],
                )
            except LLMError as exc:
                level = logging.DEBUG if self.llm.paused else logging.WARNING  # a pause is logged once, by the LLM
                logger.log(level, "LLM agent failed (%s); using the offline engine", type(exc).__name__)
            else:
                usage = result.usage
                attempt.record.add_usage(usage.prompt_tokens, usage.completion_tokens, calls=result.llm_calls)
                if result.text.strip():
                    return result.text, "llm"
        text = await answer_offline(
            tools, decision, subject=message.headers.subject, body=body, tone=self.tone, **facts
        )
        return text, "offline"

    async def _answer(self, attempt: Attempt, message: Message, gate: GateDecision, outcome: Outcome) -> Outcome:
        body = gate.body or message.new_text
        started = time.perf_counter()
        record = attempt.record
        decision, engine = await self.route(message.headers.subject, body, record)
        decision = self._in_shop_languages(
            checked_decision(decision, f"{message.headers.subject}\n{body}", self.config.tone.fallback_language), body
        )
        await self._timed(attempt, "router", started)
        record.category, record.language = decision.category, decision.language
        record.confidence, record.engine = decision.confidence, "offline" if engine == "offline" else "llm"
        outcome.category, outcome.language, outcome.engine = decision.category, decision.language, engine
        outcome.review, outcome.recipient = list(gate.review), gate.recipient
        verified = gate.customer_email is not None
        allowed = self.config.categories[decision.category].tools if verified else ()
        tools = BoundTools(self.servers.shopify, gate.customer_email, (*allowed, "escalate_ticket"))
        started = time.perf_counter()
        try:
            text = await self._reply(attempt, tools, decision, message, body, gate, outcome)
        finally:  # a failed attempt keeps the calls it made
            for call in tools.calls:
                record.add_tool(call.tool, call.error)
        outcome.tools = [c.tool for c in tools.calls]
        if any(c.tool == "escalate_ticket" and not c.error for c in tools.calls):
            outcome.escalated = True  # the agent opened a ticket itself (a request only a person can grant)
        await self._timed(attempt, "agent", started)
        guarded = guard_draft(
            text,
            evidence=tools.evidence,
            shop_domains=self.config.shop.domains,
            recipient=gate.recipient or "",
            customer_text=f"{message.headers.subject}\n{body}",
            shop_text=self.config.tone.all_signatures,
        )
        text = guarded.text
        if guarded.flagged:  # never a patched draft: a reply with no data, and a person looks at what was stopped
            outcome.flagged = list(guarded.removed)
            text = self._no_data_reply(decision, gate.customer_name)
            record.reason = f"review:guard ({', '.join(guarded.removed)})"
        quote = may_quote(message, gate, tools.evidence, self.config.shop.domains)
        started = time.perf_counter()
        draft = await self.servers.gmail.call(
            "create_reply_draft",
            {
                "message_id": message.id,
                "body_text": text,
                "note": self._note(outcome, guarded.removed),
                "to": gate.recipient,
                "quote": quote,
                "language": decision.language,
            },
        )
        self._stage("draft-created", message.id)  # the draft exists but the ledger does not know yet
        record.engine = "llm" if outcome.engine == "llm" else "offline"
        record.add_timing("draft", (time.perf_counter() - started) * 1000)
        await self.ledger.record_draft(
            attempt.claim, draft_id=str(draft["id"]), draft_message_id=str(draft["message_id"]), record=record
        )
        self._stage("draft", message.id)
        outcome.draft_id = str(draft["id"])
        labels = [self.config.labels.processed]
        if outcome.escalated:
            labels.append(self.config.labels.escalated)
        if guarded.flagged or not verified:
            labels.append(REVIEW_LABEL)
        started = time.perf_counter()
        await self._label(message.id, labels, mark_read=True)
        record.add_timing("label", (time.perf_counter() - started) * 1000)
        self._stage("labelled", message.id)
        await self.ledger.finish(attempt.claim, state="done", record=record)
        self._stage("finished", message.id)
        return outcome

    async def _reply(
        self,
        attempt: Attempt,
        tools: BoundTools,
        decision: RouterDecision,
        message: Message,
        body: str,
        gate: GateDecision,
        outcome: Outcome,
    ) -> str:
        """The reply's text: a ticket first when a person must take over, then the agent's answer; an unverified
        sender gets no lookups and no model, only a holding reply that a person reviews."""
        if gate.customer_email is None:
            outcome.engine = "offline"
            return self._no_data_reply(decision, gate.customer_name)
        handover = bool(decision.handover) or decision.confidence < self.config.engine.min_confidence
        ticket_id = None
        if handover or self.config.categories[decision.category].escalate:
            reasons = ", ".join(decision.handover) or f"low confidence ({decision.confidence:.2f})"
            ticket = await tools.call(
                "escalate_ticket",
                {
                    "category": decision.category,
                    "summary": f"{message.headers.subject}\n\nWhy a person: {reasons}\n\n{body[:2000]}",
                    "priority": "high" if handover else "normal",
                    "order_number": decision.order_number,
                    "customer_name": gate.customer_name,
                },
            )
            ticket_id = str(ticket.get("id"))
            outcome.escalated = True
        text, outcome.engine = await self._reply_text(
            attempt,
            tools,
            decision,
            message,
            body,
            customer_name=gate.customer_name,
            handover=handover,
            ticket_id=ticket_id,
        )
        return text

    def _in_shop_languages(self, decision: RouterDecision, body: str) -> RouterDecision:
        """The decision in one of the shop's languages (`[shop] languages`): a model may name any language, and the
        offline router already chose among them (then this changes nothing)."""
        shop = self.config.shop.languages
        language = in_languages(decision.language, body, shop, self.config.tone.fallback_language)
        return decision if language == decision.language else decision.model_copy(update={"language": language})

    def _no_data_reply(self, decision: RouterDecision, customer_name: str | None) -> str:
        """The holding reply in the customer's language: no order, no link, nothing looked up."""
        facts = ReplyFacts(customer_name=customer_name, handover=True)
        return render_reply(decision.category, decision.language, facts, tone=self.tone)
