"""What a reply covers besides its text: which unread message of a thread gets it, and whether it quotes the original.

Both decisions follow the identity rule (README "Security"): messages collapse into one reply only when the
gatekeeper verified both senders as the same customer, and the original is quoted only back to its verified author
and only when it carries nothing the draft guard would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from orchestrator.guard import Evidence, guard_draft, visible_text
from orchestrator.models import GateDecision, Verdict
from support_core.mail import Message

__all__ = ["may_quote", "superseded"]

QUOTE_MAX = 4000
"""Characters of the original a draft may quote (gmail-mcp quotes the same amount)."""


def superseded(
    message: Message, gate: GateDecision, thread: dict[str, Any], decide: Callable[[Message], GateDecision]
) -> bool:
    """True when a later unread message of the thread comes from the same verified customer: several messages from
    one customer get one draft, answering the latest. `decide` is the gatekeeper, run on the other message too, so
    that only two *verified* messages with the *same* identity collapse: a later unverified message merely naming
    this customer (`From: mallory`, `Reply-To: maria, mallory`) never silences them, and two customers writing in
    one thread each get their own draft."""
    if gate.verdict is not Verdict.PROCESS or gate.customer_email is None:
        return False
    for item in thread.get("messages", []):
        if item.get("id") == message.id or item.get("from_me") or not item.get("unread"):
            continue
        other = Message.model_validate(item)
        if other.received_at <= message.received_at:
            continue
        theirs = decide(other)
        if theirs.verdict is Verdict.PROCESS and theirs.customer_email == gate.customer_email:
            return True
    return False


def may_quote(message: Message, gate: GateDecision, evidence: Evidence, shop_domains: Iterable[str]) -> bool:
    """Quote the message only to its verified author, and only when it holds no link and no address but theirs
    (the quote is attacker-controlled text, so it meets the same bar as the reply)."""
    author = message.headers.from_
    if author is None or gate.customer_email != author.email or len(message.headers.from_all) > 1:
        return False
    quoted = message.new_text[:QUOTE_MAX]
    check = guard_draft(
        quoted,
        evidence=evidence,
        shop_domains=shop_domains,
        recipient=gate.recipient or "",
        customer_text=quoted,
    )
    stopped = [item for item in check.removed if item.startswith(("link", "email"))]
    return not stopped and visible_text(quoted) == quoted.replace("\r", "")
