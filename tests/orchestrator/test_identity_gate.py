"""The identity rule where the pipeline applies it: the gatekeeper's decision on contact forms no draft can answer,
the reason the ledger keeps for an unverified sender, and which messages of a thread collapse into one reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gmail_mcp.mime import parse_message
from orchestrator.gatekeeper import GatekeeperRules, gatekeep, ledger_reason
from orchestrator.models import GateDecision, Verdict
from orchestrator.reply_scope import superseded
from support_core.mail import Message

OWN = "support@aurora-activewear.example"
AUTHSERV = "mx.aurora-activewear.example"
RULES = GatekeeperRules(shop_domains=("aurora-activewear.example",))
FORM_AUTH = (
    f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=shopify.com; dmarc=pass header.from=shopify.com\r\n"
)
FORM_FROM = "From: Shopify <mailer@shopify.com>\r\n"
FORM_BODY = "Name:\r\nMaria\r\n\r\nEmail:\r\nmaria.garcia@example.com\r\n\r\nMessage:\r\nWhere is my order #1021?\r\n"
MARIA, MALLORY = "maria.garcia@example.com", "mallory@evil.example"
START = datetime(2026, 12, 3, 10, tzinfo=UTC)


def message(
    lines: str, body: str = "Hello, where is my order #1021?", *, name: str = "m1", minutes: int = 0
) -> Message:
    raw = f"{lines}To: <{OWN}>\r\nSubject: Order\r\nMessage-ID: <{name}@example.com>\r\n\r\n{body}\r\n".encode()
    parsed = parse_message(raw, authserv_ids=frozenset({AUTHSERV}))
    return Message(
        id=name,
        thread_id="t1",
        labels=["INBOX", "UNREAD"],
        unread=True,
        from_me=False,
        received_at=START + timedelta(minutes=minutes),
        headers=parsed.headers,
        text=parsed.text,
        new_text=parsed.new_text,
    )


def decide(mail: Message) -> GateDecision:
    return gatekeep(mail, own_address=OWN, rules=RULES)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (f"{FORM_AUTH}{FORM_FROM}", "the form has no Reply-To address"),
        (f"{FORM_AUTH}{FORM_FROM}Reply-To: noreply@example.com\r\n", "Reply-To rejected: it is an automated address"),
        (f"{FORM_FROM}", "the form has no Reply-To address"),
    ],
)
def test_a_form_no_draft_can_answer_is_an_alert_for_review(lines: str, problem: str) -> None:
    """No Reply-To to answer (the relay is a robot, the Email field alone is no sender address): no draft at all,
    an alert that a person answers the form's sender by hand, with the reasons."""
    decision = decide(message(lines, FORM_BODY))
    assert decision.verdict is Verdict.INTERNAL_ALERT and decision.reason == "review:form"
    assert decision.customer_email is None and decision.recipient is None
    assert problem in " ".join(decision.review) and "by hand" in decision.detail
    assert ledger_reason(decision).startswith(f"review:form: {problem}")


def test_a_form_with_two_from_headers_gets_no_customer_data() -> None:
    decision = decide(message(f"{FORM_AUTH}{FORM_FROM}From: <{MALLORY}>\r\nReply-To: <{MARIA}>\r\n", FORM_BODY))
    assert decision.verdict is Verdict.PROCESS and decision.customer_email is None and decision.recipient == MARIA
    assert ledger_reason(decision) == "review:form: From: the header appears 2 times; From: 2 addresses"


def test_a_spam_form_without_reply_to_is_still_ignored() -> None:
    body = FORM_BODY.replace(MARIA, "noreply@example.com")
    assert decide(message(f"{FORM_AUTH}{FORM_FROM}", body)).verdict is Verdict.IGNORE


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        ((), "customer"),
        (("From: 2 addresses",), "review:sender: From: 2 addresses"),
        (("From: invalid address: 'maria.garcia@exa\u200bmple.com' is not valid",), "review:sender: From: invalid "),
        (("Reply-To rejected: it is an automated address (noreply@...)",), "review:sender: Reply-To rejected: it is"),
        (("From: obsolete route address (<@host:...>)",), "review:sender: From: obsolete route address (<@host:...>)"),
    ],
)
def test_the_ledger_reason_names_the_problems_without_addresses(review: tuple[str, ...], expected: str) -> None:
    reason = "review:sender" if review else "customer"
    decision = GateDecision(verdict=Verdict.PROCESS, reason=reason, review=review)
    text = ledger_reason(decision)
    assert text.startswith(expected) and "maria" not in text and "\u200b" not in text
    assert "noreply@..." in text or "noreply" not in " ".join(review)


def test_the_ledger_reason_is_short() -> None:
    decision = GateDecision(verdict=Verdict.PROCESS, reason="review:sender", review=("x" * 150, "y" * 150))
    assert len(ledger_reason(decision)) <= 200


def thread(*messages: Message) -> dict[str, Any]:
    return {"id": "t1", "messages": [m.model_dump(mode="json", by_alias=True) for m in messages]}


def test_a_later_message_of_the_same_verified_customer_supersedes() -> None:
    first = message(f"From: Maria <{MARIA}>\r\n")
    later = message(f"From: <{MARIA}>\r\n", name="m2", minutes=5)
    assert superseded(first, decide(first), thread(first, later), decide)
    assert not superseded(later, decide(later), thread(first, later), decide), "the latest one is answered"


@pytest.mark.parametrize(
    "lines",
    [
        f"From: <{MALLORY}>\r\nReply-To: <{MARIA}>, <{MALLORY}>\r\n",  # a mail client would reply to Maria first
        f"From: <{MALLORY}>\r\nReply-To: {MALLORY} <{MARIA}>\r\n",  # unverified, though the address is Maria's
        f"From: <{MARIA}>, <{MALLORY}>\r\n",
        f"From: <{MALLORY}>\r\n",
    ],
)
def test_a_later_unverified_or_other_sender_never_silences_a_customer(lines: str) -> None:
    first = message(f"From: Maria <{MARIA}>\r\n")
    later = message(lines, name="m2", minutes=5)
    assert not superseded(first, decide(first), thread(first, later), decide)


def test_an_unverified_message_is_never_collapsed() -> None:
    first = message(f"From: <{MARIA}>, <{MALLORY}>\r\n")
    later = message(f"From: <{MARIA}>, <{MALLORY}>\r\n", name="m2", minutes=5)
    assert not superseded(first, decide(first), thread(first, later), decide)
