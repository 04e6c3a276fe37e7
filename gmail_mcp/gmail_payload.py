"""Gmail's `format=full` part tree written back as RFC 5322 bytes, so thread messages parse like raw ones.

`threads.get` has no `raw` format: its cheapest complete answer is `format=full`, where every part carries its
headers (as Gmail shows them: unfolded, encoded words decoded) and its body (transfer encoding undone, base64url),
except attachments, which carry only an `attachmentId` and their size. Writing that tree out again gives bytes the
ordinary parser reads; what cannot come back is said here:

- header values are Gmail's decoded text, written as UTF-8 (RFC 6532), so a display name that hid a comma or an
  address inside an encoded word reads differently than in the raw message. The message a reply is written for is
  therefore always read raw (`messages.get`); the rebuilt bytes serve as thread context;
- attachment contents are not downloaded: their part is empty and carries `ATTACHMENT_SIZE_HEADER` with Gmail's
  size, which `parse_message(declared_sizes=True)` reports (that header is read on this path only);
- multipart boundaries and transfer encodings are this module's own (every leaf body is re-encoded in base64).
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

ATTACHMENT_SIZE_HEADER = "X-Gmail-Mcp-Attachment-Size"
"""Set on a rebuilt attachment part (whose content was not downloaded): its size as Gmail reported it."""

_NAME = re.compile(r"^[!-9;-~]{1,100}$")  # RFC 5322 field name: printable ASCII except colon
_LINE_BREAK = re.compile(r"[\r\n]+[ \t]*")
_DROPPED = frozenset({"content-transfer-encoding", "content-length", ATTACHMENT_SIZE_HEADER.lower()})
_MAX_DEPTH = 30


def _decode(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except ValueError:
        return b""


def _header_lines(part: dict[str, Any], *, multipart: bool) -> list[bytes]:
    """The part's headers, one line each (no header can smuggle a line break); for a multipart, its Content-Type
    is replaced later with one naming this module's boundary."""
    lines: list[bytes] = []
    for header in part.get("headers") or []:
        if not isinstance(header, dict):
            continue
        name, value = str(header.get("name", "")), str(header.get("value", ""))
        if not _NAME.match(name) or name.lower() in _DROPPED or (multipart and name.lower() == "content-type"):
            continue
        lines.append(f"{name}: {_LINE_BREAK.sub(' ', value).strip()}".encode("utf-8", "replace"))
    return lines


def _base64_lines(data: bytes) -> bytes:
    encoded = base64.encodebytes(data)  # 76-character lines, each ending in \n
    return encoded.replace(b"\n", b"\r\n")


def _write(part: dict[str, Any], depth: int) -> bytes:
    mime_type = str(part.get("mimeType") or "text/plain").lower()
    children = [c for c in part.get("parts") or [] if isinstance(c, dict)] if depth < _MAX_DEPTH else []
    found = part.get("body")
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    if mime_type.startswith("multipart/") and children:
        boundary = f"=_gmail_mcp_{secrets.token_hex(12)}"
        head = [*_header_lines(part, multipart=True), f'Content-Type: {mime_type}; boundary="{boundary}"'.encode()]
        chunks = [b"\r\n".join(head), b"\r\n\r\n"]
        for child in children:
            chunks += [f"--{boundary}\r\n".encode(), _write(child, depth + 1), b"\r\n"]
        chunks.append(f"--{boundary}--\r\n".encode())
        return b"".join(chunks)
    head = _header_lines(part, multipart=False)
    if children:  # a message/delivery-status read as its blocks of fields: written back as such
        blocks = [b"\r\n".join(_header_lines(child, multipart=False)) for child in children]
        return b"\r\n".join(head) + b"\r\n\r\n" + b"\r\n\r\n".join(blocks) + b"\r\n"
    if "data" not in body and body.get("attachmentId"):
        size = int(body.get("size") or 0)
        head.append(f"{ATTACHMENT_SIZE_HEADER}: {max(0, size)}".encode())
        return b"\r\n".join(head) + b"\r\n\r\n"
    data = _decode(str(body.get("data") or ""))
    if mime_type.startswith("message/"):  # an attached message (or report) is itself header syntax: kept as bytes
        return b"\r\n".join(head) + b"\r\n\r\n" + data
    head.append(b"Content-Transfer-Encoding: base64")
    return b"\r\n".join(head) + b"\r\n\r\n" + _base64_lines(data)


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """RFC 5322 bytes for a message's `format=full` payload (see the module docstring for what differs from raw)."""
    return _write(payload, 0)
