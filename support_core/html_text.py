"""HTML to readable text, for mail bodies and for store texts (policies, product descriptions): paragraphs, bullets,
links kept as "text (url)", and quoted history (blockquote, gmail_quote, Outlook) prefixed by "> "."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# Blocks that end a line, and blocks that also leave a blank line around them.
_LINE_BLOCKS = frozenset(
    {"div", "tr", "li", "dt", "dd", "form", "fieldset", "center", "caption", "option", "legend", "details", "summary"}
)
_PARA_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre", "hr", "address"}
    | {"section", "article", "header", "footer", "main", "nav", "aside", "figure", "body", "html"}
)
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "object", "svg", "xml"})
_VOID = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "wbr", "area", "base", "col", "embed", "source", "track", "param"}
)
_QUOTE_CLASSES = frozenset({"gmail_quote", "gmail_quote_container", "yahoo_quoted", "protonmail_quote"})
# Outlook marks where the quoted message starts with these (empty or header-only) elements: the rest is history.
_REST_QUOTED_IDS = ("appendonsend", "divrplyfwdmsg")
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0\u2000-\u200a\u202f\u205f\u3000]+")
_MAX_STACK = 2000
_MAX_OPEN_LINKS = 8
_MAX_QUOTE_DEPTH = 10


class _Element:
    __slots__ = ("quote", "skip", "tag")

    def __init__(self, tag: str, *, quote: bool, skip: bool) -> None:
        self.tag = tag
        self.quote = quote
        self.skip = skip


class _MailHtmlText(HTMLParser):
    """Collects lines of text, each with the quote depth it was written at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._line: list[str] = []
        self._line_depth = 0
        self._pending = 0  # line breaks requested before the next text: 1 = new line, 2 = blank line too
        self._stack: list[_Element] = []
        self._depth = 0
        self._rest_quoted = False
        self._skipping = 0
        self._pre = 0
        self._list_depth = 0
        self._links: list[tuple[str | None, list[str]]] = []

    # -- output ---------------------------------------------------------------------------------------------------
    def _break(self, count: int) -> None:
        self._pending = max(self._pending, count)

    def _finish_line(self) -> None:
        text = "".join(self._line).strip(" ")
        if text.strip():
            self.lines.append((self._line_depth, text))
        self._line = []

    def _write(self, text: str) -> None:
        if not text.strip(" ") and (self._pending or not self._line):
            return
        if self._pending:
            self._finish_line()
            if self._pending == 2 and self.lines and self.lines[-1][1]:
                self.lines.append((-1, ""))
            self._pending = 0
        if not self._line:
            self._line_depth = self._depth + (1 if self._rest_quoted else 0)
            text = text.lstrip(" ")
            if not text:
                return
        elif self._line[-1].endswith(" ") and text.startswith(" "):
            text = text[1:]
        self._line.append(text)
        for _href, buffer in self._links[:_MAX_OPEN_LINKS]:  # nested <a> without end tags: bounded work
            buffer.append(text)

    # -- parser callbacks -----------------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "body":
            self._stack = [element for element in self._stack if element.tag != "head"]
            self._skipping = sum(1 for element in self._stack if element.skip)
        if self._skipping:
            if tag not in _VOID and len(self._stack) < _MAX_STACK:
                self._stack.append(_Element(tag, quote=False, skip=tag in _SKIPPED))
                self._skipping += tag in _SKIPPED
            return
        element_id = attributes.get("id", "").lower()
        if tag == "div" and element_id.endswith(_REST_QUOTED_IDS):
            self._break(2)
            self._rest_quoted = True
        if tag == "br":
            self._finish_pending_br()
        elif tag in _PARA_BLOCKS:
            self._break(1 if tag in ("ul", "ol") and self._list_depth else 2)
        elif tag in _LINE_BLOCKS:
            self._break(1)
        elif tag in ("td", "th"):
            self._write(" ")
        if tag == "li":
            self._write("\xa0\xa0" * max(0, self._list_depth - 1) + "- ")  # no-break spaces: kept at line start
        elif tag in ("ul", "ol"):
            self._list_depth += 1
        elif tag == "img":
            alt = _SPACES.sub(" ", attributes.get("alt", "")).strip()
            if alt:
                self._write(f" {alt} ")
        elif tag == "a":
            href = attributes.get("href", "").strip()
            self._links.append((href if href.lower().startswith(_LINK_SCHEMES) else None, []))
        elif tag == "pre":
            self._pre += 1
        if tag in _VOID or len(self._stack) >= _MAX_STACK:
            return
        quote = tag == "blockquote" or bool(_QUOTE_CLASSES.intersection(attributes.get("class", "").split()))
        skip = tag in _SKIPPED
        self._stack.append(_Element(tag, quote=quote, skip=skip))
        if quote:
            self._break(2)
            self._depth += 1
        if skip:
            self._skipping += 1

    def _finish_pending_br(self) -> None:
        if self._pending:
            # A <br> right after a block break adds an empty line, as browsers render it.
            self._write("\u2060")
        self._break(1)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, max(-1, len(self._stack) - 50), -1):
            if self._stack[index].tag == tag:
                for element in reversed(self._stack[index:]):  # innermost first
                    self._close(element)
                del self._stack[index:]
                break

    def _close(self, element: _Element) -> None:
        tag = element.tag
        if element.skip:
            self._skipping = max(0, self._skipping - 1)
            return
        if self._skipping:
            return
        if tag == "a" and self._links:
            href, buffer = self._links.pop()
            label = _SPACES.sub(" ", "".join(buffer)).strip()
            if href and label and _comparable(href) != _comparable(label):
                self._write(f" ({re.sub(r'(?i)^mailto:', '', href)})")
        elif tag in ("ul", "ol"):
            self._list_depth = max(0, self._list_depth - 1)
            self._break(1 if self._list_depth else 2)
            return
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if element.quote:
            self._break(2)
            self._depth = max(0, self._depth - 1)
        elif tag in _PARA_BLOCKS:
            self._break(2)
        elif tag in _LINE_BLOCKS:
            self._break(1)
        elif tag in ("td", "th"):
            self._write(" ")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._pre:
            self._write(_SPACES.sub(" ", data))
            return
        for index, piece in enumerate(data.replace("\r\n", "\n").split("\n")):
            if index:
                self._break(1)
                self._write("\u2060")
            self._write(piece)

    def render(self) -> str:
        self._finish_line()
        cleaned = [
            (depth, re.sub(r" {2,}", " ", text.replace("\u2060", "")).strip(" ").replace("\xa0", " "))
            for depth, text in self.lines
        ]
        out: list[str] = []
        previous_blank: int | None = None
        for index, (depth, text) in enumerate(cleaned):
            if text:
                out.append("> " * min(depth, _MAX_QUOTE_DEPTH) + text)
                previous_blank = None
                continue
            level = depth
            if depth < 0:  # a paragraph break: quoted as deeply as both of its neighbours
                before = cleaned[index - 1][0] if index else 0
                after = cleaned[index + 1][0] if index + 1 < len(cleaned) else 0
                level = max(0, min(before, after))
            if previous_blank != level:
                out.append(" ".join([">"] * min(level, _MAX_QUOTE_DEPTH)))
                previous_blank = level
        return "\n".join(out).strip("\n")


def _comparable(value: str) -> str:
    value = value.strip().lower()
    for prefix in ("mailto:", "https://", "http://", "www."):
        value = value.removeprefix(prefix)
    return value.rstrip("/")


def html_to_text(html: str) -> str:
    """Readable text from an HTML mail body.

    Block elements become lines or paragraphs, `<br>` a newline, list items "- ", links "text (url)" when the url
    differs from the text, images their alt text; script, style and head are dropped and entities decoded. Text
    inside quoted-history containers is prefixed with "> " per level so `quotes.split_reply` recognises it.
    Raises nothing for any input: markup the parser rejects falls back to removing the tags.
    """
    parser = _MailHtmlText()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError, IndexError, RecursionError):
        return _strip_tags(html)
    return parser.render()


def _strip_tags(html: str) -> str:
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h\d)\s*>", "\n", text)
    text = unescape(re.sub(r"<[^>]*>", " ", text))
    return "\n".join(re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()).strip()
