"""Shopify's search syntax (`query:` arguments): parsing, dropping unknown filters with warnings, matching."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

INVALID_FIELD = "Invalid search field for this query."
COMPARATORS = ("<=", ">=", "<", ">")
_WORD = re.compile(r"[\w@.+#'-]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Term:
    """`field:value` (or bare `value` when `field` is None); `comparator` is ':' or one of `<`, `<=`, `>`, `>=`."""

    field: str | None
    value: str
    comparator: str = ":"
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "term", "(", ")", "AND", "OR", "NOT"
    term: Term | None = None
    negated: bool = False


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(_Token(ch))
            i += 1
            continue
        negated = ch == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        field: str | None = None
        match = re.match(r"([A-Za-z_][\w.]*):", text[i:])
        if match:
            field = match.group(1).lower()
            i += match.end()
        comparator = ":"
        if field is not None:
            for candidate in COMPARATORS:
                if text.startswith(candidate, i):
                    comparator, i = candidate, i + len(candidate)
                    break
        value, phrase, prefix, i = _read_value(text, i)
        if field is None and not phrase and not negated and value in ("AND", "OR", "NOT"):
            tokens.append(_Token(value))
            continue
        if field is None and not value:
            continue
        tokens.append(_Token("term", Term(field, value, comparator, phrase, prefix), negated))
    return tokens


def _read_value(text: str, i: int) -> tuple[str, bool, bool, int]:
    """A quoted (single or double, backslash escapes) or bare value; a trailing unescaped `*` means prefix."""
    n = len(text)
    if i < n and text[i] in "\"'":
        quote, i, chars = text[i], i + 1, []
        while i < n and text[i] != quote:
            if text[i] == "\\" and i + 1 < n:
                i += 1
            chars.append(text[i])
            i += 1
        return "".join(chars), True, False, i + 1
    chars, prefix = [], False
    while i < n and not text[i].isspace() and text[i] not in "()":
        if text[i] == "\\" and i + 1 < n:
            chars.append(text[i + 1])
            i += 2
            continue
        if text[i] == "*" and (i + 1 == n or text[i + 1].isspace() or text[i + 1] in "()"):
            prefix = True
        else:
            chars.append(text[i])
        i += 1
    return "".join(chars), False, prefix, i


class _Parser:
    """OR binds loosest, then AND (explicit or implied by whitespace), then NOT / `-`."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
        nodes = []
        while self.peek() is not None:
            node = self.or_expr()
            if node is not None:
                nodes.append(node)
            elif self.peek() is not None:
                self.pos += 1  # a stray `)` or connective: skip it, as Shopify tolerates them
        return _join(And, nodes)

    def or_expr(self) -> Node | None:
        nodes = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.pos += 1
            nodes.append(self.and_expr())
        return _join(Or, [node for node in nodes if node is not None])

    def and_expr(self) -> Node | None:
        nodes = []
        while (token := self.peek()) is not None and token.kind not in (")", "OR"):
            if token.kind == "AND":
                self.pos += 1
                continue
            node = self.unary()
            if node is not None:
                nodes.append(node)
        return _join(And, nodes)

    def unary(self) -> Node | None:
        token = self.peek()
        assert token is not None
        self.pos += 1
        if token.kind == "NOT":
            inner = self.unary() if self.peek() is not None else None
            return None if inner is None else Not(inner)
        if token.kind == "(":
            inner = self.or_expr()
            closing = self.peek()
            if closing is not None and closing.kind == ")":
                self.pos += 1
            return inner
        assert token.term is not None
        return Not(token.term) if token.negated else token.term


def _join(kind: type[And] | type[Or], nodes: list[Node]) -> Node | None:
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else kind(tuple(nodes))


def parse_query(text: str) -> Node | None:
    """The syntax tree of a search query (None when it holds no term)."""
    return _Parser(_tokenize(text)).parse()


def parsed_json(node: Node | None) -> dict[str, Any]:
    """The `parsed` form Shopify echoes in `extensions.search`."""
    if node is None:
        return {}
    if isinstance(node, Term):
        if node.comparator != ":":
            key = {"<": "range_lt", "<=": "range_lte", ">": "range_gt", ">=": "range_gte"}[node.comparator]
        else:
            key = "match_phrase" if node.phrase else "match_all"
        return {"field": node.field or "default", key: node.value + ("*" if node.prefix else "")}
    if isinstance(node, Not):
        return {"not": parsed_json(node.child)}
    return {"and" if isinstance(node, And) else "or": [parsed_json(child) for child in node.children]}


# --- Matching helpers the resource filters use ----------------------------------------------------------


def _words(text: str) -> list[str]:
    return [word.strip(".'-").casefold() for word in _WORD.findall(text)]


