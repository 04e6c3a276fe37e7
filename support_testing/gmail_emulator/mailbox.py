"""The emulated mailbox: messages, threads, drafts and labels, with Gmail's threading and history rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from support_testing.gmail_emulator import mime
from support_testing.gmail_emulator.errors import invalid_argument, not_found
from support_testing.gmail_emulator.history import HistoryLog
from support_testing.gmail_emulator.labels import LabelStore
from support_testing.gmail_emulator.query import compile_query

_ID_BASE = 0x19A2B3C4D5E60000
_DRAFT_BASE = 7_316_000_000_000_000_000
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|antw|tr|rv|rif)\s*(\[\d+\])?\s*[:\uff1a]\s*)+", re.IGNORECASE)
HIDDEN_UNLESS_ASKED = frozenset({"SPAM", "TRASH"})

InternalDate = datetime | int | None
"""A message's internal date: an aware datetime, epoch milliseconds, or None for "now"."""


def normalized_subject(subject: str) -> str:
    """The subject Gmail compares when threading: reply/forward prefixes (Re:, Fwd:, AW:, ...) stripped, any case."""
    return " ".join(_REPLY_PREFIX.sub("", subject).split()).casefold()


@dataclass(slots=True)
class StoredMessage:
    """One message: the exact bytes as delivered, plus what Gmail keeps beside them."""

    id: str
    thread_id: str
    raw: bytes
    parsed: Message
    facts: mime.MessageFacts
    internal_date: int
    label_ids: list[str]
    history_id: int


