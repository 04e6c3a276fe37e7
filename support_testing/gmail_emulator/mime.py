"""Stored RFC 822 bytes as Gmail presents them: decoded headers, the `payload` part tree, snippet and search facts."""

from __future__ import annotations

import base64
import binascii
import email
import html
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from typing import Any

SNIPPET_LENGTH = 200
_ATTACHMENT_PREFIX = "ANGjdJ"
_B64URL = re.compile(r"[A-Za-z0-9_\-]*=*")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_TAG = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def b64url(data: bytes) -> str:
    """Base64url without padding, as Gmail sometimes sends it (clients must restore the padding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError when it is not base64url."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url: only A-Z a-z 0-9 - _ and trailing = are allowed")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error as exc:
        raise ValueError(f"not base64url: {exc}") from exc


def parse(raw: bytes) -> Message:
    """The lenient stdlib parse (compat32 keeps broken MIME and 8-bit bytes readable)."""
    return email.message_from_bytes(raw, policy=compat32)


def header_text(value: Any) -> str:
    """A stored header value as text: 8-bit bytes read as UTF-8 (else Latin-1), unfolded, RFC 2047 words decoded."""
    text = str(value)
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        raw = text.encode("ascii", "surrogateescape") if _has_surrogates(text) else text.encode("utf-8")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    text = re.sub(r"\r?\n[ \t]", " ", text).replace("\r", "").replace("\n", "")
    if "=?" not in text:
        return text.strip()
    try:
        return str(make_header(decode_header(text))).strip()
    except (LookupError, UnicodeDecodeError, ValueError, email.errors.HeaderParseError):
        return text.strip()


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def header(part: Message, name: str) -> str:
    """The first `name` header as text ("" when absent); read raw, because compat32's `get` garbles 8-bit values."""
    wanted = name.lower()
    return next((header_text(value) for key, value in part.raw_items() if key.lower() == wanted), "")


def headers(part: Message, only: set[str] | None = None) -> list[dict[str, str]]:
    """Every header of `part` in order as `{"name", "value"}`; `only` keeps the (lowercase) names given."""
    pairs = part.raw_items()
    return [{"name": n, "value": header_text(v)} for n, v in pairs if only is None or n.lower() in only]


def filename(part: Message) -> str:
    name = part.get_filename()
    return header_text(name) if name else ""


def _children(part: Message) -> list[Message]:
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return []
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def body_bytes(part: Message) -> bytes:
    """The decoded content of a leaf part (transfer encoding undone, charset untouched)."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message) -> str:
    data = body_bytes(part)
    try:
        return data.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def walk(part: Message, part_id: str = "") -> list[tuple[str, Message]]:
    """`(partId, part)` for `part` and every part below it, numbered like Gmail ("", "0", "1", "1.0", ...)."""
    found = [(part_id, part)]
    for index, child in enumerate(_children(part)):
        found.extend(walk(child, f"{part_id}.{index}" if part_id else str(index)))
    return found


def attachment_id(message_id: str, part_id: str) -> str:
    return _ATTACHMENT_PREFIX + b64url(f"{message_id}/{part_id}".encode())


def attachment_part(token: str) -> tuple[str, str] | None:
    """`(message id, partId)` named by an attachment id, or None when it is not one of ours."""
    if not token.startswith(_ATTACHMENT_PREFIX):
        return None
    try:
        message_id, _, part_id = b64url_decode(token[len(_ATTACHMENT_PREFIX) :]).decode().partition("/")
    except (ValueError, UnicodeDecodeError):
        return None
    return message_id, part_id


def payload(message: Message, message_id: str) -> dict[str, Any]:
    """The `format=full` payload tree: bodies inline as base64url, parts with a filename as `attachmentId`."""
    return _node(message, message_id, "")


def _node(part: Message, message_id: str, part_id: str) -> dict[str, Any]:
    node: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": filename(part),
        "headers": headers(part),
    }
    children = _children(part)
    if children:
        node["body"] = {"size": 0}
        node["parts"] = [
            _node(child, message_id, f"{part_id}.{i}" if part_id else str(i)) for i, child in enumerate(children)
        ]
        return node
    data = body_bytes(part)
    if node["filename"]:
        node["body"] = {"size": len(data), "attachmentId": attachment_id(message_id, part_id)}
    else:
        node["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return node


def metadata_payload(message: Message, only: set[str] | None) -> dict[str, Any]:
    """The `format=metadata` payload: the top part's type and headers (filtered by `metadataHeaders`)."""
    return {"partId": "", "mimeType": message.get_content_type(), "filename": "", "headers": headers(message, only)}


def message_ids(value: str) -> list[str]:
    """Message-IDs named in a References/In-Reply-To/Message-ID value, without angle brackets."""
    found = _MESSAGE_ID.findall(value)
    if not found and value.strip():
        found = value.split()
    return [token.strip("<>") for token in found if token.strip("<>")]


def snippet_source(markup: str) -> str:
    """The text Gmail builds its snippet from: tags and invisible elements dropped, entities decoded. It imitates
    the remote API, so it is not support_core.html_text (which keeps paragraphs and lists for a reader)."""
    return html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", markup)))


def snippet_of(text: str) -> str:
    """Gmail's snippet: the start of the text, whitespace collapsed, HTML-escaped with `&#39;` for apostrophes."""
    short = " ".join(text.split())[:SNIPPET_LENGTH]
    return html.escape(short, quote=True).replace("&#x27;", "&#39;")


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What search, threading and the snippet need from one message, read once at delivery."""

    subject: str
    sender: str
    to: str
    cc: str
    bcc: str
    message_id: str
    references: tuple[str, ...]
    text: str
    filenames: tuple[str, ...]

    @property
    def has_attachment(self) -> bool:
        return bool(self.filenames)


def describe(message: Message) -> MessageFacts:
    """Read the facts of a parsed message: text/plain parts (else text/html as text) and attachment names."""

    plain: list[str] = []
    markup: list[str] = []
    names: list[str] = []
    for _, part in walk(message):
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            continue
        name = filename(part)
        if name:
            names.append(name)
        elif part.get_content_type() == "text/plain":
            plain.append(_part_text(part))
        elif part.get_content_type() == "text/html":
            markup.append(snippet_source(_part_text(part)))
    refs = message_ids(header(message, "In-Reply-To")) + message_ids(header(message, "References"))
    own = message_ids(header(message, "Message-ID"))
    return MessageFacts(
        subject=header(message, "Subject"),
        sender=header(message, "From"),
        to=header(message, "To"),
        cc=header(message, "Cc"),
        bcc=header(message, "Bcc"),
        message_id=own[0] if own else "",
        references=tuple(dict.fromkeys(refs)),
        text="\n".join(plain or markup),
        filenames=tuple(names),
    )
