"""Raw RFC 5322 mail to decoded headers, clean text and an attachment list, without ever raising."""

from __future__ import annotations

import email.errors
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from gmail_mcp.charsets import decode_base64, decode_bytes
from gmail_mcp.gmail_payload import ATTACHMENT_SIZE_HEADER
from gmail_mcp.mail_headers import (
    CLEAN_TABLE,
    decode_words,
    header_text,
    read_headers,
    repair_header_block,
    single_line,
)
from gmail_mcp.quotes import split_reply
from support_core.html_text import html_to_text
from support_core.mail import Attachment, Headers

__all__ = ["ParsedMail", "normalise_text", "parse_message"]

# What the stdlib email package, the codecs and our decoders raise on hostile input (ValueError covers
# UnicodeError, binascii.Error and HeaderParseError; RecursionError comes from absurdly nested multiparts).
_DECODE_ERRORS: tuple[type[Exception], ...] = (ValueError, LookupError, TypeError, AttributeError, IndexError)
_DECODE_ERRORS += (AssertionError, OverflowError, RecursionError, email.errors.MessageError)
_MAX_DEPTH = 30
_MAX_PARTS = 500
_MAX_HEADER = 2000
_MAX_ADDRESSES = 500

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ANGLE_ID = re.compile(r"<[^<>\s]+>")
_CONTENT_TYPE = re.compile(r"^([a-z0-9!#$&^_.+-]+)/([a-z0-9!#$&^_.+-]+)")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedMail:
    """One message, parsed (see `parse_message`).

    `text` is the whole body as clean text; `new_text`, `quoted_text` and `signature` are its reply parts (see
    `quotes.ReplyParts`: the signature stays at the end of `new_text`); `html_only` means there was no non-empty
    text/plain alternative; `problems` says, for a person, what was worked around.
    """

    headers: Headers
    text: str
    html_only: bool = False
    truncated: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    new_text: str = ""
    quoted_text: str | None = None
    signature: str | None = None


def parse_message(
    raw: bytes, *, max_chars: int = 100_000, authserv_ids: frozenset[str] = frozenset(), declared_sizes: bool = False
) -> ParsedMail:
    """Parse raw mail bytes into decoded headers, clean text, attachments and the reply's parts.

    Never raises: malformed MIME, unknown charsets, broken encodings and garbage bytes are worked around and
    described in `problems`. The text prefers text/plain from the best alternative; HTML-only mail is converted
    (`html_only`). Text longer than `max_chars` is cut with a visible note (`truncated`). Authentication-Results
    headers are trusted only when added by a server named in `authserv_ids`. `declared_sizes` is for bytes rebuilt
    by `gmail_payload` (attachments not downloaded): their parts' size header is believed, and only then.
    """
    problems: list[str] = []
    max_chars = max(1, max_chars)
    data = repair_header_block(bytes(raw))
    try:
        message = BytesParser(policy=compat32).parsebytes(data)
    except _DECODE_ERRORS as error:  # RecursionError on absurdly nested multiparts
        problems.append(f"the MIME structure could not be parsed ({type(error).__name__}); the body is read as text")
        message = BytesParser(policy=compat32).parsebytes(data, headersonly=True)
    try:
        headers = read_headers(message, problems, authserv_ids)
    except _DECODE_ERRORS as error:
        headers = Headers()
        problems.append(f"the headers could not be decoded ({type(error).__name__}); they are left empty")
    walker = _BodyWalker(problems, max_chars, declared_sizes=declared_sizes)
    try:
        segments = walker.walk(message, 0)
    except _DECODE_ERRORS as error:
        segments = []
        problems.append(f"the body could not be read ({type(error).__name__}); the text is empty")
    body = normalise_text("\n\n".join(text for text, _html in segments))
    html_only = any(html for _text, html in segments) and not any(not html for _text, html in segments)
    cut_chars = walker.cut_chars
    if len(body) > max_chars:
        cut_chars += len(body) - max_chars
        body = body[:max_chars].rstrip()
    parts = split_reply(body)
    text, new_text = body, parts.new_text
    if cut_chars:
        note = f"[... message truncated: {cut_chars} more characters]"
        text = f"{body}\n\n{note}"
        new_text = new_text if parts.quoted_text else f"{new_text}\n\n{note}".strip()
    return ParsedMail(
        headers=headers,
        text=text,
        html_only=html_only,
        truncated=bool(cut_chars),
        attachments=walker.attachments,
        problems=list(dict.fromkeys(problems))[:30],
        new_text=new_text,
        quoted_text=parts.quoted_text,
        signature=parts.signature,
    )


def parse_headers(raw: bytes) -> Headers:
    """Only the headers of raw mail bytes, decoded as `parse_message` decodes them (the body is not read): what a
    draft's summary needs. Never raises."""
    message = BytesParser(policy=compat32).parsebytes(repair_header_block(bytes(raw)), headersonly=True)
    try:
        return read_headers(message, [])
    except _DECODE_ERRORS:
        return Headers()


