"""What the Gmail server's tools return (MCP clients receive it as structured content): the contract the
orchestrator reads, shared here so that it never imports the server."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Address(Model):
    name: str | None = Field(default=None, description="Display name, decoded (RFC 2047), e.g. 'José Núñez'.")
    email: str = Field(
        description="The address in its normal form (support_core.addresses): ASCII letters lower-cased, the "
        "domain in Unicode, e.g. 'jose@example.com'."
    )


class AuthResults(Model):
    """SPF/DKIM/DMARC verdicts from one Authentication-Results header (None when absent).

    Anyone can write this header into a message: only one added by a receiving server this mailbox trusts
    (`trusted`, by its authserv-id; GMAIL_AUTHSERV_IDS) says anything about the sender.
    """

    authserv_id: str | None = Field(default=None, description="The server that added the header (first word).")
    trusted: bool = Field(default=False, description="Added by a receiving server this mailbox trusts.")
    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None
    dmarc_domain: str | None = Field(default=None, description="header.from domain that DMARC evaluated.")
    dkim_domains: list[str] = Field(default_factory=list, description="Domains (header.d) of passing DKIM signatures.")


class SpamVerdict(Model):
    """What one spam filter on the way (SpamAssassin, rspamd, Microsoft 365, Barracuda) wrote into the headers.

    Anyone can write these headers into a message, the sender included: a verdict of "spam" only hurts the mail
    that carries it, but a "not spam" verdict proves nothing and must never make mail look legitimate.
    """

    header: str = Field(description="The header's name as written, e.g. 'X-Spam-Status'.")
    value: str = Field(description="Its value, on one line (cut at 200 characters).")
    spam: bool | None = Field(
        description="The filter's verdict: True spam, False not spam, None when the header does not say."
    )
    score: float | None = Field(default=None, description="The filter's score, when the header gives one.")
    threshold: float | None = Field(default=None, description="The score the filter calls spam, when given.")


class Headers(Model):
    """The headers that matter for support triage, decoded."""

    from_: Address | None = Field(default=None, alias="from", serialization_alias="from")
    from_all: list[Address] = Field(
        default_factory=list, description="Every From address (more than one makes the sender ambiguous)."
    )
    reply_to: list[Address] = Field(default_factory=list)
    sender_problems: list[str] = Field(
        default_factory=list,
        description="Why From/Reply-To could be read two ways (several addresses or headers, a display name holding "
        "an address, text after <address>, invalid addresses ...). Empty when the sender is unambiguous.",
    )
    to: list[Address] = Field(default_factory=list)
    cc: list[Address] = Field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    message_id: str | None = Field(default=None, description="RFC 5322 Message-ID with angle brackets.")
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list, description="Message-IDs, oldest first.")
    list_id: str | None = None
    list_unsubscribe: str | None = None
    auto_submitted: str | None = None
    precedence: str | None = None
    return_path: str | None = None
    autoreply: str | None = Field(
        default=None, description="X-Autoreply or X-Autorespond, which autoresponders add (the first one found)."
    )
    spam_verdicts: list[SpamVerdict] = Field(
        default_factory=list,
        description="Upstream spam filters' verdicts (X-Spam-Flag, X-Spam-Status, X-Spam, X-Spamd-Result, "
        "X-Rspamd-Action, X-MS-Exchange-Organization-SCL, X-Forefront-Antispam-Report, X-Barracuda-Spam-*), "
        "topmost first.",
    )
    authentication: AuthResults = Field(
        default_factory=AuthResults,
        description="The topmost Authentication-Results from a trusted server, else the topmost one (untrusted).",
    )
    authentication_results: list[AuthResults] = Field(default_factory=list, description="All of them, topmost first.")

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Attachment(Model):
    filename: str | None
    content_type: str
    size: int = Field(description="Decoded size in bytes.")
    inline: bool = Field(default=False, description="Content-Disposition inline (e.g. an embedded image).")


class Message(Model):
    """One email, parsed: headers, clean text, and the new part of a reply separated from quotes and signature."""

    id: str = Field(description="Backend message id (Gmail's id, or the Maildir unique name).")
    thread_id: str
    labels: list[str] = Field(description="Label names, e.g. INBOX, UNREAD, support/processed.")
    unread: bool
    from_me: bool = Field(description="Sent by the mailbox owner (or a draft of theirs).")
    received_at: datetime
    headers: Headers
    text: str = Field(description="The whole body as clean text (HTML converted, links kept as 'text (url)').")
    new_text: str = Field(
        description="What this message adds: the text without the quoted history; a signature, if any, stays at "
        "its end (and is also given in `signature`)."
    )
    quoted_text: str | None = Field(default=None, description="The quoted earlier conversation, if any.")
    signature: str | None = None
    html_only: bool = Field(default=False, description="The message had no non-empty text/plain part.")
    truncated: bool = Field(default=False, description="The body was longer than the limit and was cut.")
    attachments: list[Attachment] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list, description="Parsing problems worked around (charsets, MIME).")


class MessageRef(Model):
    id: str
    thread_id: str


class NewMessages(Model):
    cursor: str = Field(description="Pass it back next time to get only what arrived since.")
    messages: list[MessageRef] = Field(description="New inbox messages, oldest first (read or unread).")
    full_sync: bool = Field(
        description="True when the cursor was missing or too old and the list came from a query instead."
    )
    waited: bool = Field(
        default=False,
        description="True when the server watched the inbox (IMAP IDLE) for up to wait_seconds before answering: "
        "call again at once instead of sleeping.",
    )


class MessageSummary(Model):
    id: str
    thread_id: str
    from_: Address | None = Field(default=None, alias="from", serialization_alias="from")
    subject: str
    date: datetime | None
    unread: bool
    snippet: str = Field(description="The first 200 characters of the new text.")

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class SearchResult(Model):
    messages: list[MessageSummary]
    next_page_token: str | None = None


class Thread(Model):
    id: str
    messages: list[Message] = Field(description="Chronological, drafts included (from_me and the DRAFT label).")


class Draft(Model):
    id: str = Field(description="Draft id.")
    message_id: str = Field(description="Backend id of the draft's message.")
    thread_id: str
    to: list[Address]
    subject: str
    in_reply_to: str | None = Field(description="Message-ID of the message the draft answers.")
    created: bool = Field(description="False when a draft for this message already existed and was returned.")


class DraftList(Model):
    drafts: list[Draft]


class LabelResult(Model):
    modified: int = Field(description="How many messages were changed.")
    created_labels: list[str] = Field(default_factory=list, description="Labels that did not exist and were created.")


class MailboxInfo(Model):
    """`mailbox_info`: whose mailbox the server reads, and how."""

    address: str = Field(description="The mailbox owner's address in its normal form (mail from it is our own).")
    backend: str = Field(description="'gmail' (the Gmail API) or 'maildir' (a local Maildir folder).")
