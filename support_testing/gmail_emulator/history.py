"""The mailbox's change history: records with large, increasing, non-contiguous ids and a retention window."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

HistoryType = Literal["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
HISTORY_TYPES: tuple[HistoryType, ...] = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
HISTORY_START = 1_000_000
_LIST_KEYS = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}


class StaleHistory(Exception):
    """The start id is older than the retained history: Gmail answers 404 and the client must do a full sync."""


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One change to one message. `label_ids` are the message's labels after it; `changed` the labels it moved."""

    id: int
    type: HistoryType
    message_id: str
    thread_id: str
    label_ids: tuple[str, ...]
    changed: tuple[str, ...] = ()

    def touches(self, label_id: str) -> bool:
        return label_id in self.label_ids or label_id in self.changed

    def resource(self) -> dict[str, Any]:
        """The record as `users.history.list` returns it."""
        message = {"id": self.message_id, "threadId": self.thread_id, "labelIds": list(self.label_ids)}
        entry: dict[str, Any] = {"message": message}
        if self.type in ("labelAdded", "labelRemoved"):
            entry["labelIds"] = list(self.changed)
        short = {"id": self.message_id, "threadId": self.thread_id}
        return {"id": str(self.id), "messages": [short], _LIST_KEYS[self.type]: [entry]}


class HistoryLog:
    """Records in id order. Only the last `retention` are kept (None: all); ids below `floor` are stale.

    Ids grow by a small pseudo-random step from `start`, so clients cannot assume they are contiguous.
    """

    def __init__(self, start: int = HISTORY_START, retention: int | None = None, seed: int = 0) -> None:
        if retention is not None and retention < 1:
            raise ValueError("history_retention keeps at least one record (or None for all)")
        self.current = start
        self.floor = start
        self.retention = retention
        self._records: deque[HistoryRecord] = deque()
        self._steps = random.Random(seed)

    def __len__(self) -> int:
        return len(self._records)

    def next_id(self) -> int:
        self.current += self._steps.randint(1, 9)
        return self.current

    def record(
        self,
        kind: HistoryType,
        message_id: str,
        thread_id: str,
        label_ids: tuple[str, ...],
        changed: tuple[str, ...] = (),
    ) -> int:
        record = HistoryRecord(self.next_id(), kind, message_id, thread_id, label_ids, changed)
        self._records.append(record)
        while self.retention is not None and len(self._records) > self.retention:
            self.floor = self._records.popleft().id
        return record.id

    def expire(self, before: int | None = None) -> None:
        """Forget every record up to `before` (default: all of them), as Gmail does after about a week."""
        limit = self.current if before is None else before
        while self._records and self._records[0].id <= limit:
            self._records.popleft()
        self.floor = max(self.floor, limit)

    def since(self, start: int) -> list[HistoryRecord]:
        """Records newer than `start`; StaleHistory when `start` is below the retained window."""
        if start < self.floor:
            raise StaleHistory(f"history id {start} is older than the oldest retained record ({self.floor})")
        return [record for record in self._records if record.id > start]
