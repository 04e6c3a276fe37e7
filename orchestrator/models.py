"""The orchestrator's vocabulary: gatekeeper verdicts, the nine support categories, and the router's decision."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from support_core.categories import CATEGORIES, Category

__all__ = ["CATEGORIES", "Category", "GateDecision", "RouterDecision", "Verdict"]

LANGUAGES = ("es", "en", "fr", "de", "pt", "it")
"""Languages the offline engine understands and answers in; the LLM engine handles any."""

Sentiment = Literal["positive", "neutral", "negative", "angry"]
Urgency = Literal["low", "normal", "high"]
Handover = Literal["anger", "legal_threat", "asks_for_human", "fraud"]


class Verdict(StrEnum):
    PROCESS = "PROCESS"
    """A customer wrote: route it and draft a reply."""
    IGNORE = "IGNORE"
    """Spam, phishing, bulk, automated or self-sent mail: label it for audit, do not answer."""
    INTERNAL_ALERT = "INTERNAL_ALERT"
    """A partner or supplier: label it and open a ticket for a person, do not answer automatically."""


class GateDecision(BaseModel):
    """The gatekeeper's verdict on one message, with the rule that decided it (for labels, stats and audit)."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    reason: str = Field(description="Short machine-friendly reason, e.g. 'header:auto-submitted', 'sender:partner'.")
    detail: str = Field(default="", description="What matched, for a person reading the audit trail.")
    customer_email: str | None = Field(
        default=None,
        description="The verified customer: every lookup is bound to it, and it is the draft's only recipient. None "
        "when the sender is ambiguous (then nothing is looked up).",
    )
    recipient: str | None = Field(default=None, description="The draft's one and only recipient (To).")
    customer_name: str | None = Field(default=None, description="A safe display name (identity.safe_name) or None.")
    review: tuple[str, ...] = Field(
        default=(), description="Why the sender is not verified: the reply carries no customer data and is labelled."
    )
    body: str | None = Field(
        default=None, description="The customer's own text when it differs from the mail body (contact-form fields)."
    )


class RouterDecision(BaseModel):
    """The router's structured output (the JSON schema the LLM must follow, and what the offline router returns)."""

    model_config = ConfigDict(frozen=True)

    category: Category
    language: str = Field(description="ISO 639-1 code of the customer's language, e.g. 'es'.")
    order_number: str | None = Field(default=None, description="Order number the customer mentions, e.g. '#1021'.")
    sentiment: Sentiment = "neutral"
    urgency: Urgency = "normal"
    handover: list[Handover] = Field(default_factory=list, description="Reasons a person must take over.")
    confidence: float = Field(ge=0.0, le=1.0, description="How sure the router is of the category.")
