"""Conversation threads from Message-ID, In-Reply-To and References: a pure grouping the Maildir backend uses."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "ThreadIndex",
    "ThreadItem",
    "normalize_message_id",
    "parse_message_ids",
    "synthetic_message_id",
    "thread_id_for",
]

MAX_PARENTS = 60
"""A References header longer than this keeps its first and last ids (spam sometimes carries thousands)."""

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def normalize_message_id(value: str | None) -> str | None:
    """The first `<id>` in a header value, with angle brackets; a bare `id@host` is accepted; None when empty."""
    if not value:
        return None
    found = _ANGLE_ID.search(value)
    if found:
        return f"<{found.group(1)}>"
    token = value.strip().split()[0] if value.strip() else ""
    return f"<{token}>" if "@" in token else None


def parse_message_ids(value: str | None) -> list[str]:
    """Every Message-ID in a References or In-Reply-To value, in order, with angle brackets."""
    if not value:
        return []
    found = [f"<{match}>" for match in _ANGLE_ID.findall(value)]
    if found:
        return found
    return [f"<{token}>" for token in value.split() if "@" in token and "<" not in token and ">" not in token]


def synthetic_message_id(key: str) -> str:
    """The Message-ID used for threading a message that has none (never written into the message)."""
    return f"<{key}@maildir.invalid>"


def thread_id_for(root_message_id: str) -> str:
    """The thread id of a conversation: 16 hex digits of a SHA-256 of its root Message-ID (stable across runs)."""
    return hashlib.sha256(root_message_id.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass(frozen=True)
class ThreadItem:
    """What threading needs to know about one stored message."""

    key: str
    """The backend's message id (the Maildir unique name)."""
    message_id: str
    """The RFC Message-ID with angle brackets (synthesised with `synthetic_message_id` when absent)."""
    parents: tuple[str, ...]
    """References then In-Reply-To (when not already last), oldest first."""
    date: datetime
    """When the store received it: the oldest message of a conversation decides its root."""

    @classmethod
    def from_headers(
        cls, key: str, *, message_id: str | None, references: str | None, in_reply_to: str | None, date: datetime
    ) -> ThreadItem:
        own = normalize_message_id(message_id) or synthetic_message_id(key)
        parents = parse_message_ids(references)
        reply_to = parse_message_ids(in_reply_to)[:1]
        if reply_to and (not parents or parents[-1] != reply_to[0]):
            parents.append(reply_to[0])
        parents = [parent for parent in parents if parent != own]
        if len(parents) > MAX_PARENTS:
            half = MAX_PARENTS // 2
            parents = parents[:half] + parents[-half:]
        return cls(key=key, message_id=own, parents=tuple(parents), date=date)

    @property
    def root_candidate(self) -> str:
        """The conversation root this message names: the first reference, or itself when it references nothing."""
        return self.parents[0] if self.parents else self.message_id


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


class ThreadIndex:
    """Messages grouped into conversations: every message connected through Message-ID/References/In-Reply-To.

    Subjects are never used (two unrelated "Order question" mails stay apart). A thread's id is `thread_id_for`
    the root its oldest message names, so it stays the same when replies or drafts join, and when the root
    message itself is missing from the mailbox.
    """

    def __init__(self, thread_of: Mapping[str, str]) -> None:
        self._thread_of = dict(thread_of)
        members: dict[str, list[str]] = {}
        for key, thread in self._thread_of.items():
            members.setdefault(thread, []).append(key)
        self._members = members

    @classmethod
    def build(cls, items: Iterable[ThreadItem]) -> ThreadIndex:
        items = list(items)
        sets = _UnionFind()
        for item in items:
            sets.find(item.message_id)
            for parent in item.parents:
                sets.union(item.message_id, parent)
        oldest: dict[str, ThreadItem] = {}
        for item in items:
            component = sets.find(item.message_id)
            current = oldest.get(component)
            if current is None or (item.date, item.key) < (current.date, current.key):
                oldest[component] = item
        return cls({item.key: thread_id_for(oldest[sets.find(item.message_id)].root_candidate) for item in items})

    def thread_of(self, key: str) -> str | None:
        """The thread id of a message, or None when the index does not know it."""
        return self._thread_of.get(key)

    def members(self, thread_id: str) -> list[str]:
        """The keys of every message in a thread (unordered); empty when the thread is unknown."""
        return list(self._members.get(thread_id, ()))

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self._members

    def __len__(self) -> int:
        return len(self._members)
