"""Drafts saved into a Maildir: checking the bytes given, and threading a draft onto the mail it answers."""

from __future__ import annotations

import re

from gmail_mcp.errors import InvalidInputError
from gmail_mcp.maildir_files import header_block, parse_headers
from gmail_mcp.maildir_index import MaildirIndex
from gmail_mcp.threads import parse_message_ids

MAX_RAW_BYTES = 35 * 1024 * 1024
"""The largest draft accepted (Gmail's own limit for a message with attachments)."""


def check_draft(raw: bytes) -> None:
    """Refuse a draft that is not bytes, is empty, too large, or does not start with a header line."""
    if not isinstance(raw, bytes) or not raw.strip():
        raise InvalidInputError("The draft is empty: pass the RFC 822 message as bytes")
    if len(raw) > MAX_RAW_BYTES:
        raise InvalidInputError(f"The draft is {len(raw):,} bytes; the limit is {MAX_RAW_BYTES:,}")
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    if not re.match(rb"^[!-9;-~]+:", first):
        raise InvalidInputError("The draft does not start with a header line: pass a whole RFC 822 message")


def with_thread_headers(raw: bytes, index: MaildirIndex, members: list[str]) -> bytes:
    """`raw` with In-Reply-To and References pointing into the thread of `members`, when it has neither."""
    headers = parse_headers(header_block(raw))
    if parse_message_ids(headers.in_reply_to) or parse_message_ids(headers.references):
        return raw
    candidates = [index.entries[key] for key in members if key in index.entries]
    answered = [entry for entry in candidates if entry.location != "DRAFT"] or candidates
    if not answered:
        return raw
    parent = max(answered, key=lambda entry: (entry.mtime, entry.id))
    parent_headers = index.headers(parent.id)
    parent_id = parent_headers.message_id or f"<{parent.id}@maildir.invalid>"
    chain = [*parse_message_ids(parent_headers.references), parent_id]
    newline = b"\r\n" if b"\r\n" in raw[:1000] else b"\n"
    references = (newline + b" ").join(item.encode("ascii", "replace") for item in chain)
    added = b"In-Reply-To: " + parent_id.encode("ascii", "replace") + newline + b"References: " + references
    return added + newline + raw
