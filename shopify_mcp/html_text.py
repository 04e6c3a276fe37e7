"""HTML to readable plain text (policies and product descriptions): paragraphs, bullets, links kept as URLs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "section", "article", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "hr"}
)
_SKIP = frozenset({"script", "style", "head", "template", "noscript"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag != "br" else "\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "a":
            href = dict(attrs).get("href")
            self._links.append(href if href and href.startswith(("http://", "https://", "mailto:")) else None)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self._links:
            href = self._links.pop()
            if href:
                self.parts.append(f" ({href.removeprefix('mailto:')})")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text: block elements become paragraphs, `<li>` a '- ' bullet, links 'text (url)'."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    text = "".join(collector.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    joined = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()
