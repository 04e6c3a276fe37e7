"""Decoding the headers that matter: addresses, RFC 2047 words, dates, Message-IDs, auth and spam-filter results."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from gmail_mcp.charsets import decode_base64, decode_bytes, decode_guess
from support_core.addresses import ParsedMailboxes, parse_mailboxes
from support_core.mail import Address, AuthResults, Headers, SpamVerdict

__all__ = [
    "CLEAN_TABLE",
    "decode_words",
    "header_text",
    "read_headers",
    "repair_header_block",
    "single_line",
    "spam_verdict",
]

_MAX_HEADER = 2000
_MAX_ADDRESSES = 500
_INVISIBLE = [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0x061C, 0x180E, 0xFEFF]
_INVISIBLE += [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), *range(0xFFF9, 0xFFFC)]
CLEAN_TABLE: dict[int, str | None] = dict.fromkeys(_INVISIBLE) | {0x2028: "\n", 0x2029: "\n\n"}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ANGLE_ID = re.compile(r"<[^<>\s]+>")
_MAX_AUTH_HEADERS = 10
_MAX_SPAM_HEADERS = 20
_SPAM_HEADERS = (
    "x-spam-flag", "x-spam-status", "x-spam", "x-spamd-result", "x-rspamd-action", "x-ms-exchange-organization-scl",
    "x-forefront-antispam-report", "x-barracuda-spam-flag", "x-barracuda-spam-status",
)  # fmt: skip
_SPAM_ACTIONS = {"reject": True, "add header": True, "rewrite subject": True, "no action": False}
_NUMBER = r"([-+]?\d+(?:\.\d+)?)"


def repair_header_block(raw: bytes) -> bytes:
    """Accept RFC 5322's obsolete "Name :" syntax (even folded before the colon), which the parser would take
    for the start of the body, losing every header after it (a trick used to hide a second From)."""
    ends = [index for index in (raw.find(b"\n\n", 0, 262_144), raw.find(b"\n\r\n", 0, 262_144)) if index >= 0]
    end = min(ends) if ends else min(len(raw), 262_144)
    head = re.sub(rb"(?m)^([!-9;-~]+)(?:[ \t]*\r?\n)?[ \t]+:", rb"\1:", raw[:end])
    return head + raw[end:] if len(head) != end else raw


def read_headers(message: Message, problems: list[str], authserv_ids: frozenset[str] = frozenset()) -> Headers:
    """The headers that matter, decoded. From and Reply-To are read strictly (`support_core.addresses`) and every
    ambiguity is listed in `sender_problems`; Authentication-Results from a server in `authserv_ids` is trusted."""
    raw: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        raw.setdefault(str(name).strip().lower(), []).append(header_text(value))

    def first(name: str) -> str | None:
        values = raw.get(name)
        return single_line(decode_words(values[0])) if values else None

    sender_problems: list[str] = []
    senders = _sender_header("From", raw.get("from", []), sender_problems)
    reply_to = _sender_header("Reply-To", raw.get("reply-to", []), sender_problems)
    if not senders.mailboxes and raw.get("from"):
        sender_problems.append("From: no valid address")
    if len(senders.mailboxes) > 1:
        sender_problems.append(f"From: {len(senders.mailboxes)} addresses")
    if len(reply_to.mailboxes) > 1:
        sender_problems.append(f"Reply-To: {len(reply_to.mailboxes)} addresses")
    if raw.get("reply-to") and not reply_to.mailboxes:
        sender_problems.append("Reply-To: no valid address")
    references = _ANGLE_ID.findall(" ".join(raw.get("references", [])))
    results = [_authentication(single_line(v), authserv_ids) for v in raw.get("authentication-results", [])]
    results = results[:_MAX_AUTH_HEADERS]
    trusted = next((result for result in results if result.trusted), None)
    return Headers(
        from_=_models(senders)[0] if senders.mailboxes else None,
        from_all=_models(senders),
        reply_to=_models(reply_to),
        sender_problems=list(dict.fromkeys(sender_problems)),
        to=_models(_lenient(raw.get("to", []))),
        cc=_models(_lenient(raw.get("cc", []))),
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
        autoreply=first("x-autoreply") or first("x-autorespond"),
        spam_verdicts=_spam_verdicts(message),
        authentication=trusted or (results[0] if results else AuthResults()),
        authentication_results=results,
    )


def _spam_verdicts(message: Message) -> list[SpamVerdict]:
    """Every spam filter header, in the order they appear (topmost, i.e. the last filter on the way, first)."""
    verdicts: list[SpamVerdict] = []
    for name, value in message.raw_items():
        if str(name).strip().lower() in _SPAM_HEADERS and len(verdicts) < _MAX_SPAM_HEADERS:
            verdicts.append(spam_verdict(str(name).strip(), single_line(header_text(value))[:200]))
    return verdicts


def spam_verdict(header: str, value: str) -> SpamVerdict:
    """One filter header read the way its filter writes it:

    - SpamAssassin: `X-Spam-Flag: YES`, `X-Spam-Status: Yes, score=7.3 required=5.0 tests=...` (Barracuda alike);
    - rspamd: `X-Spam: Yes`, `X-Spamd-Result: default: True [16.20 / 15.00]; SYMBOL(1.0)...` (True, or a score at
      the reject threshold, is spam), `X-Rspamd-Action: add header` (also reject, rewrite subject; no action);
    - Microsoft 365: `X-MS-Exchange-Organization-SCL: 6` (5 or more is spam), `X-Forefront-Antispam-Report:
      ...;SCL:5;SFV:SPM;...` (SFV:SPM is spam, SFV:NSPM is not).
    """
    name, text = header.lower(), value.strip()
    word = next(iter(re.findall(r"^[A-Za-z]+", text)), "").lower()
    flag = {"yes": True, "true": True, "no": False, "false": False}.get(word)
    score = threshold = None
    if name in ("x-spam-status", "x-barracuda-spam-status"):
        score = _float(re.search(rf"\b(?:score|hits)\s*=\s*{_NUMBER}", text, re.IGNORECASE))
        threshold = _float(re.search(rf"\b(?:required|tagged_above)\s*=\s*{_NUMBER}", text, re.IGNORECASE))
    elif name == "x-spamd-result":
        match = re.match(rf"[^:;\[]*:\s*(true|false)\s*\[\s*{_NUMBER}\s*/\s*{_NUMBER}\s*\]", text, re.IGNORECASE)
        flag = None
        if match:
            score, threshold = float(match.group(2)), float(match.group(3))
            flag = match.group(1).lower() == "true" or score >= threshold
    elif name == "x-rspamd-action":
        flag = _SPAM_ACTIONS.get(" ".join(text.lower().split()))
    elif name == "x-ms-exchange-organization-scl":
        score = _float(re.fullmatch(r"(-?\d+)", text))
        flag = None if score is None else score >= 5
    elif name == "x-forefront-antispam-report":
        fields = dict(re.findall(r"(?:^|;)\s*([A-Za-z]+)\s*:\s*([^;]*)", text))
        score = _float(re.fullmatch(r"(-?\d+)", fields.get("SCL", "").strip()))
        verdict = fields.get("SFV", "").strip().upper()
        flag = True if verdict == "SPM" or (score is not None and score >= 5) else (False if verdict else None)
    return SpamVerdict(header=header, value=value, spam=flag, score=score, threshold=threshold)


def _float(match: re.Match[str] | None) -> float | None:
    try:
        return float(match.group(1)) if match else None
    except (ValueError, OverflowError):
        return None


def _sender_header(name: str, values: list[str], problems: list[str]) -> ParsedMailboxes:
    """Every mailbox of every copy of a sender header, read strictly; each ambiguity becomes a problem."""
    if len(values) > 1:
        problems.append(f"{name}: the header appears {len(values)} times")
    parsed = ParsedMailboxes()
    for value in values:
        one = parse_mailboxes(value[: _MAX_HEADER * 10], decode_words=decode_words)
        parsed.mailboxes += one.mailboxes
        problems.extend(f"{name}: {defect}" for defect in one.defects)
    return parsed


def _lenient(values: list[str]) -> ParsedMailboxes:
    """To and Cc: the valid addresses, ambiguities ignored (they never decide who gets a reply)."""
    parsed = ParsedMailboxes()
    for value in values:
        parsed.mailboxes += parse_mailboxes(value[: _MAX_HEADER * 10], decode_words=decode_words).mailboxes
    return parsed


def _models(parsed: ParsedMailboxes) -> list[Address]:
    return [
        Address(name=single_line(m.name) if m.name else None, email=m.address)
        for m in parsed.mailboxes[:_MAX_ADDRESSES]
    ]


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


def _authentication(value: str, authserv_ids: frozenset[str]) -> AuthResults:
    """SPF/DKIM/DMARC result words from one Authentication-Results header (comments removed first), and whether
    the server that added it (its authserv-id, the first word) is one this mailbox trusts (RFC 8601 section 5)."""
    text = value
    for _ in range(5):  # nested comments
        text = re.sub(r"\([^()]*\)", " ", text)
    clauses = text.split(";")
    authserv_id = clauses[0].strip().split(" ")[0].strip().lower() or None
    results: dict[str, str] = {}
    domain: str | None = None
    dkim_domains: list[str] = []
    for clause in clauses[1:]:
        match = re.match(r"\s*(spf|dkim|dmarc)\s*=\s*([A-Za-z]+)", clause, re.IGNORECASE)
        if not match:
            continue
        method, verdict = match.group(1).lower(), match.group(2).lower()
        if method == "dkim" and verdict == "pass":
            signer = re.search(r"header\.d\s*=\s*([^\s;]+)", clause, re.IGNORECASE)
            if signer:
                dkim_domains.append(signer.group(1).strip("\"'").lower())
        if method in results:
            continue
        results[method] = verdict
        if method == "dmarc":
            from_domain = re.search(r"header\.from\s*=\s*([^\s;]+)", clause, re.IGNORECASE)
            domain = from_domain.group(1).strip("\"'").lower() if from_domain else None
    return AuthResults(
        authserv_id=authserv_id,
        trusted=authserv_id is not None and authserv_id in authserv_ids,
        spf=results.get("spf"),
        dkim=results.get("dkim"),
        dmarc=results.get("dmarc"),
        dmarc_domain=domain,
        dkim_domains=dkim_domains[:10],
    )
