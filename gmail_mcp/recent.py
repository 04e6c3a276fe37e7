"""What the tools fetched moments ago (messages, threads, drafts created), kept for seconds so a draft costs no reads.

The daemon's pass over one message is get_message, get_thread, then (after the reply is written) create_reply_draft,
which needs the same message (for the reply's headers) and the same thread (to return a draft an earlier attempt
already made). Reading them again used to cost as much as the rest of the pass. `RecentMail` keeps each answer for
`ttl` seconds, at most `size` entries and `max_bytes` of mail of each kind, oldest dropped first. Entries are never
served to the reading tools themselves (get_message and get_thread always ask the mailbox): only create_reply_draft
consumes them; see the `mailbox` module for why a snapshot this young keeps the one-draft-per-message promise.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gmail_mcp.backend import DraftRecord, RawMessage

T = TypeVar("T")

DEFAULT_TTL = 60.0
"""Seconds an entry is used. It must stay well under the daemon's claim lease (300 s, renewed after 150 s): a
message is only taken over by another worker once the previous claim has lapsed, so a snapshot younger than that
cannot predate a draft the previous holder made (see `Mailbox.create_reply_draft`)."""
DEFAULT_SIZE = 256
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""Mail bytes kept per kind (messages, threads): a few huge messages must not pin memory."""


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    value: T
    at: float
    """When it was fetched (the cache's clock)."""


class _Shelf(Generic[T]):
    """A map bounded in entries and in weight (`weigh`: bytes of mail), whose entries expire `ttl` seconds after
    they were put."""

    def __init__(
        self, ttl: float, size: int, clock: Callable[[], float], weigh: Callable[[T], int], max_weight: int
    ) -> None:
        self._ttl, self._size, self._clock = ttl, size, clock
        self._weigh, self._max_weight, self._weight = weigh, max_weight, 0
        self._items: OrderedDict[str, Entry[T]] = OrderedDict()

    def put(self, key: str, value: T) -> Entry[T]:
        entry = Entry(value, self._clock())
        self.drop(key)
        self._items[key] = entry
        self._weight += self._weigh(value)
        while self._items and (len(self._items) > self._size or self._weight > self._max_weight):
            self._weight -= self._weigh(self._items.popitem(last=False)[1].value)
        return entry

    def get(self, key: str) -> Entry[T] | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if self._clock() - entry.at > self._ttl:
            self.drop(key)
            return None
        return entry

    def drop(self, key: str) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._weight -= self._weigh(entry.value)


class RecentMail:
    """Recently fetched messages (by id), threads (by id) and the drafts created here (by answered message id)."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        size: int = DEFAULT_SIZE,
        clock: Callable[[], float] = time.monotonic,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._messages: _Shelf[RawMessage] = _Shelf(ttl, size, clock, lambda m: len(m.raw), max_bytes)
        self._threads: _Shelf[list[RawMessage]] = _Shelf(
            ttl, size, clock, lambda t: sum(len(m.raw) for m in t), max_bytes
        )
        self._drafts: _Shelf[DraftRecord] = _Shelf(ttl, size, clock, lambda d: len(d.message.raw), max_bytes)

    def keep_message(self, raw: RawMessage) -> float:
        """Keep a message read as stored (rebuilt bytes never stand in for them); returns when it was read."""
        if raw.rebuilt:
            return self._clock()
        return self._messages.put(raw.id, raw).at

    def message(self, message_id: str) -> Entry[RawMessage] | None:
        return self._messages.get(message_id)

    def keep_thread(self, thread_id: str, messages: list[RawMessage]) -> None:
        self._threads.put(thread_id, list(messages))

    def thread(self, thread_id: str, *, not_before: float) -> list[RawMessage] | None:
        """The thread as last fetched, if that was no earlier than `not_before` (and within the ttl)."""
        entry = self._threads.get(thread_id)
        return list(entry.value) if entry is not None and entry.at >= not_before else None

    def forget_thread(self, thread_id: str) -> None:
        self._threads.drop(thread_id)

    def keep_draft(self, message_id: str, draft: DraftRecord) -> None:
        self._drafts.put(message_id, draft)

    def draft(self, message_id: str) -> DraftRecord | None:
        entry = self._drafts.get(message_id)
        return entry.value if entry is not None else None
