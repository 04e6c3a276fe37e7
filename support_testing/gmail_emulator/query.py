"""Gmail's search language (the `q` parameter) compiled to a predicate over stored messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from support_testing.gmail_emulator.labels import LabelStore
from support_testing.gmail_emulator.mime import MessageFacts

DAY_MS = 86_400_000
_AGE_UNITS = {"d": 1, "m": 30, "y": 365}
_CATEGORIES = {"primary": "CATEGORY_PERSONAL", "social": "CATEGORY_SOCIAL", "promotions": "CATEGORY_PROMOTIONS"}
_CATEGORIES |= {"updates": "CATEGORY_UPDATES", "forums": "CATEGORY_FORUMS", "personal": "CATEGORY_PERSONAL"}
_IN_ALIASES = {"drafts": "DRAFT", "draft": "DRAFT", "chats": "CHAT", "chat": "CHAT"}
_IS_LABELS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
_HEADER_FIELDS = {"from": ("sender",), "to": ("to", "cc", "bcc"), "cc": ("cc",), "bcc": ("bcc",)}
_OP_WORD = re.compile(r"([A-Za-z][A-Za-z0-9_]*):(.*)", re.DOTALL)


class Searchable(Protocol):
    """What a query looks at in a stored message."""

    @property
    def label_ids(self) -> Collection[str]: ...
    @property
    def internal_date(self) -> int: ...
    @property
    def facts(self) -> MessageFacts: ...


Predicate = Callable[[Searchable], bool]


def _always(_: Searchable) -> bool:
    return True


def _never(_: Searchable) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled `q`. `reaches_spam_trash`: it names SPAM/TRASH or `in:anywhere`, so those are not excluded."""

    matches: Predicate
    reaches_spam_trash: bool


