"""The predicate tree of a mail search query: its terms, the message view they test, and the parsed query."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

__all__ = [
    "All",
    "Any_",
    "DateBound",
    "HasLabel",
    "HeaderContains",
    "InFolder",
    "MessageIdIs",
    "Node",
    "Not",
    "Query",
    "SearchDocument",
    "Word",
    "label_key",
    "words_of",
]

_WORD = re.compile(r"\w+")


def words_of(text: str) -> str:
    """Text as its case-folded words separated by single spaces, padded, for whole-word and phrase matching."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def label_key(name: str) -> str:
    """A label name as queries and documents compare it: case-folded, runs of spaces, `/` and `-` as one `-`."""
    return re.sub(r"[\s/\-]+", "-", name.strip().casefold())


@dataclass
class SearchDocument:
    """What a query can see of one message. `body` is called only when a word needs it (it may read a file)."""

    folder: str | None
    """INBOX, DRAFT, SENT, TRASH or SPAM; None for archived mail and other folders."""
    labels: frozenset[str]
    """Every label name, system (UNREAD, STARRED, ...) and user, as stored."""
    date: datetime
    from_: str = ""
    to: str = ""
    """To, Cc and Bcc, decoded."""
    cc: str = ""
    subject: str = ""
    message_id: str | None = None
    body: Callable[[], str] = field(default=lambda: "")

    @cached_property
    def label_keys(self) -> frozenset[str]:
        return frozenset(label_key(label) for label in self.labels)

    @cached_property
    def subject_words(self) -> str:
        return words_of(self.subject)

    @cached_property
    def header_words(self) -> str:
        return words_of(f"{self.subject} {self.from_}")

    @cached_property
    def body_words(self) -> str:
        return words_of(self.body())


# --- the predicate tree -------------------------------------------------------------------------------------


class Node(ABC):
    """One term of a query."""

    @abstractmethod
    def matches(self, doc: SearchDocument) -> bool: ...

    def needs_body(self) -> bool:
        return False


@dataclass(frozen=True)
class All(Node):
    children: tuple[Node, ...]

    def matches(self, doc: SearchDocument) -> bool:
        return all(child.matches(doc) for child in self.children)

    def needs_body(self) -> bool:
        return any(child.needs_body() for child in self.children)


@dataclass(frozen=True)
class Any_(Node):
    children: tuple[Node, ...]

    def matches(self, doc: SearchDocument) -> bool:
        return any(child.matches(doc) for child in self.children)

    def needs_body(self) -> bool:
        return any(child.needs_body() for child in self.children)


@dataclass(frozen=True)
class Not(Node):
    child: Node

    def matches(self, doc: SearchDocument) -> bool:
        return not self.child.matches(doc)

    def needs_body(self) -> bool:
        return self.child.needs_body()


@dataclass(frozen=True)
class Word(Node):
    """A bare word or quoted phrase: whole words, in order, in the subject, the sender or the body."""

    words: str

    def matches(self, doc: SearchDocument) -> bool:
        if not self.words.strip():
            return True
        return self.words in doc.header_words or self.words in doc.body_words

    def needs_body(self) -> bool:
        return bool(self.words.strip())


@dataclass(frozen=True)
class InFolder(Node):
    folder: str | None
    """A folder label, or None for `in:anywhere`."""

    def matches(self, doc: SearchDocument) -> bool:
        return self.folder is None or doc.folder == self.folder


@dataclass(frozen=True)
class HasLabel(Node):
    key: str

    def matches(self, doc: SearchDocument) -> bool:
        return self.key in doc.label_keys


@dataclass(frozen=True)
class HeaderContains(Node):
    header: str
    """`from_`, `to`, `cc` or `subject`."""
    value: str

    def matches(self, doc: SearchDocument) -> bool:
        if self.header == "subject":
            return not self.value.strip() or self.value in doc.subject_words
        text: str = getattr(doc, self.header)
        return self.value in text.casefold()


@dataclass(frozen=True)
class MessageIdIs(Node):
    value: str

    def matches(self, doc: SearchDocument) -> bool:
        return doc.message_id is not None and doc.message_id.strip().strip("<>").casefold() == self.value


@dataclass(frozen=True)
class DateBound(Node):
    bound: datetime
    after: bool
    """True: the message is from `bound` or later; False: strictly before `bound`."""

    def matches(self, doc: SearchDocument) -> bool:
        return doc.date >= self.bound if self.after else doc.date < self.bound


@dataclass(frozen=True)
class Query:
    """A parsed query: `matches(doc)` tells whether a message is a result."""

    text: str
    root: Node
    include_spam_trash: bool

    def matches(self, doc: SearchDocument) -> bool:
        if not self.include_spam_trash and doc.folder in ("TRASH", "SPAM"):
            return False
        return self.root.matches(doc)

    @property
    def needs_body(self) -> bool:
        return self.root.needs_body()