class Mailbox:
    """All state of one Gmail account. Methods raise `ApiError` with Gmail's answers for bad ids and labels."""

    def __init__(
        self, address: str, *, history: HistoryLog, clock: Callable[[], float], strict_threading: bool = False
    ) -> None:
        self.address = address
        self.history = history
        self.labels = LabelStore()
        self.strict_threading = strict_threading
        self.messages: dict[str, StoredMessage] = {}
        self.drafts: dict[str, str] = {}
        """Draft id -> message id."""
        self._clock = clock
        self._by_rfc_id: dict[str, list[str]] = {}
        self._count = 0
        self._last_date = 0

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- putting mail in ---

    def deliver(
        self, raw: bytes, labels: Iterable[str] = ("INBOX", "UNREAD"), internal_date: InternalDate = None
    ) -> str:
        """Store `raw` as received mail (labels by id or name), threaded like Gmail; returns the message id."""
        label_ids = [self.labels.resolve(label).id for label in labels]
        facts = mime.describe(mime.parse(raw))
        return self.store(raw, label_ids, internal_date, self.thread_for(facts)).id

    def deliver_directory(self, directory: Path) -> list[str]:
        """Deliver every `*.eml` file in `directory` (sorted by name), dated by its Date header when it has one."""
        ids = []
        for path in sorted(directory.glob("*.eml")):
            raw = path.read_bytes()
            ids.append(self.deliver(raw, internal_date=date_header(mime.parse(raw))))
        return ids

    def store(
        self, raw: bytes, label_ids: Sequence[str], internal_date: InternalDate, thread_id: str | None
    ) -> StoredMessage:
        """Add one message (labels already validated) to `thread_id` or a new thread; records `messageAdded`."""
        parsed = mime.parse(raw)
        self._count += 1
        message_id = f"{_ID_BASE + self._count * 0x1F3:x}"
        if isinstance(internal_date, datetime):
            date = int(internal_date.timestamp() * 1000)
        elif isinstance(internal_date, int):
            date = internal_date
        else:
            date = max(self.now_ms(), self._last_date + 1)
        self._last_date = max(self._last_date, date)
        thread = thread_id or message_id
        labels = list(dict.fromkeys(label_ids))
        history_id = self.history.record("messageAdded", message_id, thread, tuple(labels))
        stored = StoredMessage(message_id, thread, raw, parsed, mime.describe(parsed), date, labels, history_id)
        self.messages[message_id] = stored
        if stored.facts.message_id:
            self._by_rfc_id.setdefault(stored.facts.message_id, []).append(message_id)
        return stored

    def thread_for(self, facts: mime.MessageFacts) -> str | None:
        """Gmail's rule: join the thread of a message named in In-Reply-To/References when the subject matches."""
        subject = normalized_subject(facts.subject)
        for reference in facts.references:
            for found in self._by_rfc_id.get(reference, []):
                thread_id = self.messages[found].thread_id
                if any(normalized_subject(m.facts.subject) == subject for m in self.thread(thread_id)):
                    return thread_id
        return None

    def keeps_thread(self, thread_id: str | None, facts: mime.MessageFacts) -> str | None:
        """The thread a message asking for `thread_id` lands in (None: a new one).

        Lenient (default): any existing thread. Strict: only when its References/In-Reply-To name a message
        of that thread and the subject matches, as Gmail requires; otherwise Gmail silently starts a new thread.
        """
        if not thread_id or not self.thread(thread_id):
            return None
        if not self.strict_threading:
            return thread_id
        members = self.thread(thread_id)
        named = {m.facts.message_id for m in members} & set(facts.references)
        subject = normalized_subject(facts.subject)
        same_subject = any(normalized_subject(m.facts.subject) == subject for m in members)
        return thread_id if named and same_subject else None

    def create_draft(self, raw: bytes, thread_id: str | None) -> tuple[str, StoredMessage]:
        facts = mime.describe(mime.parse(raw))
        stored = self.store(raw, ["DRAFT"], None, self.keeps_thread(thread_id, facts))
        draft_id = f"r{_DRAFT_BASE + self._count}"
        self.drafts[draft_id] = stored.id
        return draft_id, stored

    # --- reading ---

    def get(self, message_id: str) -> StoredMessage:
        found = self.messages.get(message_id)
        if found is None:
            raise not_found()
        return found

    def draft(self, draft_id: str) -> StoredMessage:
        message_id = self.drafts.get(draft_id)
        if message_id is None:
            raise not_found()
        return self.messages[message_id]

    def thread(self, thread_id: str) -> list[StoredMessage]:
        """The thread's messages (drafts included), oldest first; empty when there is no such thread."""
        members = [m for m in self.messages.values() if m.thread_id == thread_id]
        return sorted(members, key=lambda m: (m.internal_date, m.id))

    def search(self, q: str, label_ids: Sequence[str], include_spam_trash: bool) -> list[StoredMessage]:
        """Messages matching `q` and carrying every label in `label_ids`, newest first (SPAM/TRASH hidden unless
        asked for by `include_spam_trash`, the query or `label_ids`)."""
        self.check_labels(label_ids)
        query = compile_query(q, labels=self.labels, now_ms=self.now_ms(), own_address=self.address)
        show_hidden = include_spam_trash or query.reaches_spam_trash or bool(HIDDEN_UNLESS_ASKED & set(label_ids))
        found = [
            m
            for m in self.messages.values()
            if all(label in m.label_ids for label in label_ids)
            and (show_hidden or not HIDDEN_UNLESS_ASKED & set(m.label_ids))
            and query.matches(m)
        ]
        return sorted(found, key=lambda m: (m.internal_date, m.id), reverse=True)

    def threads_total(self) -> int:
        return len({m.thread_id for m in self.messages.values()})

    # --- changing labels ---

    def check_labels(self, label_ids: Iterable[str]) -> None:
        for label_id in label_ids:
            if self.labels.get(label_id) is None:
                raise invalid_argument(f"Invalid label: {label_id}")

    def modify(self, message_ids: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> list[StoredMessage]:
        """Add/remove labels (ids) on each known message, recording `labelAdded`/`labelRemoved` per real change."""
        self.check_labels([*add, *remove])
        both = set(add) & set(remove)
        if both:
            raise invalid_argument(f"Labels cannot be both added and removed: {', '.join(sorted(both))}")
        changed = []
        for message_id in message_ids:
            message = self.messages.get(message_id)
            if message is None:
                continue
            added = [label for label in dict.fromkeys(add) if label not in message.label_ids]
            removed = [label for label in dict.fromkeys(remove) if label in message.label_ids]
            message.label_ids = [label for label in message.label_ids if label not in removed] + added
            labels_now = tuple(message.label_ids)
            if added:
                message.history_id = self.history.record(
                    "labelAdded", message.id, message.thread_id, labels_now, tuple(added)
                )
            if removed:
                message.history_id = self.history.record(
                    "labelRemoved", message.id, message.thread_id, labels_now, tuple(removed)
                )
            changed.append(message)
        return changed


def date_header(message: Message) -> datetime | None:
    value = mime.header(message, "Date")
    if not value:
        return None
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return date if date.tzinfo is not None else None
