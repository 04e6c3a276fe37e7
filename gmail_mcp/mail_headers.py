"""Decoding the headers that matter: addresses, RFC 2047 words, dates, Message-IDs, Authentication-Results."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from gmail_mcp.charsets import decode_base64, decode_bytes, decode_guess
from gmail_mcp.models import Address, AuthResults, Headers

__all__ = ["CLEAN_TABLE", "decode_words", "header_text", "read_headers", "repair_header_block", "single_line"]

_MAX_HEADER = 2000
_MAX_ADDRESSES = 500
_INVISIBLE = [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0x061C, 0x180E, 0xFEFF]
_INVISIBLE += [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), *range(0xFFF9, 0xFFFC)]
CLEAN_TABLE: dict[int, str | None] = dict.fromkeys(_INVISIBLE) | {0x2028: "\n", 0x2029: "\n\n"}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ANGLE_ID = re.compile(r"<[^<>\s]+>")


def repair_header_block(raw: bytes) -> bytes:
    """Accept RFC 5322's obsolete "Name :" syntax (even folded before the colon), which the parser would take
    for the start of the body, losing every header after it (a trick used to hide a second From)."""
    ends = [index for index in (raw.find(b"\n\n", 0, 262_144), raw.find(b"\n\r\n", 0, 262_144)) if index >= 0]
    end = min(ends) if ends else min(len(raw), 262_144)
    head = re.sub(rb"(?m)^([!-9;-~]+)(?:[ \t]*\r?\n)?[ \t]+:", rb"\1:", raw[:end])
    return head + raw[end:] if len(head) != end else raw


def read_headers(message: Message, problems: list[str]) -> Headers:
    raw: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        raw.setdefault(str(name).strip().lower(), []).append(header_text(value))

    def first(name: str) -> str | None:
        values = raw.get(name)
        return single_line(decode_words(values[0])) if values else None

    def addresses(name: str) -> list[Address]:
        return _addresses(raw.get(name, []))

    senders = addresses("from")
    if len(raw.get("from", [])) > 1:
        problems.append("the message has several From headers; the first one was used")
    references = _ANGLE_ID.findall(" ".join(raw.get("references", [])))
    return Headers(
        from_=senders[0] if senders else None,
        reply_to=addresses("reply-to"),
        to=addresses("to"),
        cc=addresses("cc"),
        subject=first("subject") or "",
        date=_date(first("date")),
        message_id=_message_id(first("message-id")),
        in_reply_to=_message_id(first("in-reply-to")),
        references=list(dict.fromkeys(references))[:_MAX_ADDRESSES],
        list_id=first("list-id"),
        list_unsubscribe=first("list-unsubscribe"),
        auto_submitted=first("auto-submitted"),
        precedence=first("precedence"),
        return_path=first("return-path"),
        authentication=_authentication(first("authentication-results")),
    )


def header_text(value: object) -> str:
    """A raw header value as text: 8-bit bytes (kept by the parser as surrogates) read as UTF-8 or windows-1252."""
    data = str(value)[: _MAX_HEADER * 20].encode("utf-8", "surrogateescape")
    text = decode_guess(data)[0] if not data.isascii() else data.decode("ascii")
    return re.sub(r"\r?\n(?=[ \t])", "", text)


def single_line(text: str) -> str:
    return " ".join(text.translate(CLEAN_TABLE).split())[:_MAX_HEADER]


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words; adjacent ones in one charset are joined first (a character may be split)."""
    if "=?" not in text:
        return text
    out: list[str] = []
    run_charset: str | None = None
    run = bytearray()
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        if run_charset is not None and (between.strip() or charset != run_charset):
            out.append(decode_bytes(bytes(run), run_charset, []))
            run_charset, run = None, bytearray()
        if run_charset is None and (between.strip() or position == 0):
            out.append(between)  # whitespace between two encoded-words is dropped, as RFC 2047 says
        payload = match.group(3)
        run += decode_base64(payload.encode("ascii", "replace"))[0] if match.group(2) in "bB" else _decode_q(payload)
        run_charset = charset
        position = match.end()
    if run_charset is not None:
        out.append(decode_bytes(bytes(run), run_charset, []))
    out.append(text[position:])
    return "".join(out)


def _decode_q(payload: str) -> bytes:
    data = payload.replace("_", " ").encode("utf-8", "replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda match: bytes([int(match.group(1), 16)]), data)


def _addresses(values: list[str]) -> list[Address]:
    found: list[Address] = []
    for name, address in getaddresses([value[: _MAX_HEADER * 10] for value in values])[:_MAX_ADDRESSES]:
        address = single_line(address).strip("<>").lower()
        local, _at, domain = address.rpartition("@")
        if not local or not domain or " " in address or len(address) > 320:
            continue
        display = single_line(decode_words(name)).strip("'\" ")
        found.append(Address(name=display or None, email=address))
    return found


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _ANGLE_ID.search(value)
    if match:
        return match.group(0)
    token = value.split()[0] if value.split() else ""
    return f"<{token}>" if "@" in token and "<" not in token and ">" not in token else None


def _authentication(value: str | None) -> AuthResults:
    """SPF/DKIM/DMARC result words from one Authentication-Results header (comments removed first)."""
    if not value:
        return AuthResults()
    text = value
    for _ in range(5):  # nested comments
        text = re.sub(r"\([^()]*\)", " ", text)
    results: dict[str, str] = {}
    domain: str | None = None
    for clause in text.split(";"):
        match = re.match(r"\s*(spf|dkim|dmarc)\s*=\s*([A-Za-z]+)", clause, re.IGNORECASE)
        if not match or match.group(1).lower() in results:
            continue
        method = match.group(1).lower()
        results[method] = match.group(2).lower()
        if method == "dmarc":
            from_domain = re.search(r"header\.from\s*=\s*([^\s;]+)", clause, re.IGNORECASE)
            domain = from_domain.group(1).strip("\"'").lower() if from_domain else None
    return AuthResults(
        spf=results.get("spf"), dkim=results.get("dkim"), dmarc=results.get("dmarc"), dmarc_domain=domain
    )