_Kind = Literal["(", ")", "{", "}", "-", "OR", "term", "opgroup"]
_BRACKETS: dict[str, _Kind] = {"(": "(", ")": ")", "{": "{", "}": "}"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    op: str | None = None
    value: str = ""


def _tokens(text: str) -> list[_Token]:
    """Split `q` into parentheses, braces, negation, OR and terms (`op:value`, `op:"quoted value"`, words)."""
    found: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _BRACKETS:
            found.append(_Token(_BRACKETS[ch]))
            i += 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace():
            found.append(_Token("-"))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            found.append(_Token("term", None, text[i + 1 : end]))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '(){}"':
                j += 1
            word, i = text[i:j], j
            match = _OP_WORD.fullmatch(word)
            if word == "OR":
                found.append(_Token("OR"))
            elif word == "AND":
                continue
            elif match and match.group(2) == "" and i < n and text[i] == '"':
                end = text.find('"', i + 1)
                end = n if end < 0 else end
                found.append(_Token("term", match.group(1).lower(), text[i + 1 : end]))
                i = end + 1
            elif match and match.group(2) == "" and i < n and text[i] == "(":
                found.append(_Token("opgroup", match.group(1).lower()))
            elif match:
                found.append(_Token("term", match.group(1).lower(), match.group(2)))
            else:
                found.append(_Token("term", None, word))
    return found


def _pattern(value: str) -> re.Pattern[str]:
    """Whole words (or a phrase, any whitespace between words), case-insensitive."""
    body = r"\s+".join(re.escape(word) for word in value.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _parse_date(value: str) -> int | None:
    """`YYYY/MM/DD`, `YYYY-MM-DD`, `MM/DD/YYYY` (midnight UTC) or epoch seconds, as epoch milliseconds."""
    if value.isdigit() and len(value) > 8:
        return int(value) * 1000
    for layout in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return int(datetime.strptime(value, layout).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            continue
    return None


class _Compiler:
    """Turns terms into predicates; remembers whether the query reaches SPAM/TRASH."""

    def __init__(self, labels: LabelStore, now_ms: int, own_address: str) -> None:
        self.labels = labels
        self.now_ms = now_ms
        self.own_address = own_address
        self.reaches_spam_trash = False

    def term(self, op: str | None, value: str) -> Predicate:
        if op is not None:
            handled = self._operator(op, value)
            if handled is not None:
                return handled
            value = f"{op}:{value}"
        if not value.strip():
            return _always
        pattern = _pattern(value)

        def word(message: Searchable) -> bool:
            f = message.facts
            haystack = "\n".join((f.subject, f.sender, f.to, f.cc, f.text, *f.filenames))
            return pattern.search(haystack) is not None

        return word

    def _label(self, label_id: str | None) -> Predicate:
        if label_id is None:
            return _never
        if label_id in ("SPAM", "TRASH"):
            self.reaches_spam_trash = True
        return lambda message: label_id in message.label_ids

    def _operator(self, op: str, value: str) -> Predicate | None:
        """A predicate for a known operator and a value it understands; None means "search it as a word"."""
        lowered = value.strip().lower()
        if op == "in" and lowered == "anywhere":
            self.reaches_spam_trash = True
            return _always
        if op in ("in", "label"):
            found = self.labels.for_search(_IN_ALIASES.get(lowered, value) if op == "in" else value)
            return self._label(found.id if found else None)
        if op == "is" and lowered == "read":
            return lambda message: "UNREAD" not in message.label_ids
        if op == "is" and lowered in _IS_LABELS:
            return self._label(_IS_LABELS[lowered])
        if op == "category":
            return self._label(_CATEGORIES.get(lowered))
        if op in _HEADER_FIELDS or op == "subject":
            return self._header(op, value)
        if op == "rfc822msgid":
            wanted = value.strip().strip("<>")
            return lambda message: message.facts.message_id == wanted
        if op in ("newer_than", "older_than"):
            return self._age(op, lowered)
        if op in ("after", "before", "newer", "older"):
            return self._date(op, value)
        if op == "has":
            return self._has(lowered)
        if op == "filename" and lowered:
            pattern = _pattern(value)
            return lambda message: any(pattern.search(name) for name in message.facts.filenames)
        return None

    def _header(self, op: str, value: str) -> Predicate:
        if op in _HEADER_FIELDS and value.strip().lower() == "me":
            value = self.own_address
        if not value.strip():
            return _always
        pattern = _pattern(value)
        fields = _HEADER_FIELDS.get(op, ("subject",))
        return lambda message: any(pattern.search(getattr(message.facts, name)) for name in fields)

    def _age(self, op: str, value: str) -> Predicate | None:
        match = re.fullmatch(r"(\d+)([dmy])", value)
        if not match:
            return None
        cutoff = self.now_ms - int(match.group(1)) * _AGE_UNITS[match.group(2)] * DAY_MS
        if op == "newer_than":
            return lambda message: message.internal_date > cutoff
        return lambda message: message.internal_date < cutoff

    def _date(self, op: str, value: str) -> Predicate | None:
        when = _parse_date(value.strip())
        if when is None:
            return None
        if op in ("after", "newer"):
            return lambda message: message.internal_date >= when
        return lambda message: message.internal_date < when

    def _has(self, value: str) -> Predicate | None:
        if value == "attachment":
            return lambda message: message.facts.has_attachment
        if value in ("userlabels", "nouserlabels"):
            wanted = value == "userlabels"
            return lambda message: any(label.startswith("Label_") for label in message.label_ids) == wanted
        return None


class _Parser:
    """Implicit AND of OR-groups; `-` negates; `( )` groups; `{ }` is OR; `op:( ... )` applies `op` inside."""

    def __init__(self, tokens: list[_Token], compiler: _Compiler) -> None:
        self.tokens = tokens
        self.pos = 0
        self.compiler = compiler
        self.default_ops: list[str | None] = [None]

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def sequence(self, stop: str | None) -> Predicate:
        parts: list[Predicate] = []
        while (token := self.peek()) is not None and token.kind != stop:
            parts.append(self.either())
        return _all(parts)

    def either(self) -> Predicate:
        options = [self.unary()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.pos += 1
            if self.peek() is not None:
                options.append(self.unary())
        return _any(options) if len(options) > 1 else options[0]

    def unary(self) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "-":
            self.pos += 1
            inner = self.unary()
            return lambda message: not inner(message)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.tokens[self.pos]
        self.pos += 1
        if token.kind == "opgroup":
            self.default_ops.append(token.op)
            inner = self.atom() if (self.peek() or token).kind == "(" else _always
            self.default_ops.pop()
            return inner
        if token.kind == "(":
            inner = self.sequence(")")
            self.pos += 1
            return inner
        if token.kind == "{":
            options: list[Predicate] = []
            while (nxt := self.peek()) is not None and nxt.kind != "}":
                options.append(self.unary())
            self.pos += 1
            return _any(options) if options else _always
        if token.kind == "term":
            return self.compiler.term(token.op or self.default_ops[-1], token.value)
        return _always  # a stray ")", "}" or "OR": ignored, as Gmail does


def _all(parts: list[Predicate]) -> Predicate:
    if not parts:
        return _always
    return parts[0] if len(parts) == 1 else (lambda message: all(part(message) for part in parts))


def _any(parts: list[Predicate]) -> Predicate:
    return lambda message: any(part(message) for part in parts)


def compile_query(text: str, *, labels: LabelStore, now_ms: int, own_address: str) -> Query:
    """Compile `q`. Unknown operators are searched as words, like Gmail; an empty query matches everything."""
    compiler = _Compiler(labels, now_ms, own_address)
    parser = _Parser(_tokens(text or ""), compiler)
    predicate = parser.sequence(None)
    return Query(predicate, compiler.reaches_spam_trash)
