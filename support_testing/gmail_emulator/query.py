"""Gmail's search language (the `q` parameter) over stored messages, using gmail_mcp's query parser."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gmail_mcp.errors import InvalidInputError
from gmail_mcp.query import SearchDocument, parse_query
from support_testing.gmail_emulator.errors import invalid_argument
from support_testing.gmail_emulator.labels import LabelStore
from support_testing.gmail_emulator.mime import MessageFacts

_FOLDER_ORDER = ("TRASH", "SPAM", "DRAFT", "SENT", "INBOX")
"""When a message carries several folder labels, the one its `SearchDocument.folder` names."""


class Searchable(Protocol):
    """What a query looks at in a stored message."""

    @property
    def label_ids(self) -> Collection[str]: ...
    @property
    def internal_date(self) -> int: ...
    @property
    def facts(self) -> MessageFacts: ...


Predicate = Callable[[Searchable], bool]


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled `q`. `reaches_spam_trash`: it names SPAM/TRASH or `in:anywhere`, so those are not excluded."""

    matches: Predicate
    reaches_spam_trash: bool


def search_document(message: Searchable, labels: LabelStore) -> SearchDocument:
    """The message as the shared parser's terms see it: label ids become label names."""
    facts = message.facts
    names = frozenset(found.name for label_id in message.label_ids if (found := labels.get(label_id)) is not None)
    return SearchDocument(
        folder=next((folder for folder in _FOLDER_ORDER if folder in message.label_ids), None),
        labels=names,
        date=datetime.fromtimestamp(message.internal_date / 1000, UTC),
        from_=facts.sender,
        to=" ".join(filter(None, (facts.to, facts.cc, facts.bcc))),
        cc=facts.cc,
        bcc=facts.bcc,
        subject=facts.subject,
        message_id=facts.message_id or None,
        body=lambda: facts.text,
        filenames=facts.filenames,
    )


def compile_query(text: str, *, labels: LabelStore, now_ms: int, own_address: str) -> Query:
    """Compile `q`. Unknown operators and malformed dates are searched as words, like Gmail; an empty query matches
    everything. A query over the length limit is refused with a 400."""
    try:
        parsed = parse_query(text or "", now=datetime.fromtimestamp(now_ms / 1000, UTC), me=own_address, lenient=True)
    except InvalidInputError as exc:
        raise invalid_argument(f"Invalid query: {exc}") from exc
    root = parsed.root
    return Query(lambda message: root.matches(search_document(message, labels)), parsed.include_spam_trash)