def _stem(word: str) -> str:
    """A crude singular (`leggings` -> `legging`, `shoes` -> `shoe`), standing in for Shopify's stemming."""
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _same_word(candidate: str, wanted: str, prefix: bool) -> bool:
    if prefix:
        return candidate.startswith(wanted)
    return candidate == wanted or _stem(candidate) == _stem(wanted)


def text_matches(term: Term, texts: Iterable[str | None]) -> bool:
    """Word match, case-insensitive and singular/plural-blind: every word of the value is a word of one text
    (consecutive, for a quoted phrase); `value*` matches word prefixes."""
    wanted = _words(term.value)
    if not wanted:
        return True
    for text in texts:
        if not text:
            continue
        words = _words(text)
        if term.phrase and len(wanted) > 1:
            width = len(wanted)
            if any(words[i : i + width] == wanted for i in range(len(words) - width + 1)):
                return True
        elif (
            all(any(_same_word(w, want, term.prefix) for w in words) for want in wanted)
            or text.casefold() == term.value.casefold()
        ):
            return True
    return False


def keyword_matches(term: Term, values: Iterable[str | None]) -> bool:
    """Exact value, case-insensitive (`value*` matches a prefix)."""
    wanted = term.value.casefold()
    for value in values:
        if value is None:
            continue
        candidate = value.casefold()
        if candidate == wanted or (term.prefix and candidate.startswith(wanted)):
            return True
    return False


def compare(term: Term, value: Any, wanted: Any) -> bool:
    """`value` against `wanted` with the term's comparator."""
    if term.comparator == "<":
        return bool(value < wanted)
    if term.comparator == "<=":
        return bool(value <= wanted)
    if term.comparator == ">":
        return bool(value > wanted)
    if term.comparator == ">=":
        return bool(value >= wanted)
    return bool(value == wanted)


def parse_moment(value: str) -> tuple[dt.datetime, bool] | None:
    """An ISO date or date-time as UTC, and whether it was a whole day; None when it is neither."""
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC), True
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)), False


def date_matches(term: Term, value: dt.datetime | None) -> bool:
    parsed = parse_moment(term.value)
    if parsed is None or value is None:
        return False
    moment, whole_day = parsed
    if whole_day and term.comparator == ":":
        return moment <= value < moment + dt.timedelta(days=1)
    if whole_day and term.comparator in (">", "<="):
        moment += dt.timedelta(days=1)  # `>2026-01-01` means after that day
    return compare(term, value, moment)


def check_date(term: Term) -> str | None:
    return None if parse_moment(term.value) is not None else f"Invalid date: {term.value!r}."


@dataclass(frozen=True, slots=True)
class SearchField(Generic[T]):
    """How one filter matches a record; `check` rejects a malformed value (the term is then dropped, warned)."""

    match: Callable[[T, Term], bool]
    check: Callable[[Term], str | None] | None = None


class SearchFilter(Generic[T]):
    """A parsed `query:` for one connection: unknown filters dropped and reported like Shopify does."""

    def __init__(
        self,
        query: str | None,
        fields: Mapping[str, SearchField[T]],
        default: Callable[[T, Term], bool],
    ) -> None:
        self.query = query or ""
        self.warnings: list[dict[str, str]] = []
        self._fields = fields
        self._default = default
        self.node = self._prune(parse_query(self.query))

    def _prune(self, node: Node | None) -> Node | None:
        if node is None:
            return None
        if isinstance(node, Term):
            if node.field is None:
                return node
            spec = self._fields.get(node.field)
            if spec is None:
                self.warnings.append({"field": node.field, "message": INVALID_FIELD})
                return None
            problem = spec.check(node) if spec.check else None
            if problem:
                self.warnings.append({"field": node.field, "message": problem})
                return None
            return node
        if isinstance(node, Not):
            child = self._prune(node.child)
            return None if child is None else Not(child)
        children = [kept for child in node.children if (kept := self._prune(child)) is not None]
        return _join(type(node), children)

    def __call__(self, record: T) -> bool:
        return self._matches(self.node, record)

    def _matches(self, node: Node | None, record: T) -> bool:
        if node is None:
            return True
        if isinstance(node, Term):
            if node.field is None:
                return self._default(record, node)
            return self._fields[node.field].match(record, node)
        if isinstance(node, Not):
            return not self._matches(node.child, record)
        if isinstance(node, And):
            return all(self._matches(child, record) for child in node.children)
        return any(self._matches(child, record) for child in node.children)

    def extension(self, path: list[str | int]) -> dict[str, Any] | None:
        """The `extensions.search` entry for this query, or None when nothing was dropped."""
        if not self.warnings:
            return None
        return {"path": path, "query": self.query, "parsed": parsed_json(self.node), "warnings": self.warnings}
