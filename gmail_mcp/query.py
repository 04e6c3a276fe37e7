"""Gmail-style search queries, parsed once into a predicate tree that tests each message's `SearchDocument`.

One parser for every backend (the Maildir backend and the project's Gmail emulator). Supported:
`in:inbox|drafts|sent|trash|spam|chats|anywhere` (any other `in:` value names a label), `is:unread|read|starred|
unstarred|important`, `label:NAME` (quoted, or with `-`/`/`/`_` for spaces and nesting), `category:primary|social|
promotions|updates|forums`, `has:attachment|userlabels|nouserlabels`, `filename:`, `from:` (`from:me`), `to:`
(To, Cc and Bcc), `cc:`, `bcc:`, `subject:`, `rfc822msgid:`, `newer_than:`/`older_than:` (`7d`, `2m`, `1y`),
`after:`/`before:` (`YYYY/MM/DD`, `YYYY-MM-DD`, `MM/DD/YYYY` or epoch seconds; also `newer:`/`older:`), quoted
phrases and bare words (case-insensitive, whole words, over subject, from, attachment names and the text body),
`-` before any term, `OR` between terms, `( )` and `{ }` groups, `op:(a OR -b)`. Terms are ANDed. Unknown
operators (and unknown values of `is:`/`has:`) are searched as words, like Gmail does. Trash and spam are left
out unless the query asks for them (`in:trash`, `in:spam`, `in:anywhere`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gmail_mcp.errors import InvalidInputError
from gmail_mcp.query_terms import (
    All,
    Any_,
    DateBound,
    FilenameHas,
    HasAttachment,
    HasLabel,
    HasUserLabels,
    HeaderContains,
    InCategory,
    InFolder,
    MessageIdIs,
    Node,
    Not,
    Query,
    SearchDocument,
    Word,
    label_key,
    words_of,
)

__all__ = ["Query", "SearchDocument", "parse_query", "words_of"]

MAX_QUERY_LENGTH = 2000
_OPERATOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.DOTALL)
_RELATIVE = re.compile(r"^(\d{1,5})([dmy])$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_UNIT_DAYS = {"d": 1, "m": 30, "y": 365}
_FOLDERS = {"inbox": "INBOX", "drafts": "DRAFT", "draft": "DRAFT", "sent": "SENT", "trash": "TRASH", "spam": "SPAM"}
_IN_ALIASES = {"chats": "CHAT", "chat": "CHAT"}
_CATEGORIES = {"primary": "PERSONAL", "personal": "PERSONAL", "social": "SOCIAL", "promotions": "PROMOTIONS"}
_CATEGORIES |= {"updates": "UPDATES", "forums": "FORUMS"}
_IS_LABELS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}


# --- parsing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str
    """`word` (may be `op:value`), `phrase`, `op_group` (`op:(…)`), `(`, `)`, `{`, `}`, `-`, `OR`."""
    text: str
    op: str = ""


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "(){}":
            tokens.append(_Token(char, char))
            i += 1
        elif (
            char == "-"
            and i + 1 < n
            and not text[i + 1].isspace()
            and (i == 0 or text[i - 1].isspace() or text[i - 1] in "({")
        ):
            tokens.append(_Token("-", "-"))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            tokens.append(_Token("phrase", text[i + 1 : end]))
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '(){}"':
                i += 1
            word = text[start:i]
            op = _OPERATOR.match(word)
            if op and op.group(2) == "" and i < n and text[i] in '"(':
                # op:"quoted value" or op:(several values)
                close = '"' if text[i] == '"' else ")"
                end = text.find(close, i + 1)
                end = n if end < 0 else end
                kind = "word" if close == '"' else "op_group"
                value = text[i + 1 : end]
                tokens.append(_Token(kind, f"{op.group(1)}:{value}" if kind == "word" else value, op=op.group(1)))
                i = end + 1
            elif word == "OR":
                tokens.append(_Token("OR", word))
            elif word and word != "AND":
                tokens.append(_Token("word", word))
    return tokens


class _Parser:
    def __init__(
        self, tokens: list[_Token], *, now: datetime, me: str | None, lenient: bool, default_op: str = ""
    ) -> None:
        self.tokens = tokens
        self.pos = 0
        self.now = now
        self.me = me
        self.lenient = lenient
        self.default_op = default_op
        """Inside `op:( … )`: the operator applied to its bare words and phrases."""

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def sequence(self, closing: str | None) -> list[Node]:
        """Terms up to `closing` (or the end), each possibly `a OR b OR c`."""
        nodes: list[Node] = []
        while (token := self.peek()) is not None:
            if token.kind in (")", "}"):
                self.take()
                if token.kind == closing:
                    break
                continue  # a stray closing bracket is ignored, like Gmail does
            if token.kind == "OR":
                self.take()
                continue  # OR with nothing on its left
            node = self.unary()
            if node is None:
                continue
            alternatives = [node]
            while (nxt := self.peek()) is not None and nxt.kind == "OR":
                self.take()
                following = self.unary() if self.peek() is not None else None
                if following is not None:
                    alternatives.append(following)
            nodes.append(_any(alternatives))
        return nodes

    def unary(self) -> Node | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "-":
            self.take()
            inner = self.unary()
            return None if inner is None else Not(inner)
        return self.primary()

    def primary(self) -> Node | None:
        token = self.take()
        if token.kind == "(":
            return _all(self.sequence(")"))
        if token.kind == "{":
            children = self.sequence("}")
            return None if not children else _any(children)
        if token.kind == "phrase":
            return self.term(f"{self.default_op}:{token.text}") if self.default_op else Word(words_of(token.text))
        if token.kind == "op_group":
            inner = _Parser(_tokenize(token.text), now=self.now, me=self.me, lenient=self.lenient, default_op=token.op)
            children = inner.sequence(None)
            return None if not children else _all(children)
        return self.term(token.text)

    def term(self, text: str) -> Node:
        found = _OPERATOR.match(text)
        if self.default_op and not found:
            return self.term(f"{self.default_op}:{text}")
        if not found or not found.group(2):
            return Word(words_of(text))
        op, value = found.group(1).casefold(), found.group(2).strip()
        node = self.operator(op, value)
        return node if node is not None else Word(words_of(text))

    def operator(self, op: str, value: str) -> Node | None:
        lowered = value.casefold()
        if op == "in":
            if lowered == "anywhere":
                return InFolder(None)
            if lowered in _FOLDERS:
                return InFolder(_FOLDERS[lowered])
            return HasLabel(label_key(_IN_ALIASES.get(lowered, value)))
        if op == "is":
            if lowered in ("read", "unstarred"):
                return Not(HasLabel(label_key("UNREAD" if lowered == "read" else "STARRED")))
            return HasLabel(label_key(_IS_LABELS[lowered])) if lowered in _IS_LABELS else None
        if op == "label":
            return HasLabel(label_key(value))
        if op == "category":
            return InCategory(f"CATEGORY_{_CATEGORIES.get(lowered, lowered).upper()}")
        if op == "has":
            if lowered == "attachment":
                return HasAttachment()
            return HasUserLabels(lowered == "userlabels") if lowered in ("userlabels", "nouserlabels") else None
        if op == "filename":
            return FilenameHas(words_of(value))
        if op in ("from", "to", "cc", "bcc"):
            needle = (self.me or lowered) if lowered == "me" else lowered
            return HeaderContains("from_" if op == "from" else op, words_of(needle))
        if op == "subject":
            return HeaderContains("subject", words_of(value))
        if op == "rfc822msgid":
            return MessageIdIs(value.strip("<>").casefold())
        try:
            if op in ("newer_than", "older_than"):
                return DateBound(self.now - self.relative(op, value), after=op == "newer_than")
            if op in ("after", "before", "newer", "older"):
                return DateBound(self.absolute(op, value), after=op in ("after", "newer"))
        except InvalidInputError:
            if self.lenient:
                return None  # searched as words
            raise
        return None

    @staticmethod
    def relative(op: str, value: str) -> timedelta:
        found = _RELATIVE.match(value)
        if not found:
            raise InvalidInputError(
                f"{op}:{value} is not a relative date: use a number and d, m or y, e.g. {op}:7d (days), "
                f"{op}:2m (months) or {op}:1y (years)"
            )
        return timedelta(days=int(found.group(1)) * _UNIT_DAYS[found.group(2).lower()])

    @staticmethod
    def absolute(op: str, value: str) -> datetime:
        if value.isdigit() and len(value) >= 9:
            return datetime.fromtimestamp(int(value), UTC)
        found, us_date = _DATE.match(value), _US_DATE.match(value)
        parts = found.groups() if found else (us_date.group(3), us_date.group(1), us_date.group(2)) if us_date else None
        if parts is not None:
            year, month, day = parts
            try:
                return datetime(int(year), int(month), int(day), tzinfo=UTC)
            except ValueError:
                pass
        raise InvalidInputError(
            f"{op}:{value} is not a date: use YYYY/MM/DD (e.g. {op}:2026/03/31) or seconds since 1970"
        )


def _cheap_first(nodes: list[Node]) -> tuple[Node, ...]:
    """Terms that read the body last, so a body is read only when every cheaper term already decided nothing."""
    return tuple(sorted(nodes, key=lambda node: node.needs_body()))


def _all(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else All(_cheap_first(nodes))


def _any(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Any_(_cheap_first(nodes))


def _positive_scope(node: Node, negated: bool = False) -> bool:
    """Whether the query asks, without negation, for trash or spam (which are otherwise left out)."""
    if isinstance(node, (All, Any_)):
        return any(_positive_scope(child, negated) for child in node.children)
    if isinstance(node, Not):
        return _positive_scope(node.child, not negated)
    if isinstance(node, InFolder):
        return not negated and node.folder in (None, "TRASH", "SPAM")
    if isinstance(node, HasLabel):
        return not negated and node.key in ("trash", "spam")
    return False


def parse_query(text: str, *, now: datetime | None = None, me: str | None = None, lenient: bool = False) -> Query:
    """Parse a Gmail-style query. `now` anchors `newer_than`/`older_than`; `me` is what `from:me` means.

    Raises `InvalidInputError` for a query that is too long or (unless `lenient`, which searches such a term as
    words, as Gmail does) a date operator with a malformed value.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInputError(f"The query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}")
    me_folded = me.casefold() if me else None
    parser = _Parser(_tokenize(text), now=now or datetime.now(UTC), me=me_folded, lenient=lenient)
    nodes = parser.sequence(None)
    root: Node = All(()) if not nodes else _all(nodes)
    return Query(text=text, root=root, include_spam_trash=_positive_scope(root))
