"""Gmail-style search queries for local mailboxes: parse once into a predicate, then test each message with it.

Supported: `in:inbox|drafts|sent|trash|spam|anywhere`, `is:unread|read|starred|unstarred`, `label:NAME` (quoted, or
with `-`/`/` for spaces and nesting), `from:` (`from:me`), `to:`, `cc:`, `subject:`, `rfc822msgid:`,
`newer_than:`/`older_than:` (`7d`, `2m`, `1y`), `after:`/`before:` (`YYYY/MM/DD`, `YYYY-MM-DD` or epoch seconds;
also `newer:`/`older:`), quoted phrases and bare words (case-insensitive, whole words, over subject, from and
the text body), `-` before any term, `OR` between terms, `( )` and `{ }` groups, `op:(a b)`. Terms are ANDed.
Unknown operators (and unknown values of `in:`/`is:`) are searched as words, like Gmail does. Trash and spam
are left out unless the query asks for them (`in:trash`, `in:spam`, `in:anywhere`).
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
    HasLabel,
    HeaderContains,
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
_UNIT_DAYS = {"d": 1, "m": 30, "y": 365}
_FOLDERS = {"inbox": "INBOX", "drafts": "DRAFT", "draft": "DRAFT", "sent": "SENT", "trash": "TRASH", "spam": "SPAM"}


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
    def __init__(self, tokens: list[_Token], *, now: datetime, me: str | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.now = now
        self.me = me

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
            return Word(words_of(token.text))
        if token.kind == "op_group":
            parts = re.findall(r'"[^"]*"|\S+', token.text)
            return _all([self.term(f"{token.op}:{part.strip(chr(34))}") for part in parts])
        return self.term(token.text)

    def term(self, text: str) -> Node:
        found = _OPERATOR.match(text)
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
            return InFolder(_FOLDERS[lowered]) if lowered in _FOLDERS else None
        if op == "is":
            flags: dict[str, Node] = {
                "unread": HasLabel(label_key("UNREAD")),
                "read": Not(HasLabel(label_key("UNREAD"))),
                "starred": HasLabel(label_key("STARRED")),
                "unstarred": Not(HasLabel(label_key("STARRED"))),
            }
            return flags.get(lowered)
        if op == "label":
            return HasLabel(label_key(value))
        if op in ("from", "to", "cc"):
            needle = (self.me or lowered) if lowered == "me" else lowered
            return HeaderContains("from_" if op == "from" else op, needle.casefold())
        if op == "subject":
            return HeaderContains("subject", words_of(value))
        if op == "rfc822msgid":
            return MessageIdIs(value.strip("<>").casefold())
        if op in ("newer_than", "older_than"):
            return DateBound(self.now - self.relative(op, value), after=op == "newer_than")
        if op in ("after", "before", "newer", "older"):
            return DateBound(self.absolute(op, value), after=op in ("after", "newer"))
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
        found = _DATE.match(value)
        if found:
            try:
                return datetime(int(found.group(1)), int(found.group(2)), int(found.group(3)), tzinfo=UTC)
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


def parse_query(text: str, *, now: datetime | None = None, me: str | None = None) -> Query:
    """Parse a Gmail-style query. `now` anchors `newer_than`/`older_than`; `me` is what `from:me` means.

    Raises `InvalidInputError` for a query that is too long or a date operator with a malformed value.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInputError(f"The query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}")
    parser = _Parser(_tokenize(text), now=now or datetime.now(UTC), me=me.casefold() if me else None)
    nodes = parser.sequence(None)
    root: Node = All(()) if not nodes else _all(nodes)
    return Query(text=text, root=root, include_spam_trash=_positive_scope(root))
