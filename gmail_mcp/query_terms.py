"""The predicate tree of a mail search query: its terms, the message view they test, and the parsed query."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

__all__ = [
    "SYSTEM_LABELS",
    "All",
    "Any_",
    "DateBound",
    "FilenameHas",
    "HasAttachment",
    "HasLabel",
    "HasUserLabels",
    "HeaderContains",
    "InCategory",
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
SYSTEM_LABELS = frozenset(
    {"INBOX", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "SENT", "DRAFT", "CHAT"}
    | {f"CATEGORY_{name}" for name in ("PERSONAL", "SOCIAL", "PROMOTIONS", "UPDATES", "FORUMS")}
)
"""Gmail's own labels; every other label is a user label (`has:userlabels`)."""


def words_of(text: str) -> str:
    """Text as its case-folded words separated by single spaces, padded, for whole-word and phrase matching."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def label_key(name: str) -> str:
    """A label name as queries and documents compare it: case-folded, runs of spaces, `/`, `-` and `_` as one `-`."""
    return re.sub(r"[\s/\-_]+", "-", name.strip().casefold())


@dataclass
class SearchDocument:
    """What a query can see of one message. `body` is called only when a word needs it (it may read a file).

    A backend that cannot know something leaves its default, and the terms reading it match nothing: the Maildir
    backend has no Gmail categories (`category:` matches nothing) and gives no attachment names (`has:attachment`
    and `filename:` match nothing there).
    """

    folder: str | None
    """INBOX, DRAFT, SENT, TRASH or SPAM; None for archived mail and other folders."""
    labels: frozenset[str]
    """Every label name, system (INBOX, UNREAD, STARRED, CATEGORY_UPDATES, ...) and user, as stored (names, not ids)."""
    date: datetime
    from_: str = ""
    to: str = ""
    """To, Cc and Bcc, decoded."""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    message_id: str | None = None
    body: Callable[[], str] = field(default=lambda: "")
    filenames: tuple[str, ...] = ()
    """Names of the attached files."""

    @cached_property
    def label_keys(self) -> frozenset[str]:
        return frozenset(label_key(label) for label in self.labels)

    @cached_property
    def user_labels(self) -> frozenset[str]:
        return frozenset(label for label in self.labels if label.upper() not in SYSTEM_LABELS)

    @cached_property
    def subject_words(self) -> str:
        return words_of(self.subject)

    @cached_property
    def address_words(self) -> dict[str, str]:
        return {name: words_of(getattr(self, name)) for name in ("from_", "to", "cc", "bcc")}

    @cached_property
    def header_words(self) -> str:
        return words_of(" ".join((self.subject, self.from_, *self.filenames)))

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
    """A bare word or quoted phrase: whole words, in order, in the subject, the sender, attachment names or the body."""

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
        return self.folder is None or doc.folder == self.folder or self.folder in doc.labels


@dataclass(frozen=True)
class HasLabel(Node):
    key: str

    def matches(self, doc: SearchDocument) -> bool:
        return self.key in doc.label_keys


@dataclass(frozen=True)
class HeaderContains(Node):
    """Whole words, in order, in one header (`from:ali` does not match alice@example.com)."""

    header: str
    """`from_`, `to`, `cc`, `bcc` or `subject`."""
    value: str
    """As `words_of` gives it."""

    def matches(self, doc: SearchDocument) -> bool:
        if not self.value.strip():
            return True
        if self.header == "subject":
            return self.value in doc.subject_words
        return self.value in doc.address_words[self.header]


@dataclass(frozen=True)
class InCategory(Node):
    """`category:updates`: the message carries the label (`CATEGORY_UPDATES`); never for a backend without them."""

    label: str

    def matches(self, doc: SearchDocument) -> bool:
        return any(label.upper() == self.label for label in doc.labels)


@dataclass(frozen=True)
class HasAttachment(Node):
    def matches(self, doc: SearchDocument) -> bool:
        return bool(doc.filenames)


@dataclass(frozen=True)
class FilenameHas(Node):
    """`filename:pdf`: whole words, in order, in the name of an attached file."""

    words: str

    def matches(self, doc: SearchDocument) -> bool:
        return any(self.words in words_of(name) for name in doc.filenames)


@dataclass(frozen=True)
class HasUserLabels(Node):
    """`has:userlabels` (wanted=True) or `has:nouserlabels` (wanted=False)."""

    wanted: bool

    def matches(self, doc: SearchDocument) -> bool:
        return bool(doc.user_labels) == self.wanted


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