def normalise_text(text: str) -> str:
    """Untrusted text made safe and tidy: "\\n" line ends, no control/zero-width/bidi characters, no trailing
    spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(CLEAN_TABLE)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# -- body ------------------------------------------------------------------------------------------------------------
class _BodyWalker:
    """Walks the MIME tree: text segments (text, from_html) for the body, everything else into `attachments`."""

    def __init__(self, problems: list[str], max_chars: int, *, declared_sizes: bool = False) -> None:
        self.problems = problems
        self._declared_sizes = declared_sizes
        self.attachments: list[Attachment] = []
        self.cut_chars = 0
        self._parts = 0
        self._text_limit = max_chars * 2 + 10_000
        self._html_limit = max(200_000, max_chars * 10)

    def walk(self, part: Message, depth: int) -> list[tuple[str, bool]]:
        self._parts += 1
        if depth > _MAX_DEPTH or self._parts > _MAX_PARTS:
            self.problems.append(f"more than {_MAX_PARTS} MIME parts or {_MAX_DEPTH} levels; the rest was skipped")
            return []
        self._note_defects(part)
        maintype, subtype = _content_type(part)
        payload = part.get_payload()
        if maintype == "message":
            self._attach(part, f"{maintype}/{subtype}")
            return []
        if isinstance(payload, list):
            children = [child for child in payload if isinstance(child, Message)]
            if subtype == "alternative":
                return self._alternative(children, depth)
            return [segment for child in children for segment in self.walk(child, depth + 1)]
        if maintype == "multipart":
            self.problems.append(f"a multipart/{subtype} part has no usable boundary; its body was read as text")
            return [(self._text(part, html=False), False)]
        disposition, filename = _disposition(part), _filename(part)
        if disposition == "attachment" or filename or maintype != "text":
            self._attach(part, f"{maintype}/{subtype}")
            return []
        if subtype == "html":
            return [(self._text(part, html=True), True)]
        if subtype in ("plain", "enriched", "richtext"):
            text = self._text(part, html=False)
            return [(re.sub(r"<[^<>]{1,40}>", "", text) if subtype != "plain" else text, False)]
        self._attach(part, f"{maintype}/{subtype}")
        return []

    def _alternative(self, children: list[Message], depth: int) -> list[tuple[str, bool]]:
        """The best alternative: non-empty plain text, else the last non-empty HTML, else the first non-empty."""
        outer_problems, choices = self.problems, []
        for child in children:
            self.problems = []
            segments = self.walk(child, depth + 1)
            choices.append((segments, self.problems))
        self.problems = outer_problems
        filled = [choice for choice in choices if any(text.strip() for text, _html in choice[0])]
        plain = [choice for choice in filled if not any(html for _text, html in choice[0])]
        chosen = plain[0] if plain else filled[-1] if filled else ([], [])
        self.problems.extend(chosen[1])
        return chosen[0]

    def _text(self, part: Message, *, html: bool) -> str:
        data = _payload_bytes(part, self.problems)
        try:
            charset = part.get_content_charset()
        except _DECODE_ERRORS:
            charset = None
        if html and not charset:
            meta = _META_CHARSET.search(data[:4096])
            charset = meta.group(1).decode("ascii").lower() if meta else None
        text = decode_bytes(data, charset, self.problems)
        limit = self._html_limit if html else self._text_limit
        if len(text) > limit:
            self.cut_chars += len(text) - limit
            text = text[:limit]
        return html_to_text(text) if html else text

    def _attach(self, part: Message, content_type: str) -> None:
        payload = part.get_payload()
        inner = [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []
        filename = _filename(part)
        if inner and content_type in ("message/rfc822", "message/global"):
            filename = single_line(decode_words(_raw_header(inner[0], "subject"))) or filename
        declared = _raw_header(part, ATTACHMENT_SIZE_HEADER.lower()).strip() if self._declared_sizes else ""
        try:
            if declared.isdigit():
                size = int(declared)
            else:
                size = sum(len(child.as_bytes()) for child in inner) if inner else len(_payload_bytes(part, []))
        except _DECODE_ERRORS:
            size = 0
        inline = _disposition(part) == "inline"
        self.attachments.append(Attachment(filename=filename, content_type=content_type, size=size, inline=inline))

    def _note_defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", []):
            if isinstance(defect, email.errors.CloseBoundaryNotFoundDefect):
                self.problems.append("a multipart part is never closed (the message may have been cut short)")
            elif isinstance(
                defect, (email.errors.MissingHeaderBodySeparatorDefect, email.errors.MalformedHeaderDefect)
            ):
                self.problems.append("some header lines are malformed and were read as body or skipped")


def _content_type(part: Message) -> tuple[str, str]:
    match = _CONTENT_TYPE.match(part.get_content_type().strip().lower())
    return (match.group(1), match.group(2)) if match else ("application", "octet-stream")


def _disposition(part: Message) -> str:
    return _raw_header(part, "content-disposition").split(";", 1)[0].strip().lower()


def _filename(part: Message) -> str | None:
    """The attachment's name: RFC 2231 (filename*=utf-8''...), RFC 2047 encoded-words or raw 8-bit, cleaned."""
    probe = Message()  # the parameters re-read from decoded header text, so raw 8-bit names survive
    for header in ("content-disposition", "content-type"):
        probe[header] = _raw_header(part, header)
    try:
        name = probe.get_filename()
    except _DECODE_ERRORS:
        return None
    return (single_line(decode_words(name))[:255] or None) if name else None


def _payload_bytes(part: Message, problems: list[str]) -> bytes:
    """The part's decoded bytes; broken base64 is decoded as far as it goes instead of being returned raw."""
    if _raw_header(part, "content-transfer-encoding").strip().lower() == "base64":
        payload = part.get_payload()
        data, clean = (
            decode_base64(str(payload).encode("ascii", "replace")) if isinstance(payload, str) else (b"", True)
        )
        if not clean:
            problems.append("a base64 part is damaged; it was decoded as far as possible")
        return data
    decoded = part.get_payload(decode=True)  # quoted-printable, uuencode, or the raw bytes of 7bit/8bit/binary
    return decoded if isinstance(decoded, bytes) else b""


def _raw_header(part: Message, name: str) -> str:
    """The first `name` header as the sender wrote it (8-bit bytes decoded), "" when absent."""
    for key, value in part.raw_items():
        if str(key).strip().lower() == name:
            return header_text(value)
    return ""
