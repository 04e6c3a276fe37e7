"""Email addresses, read the way the mail system reads them, and one normal form for comparing them.

Two jobs, one module, used by every package:

- `parse_mailboxes` reads a From / Reply-To / To header value strictly, as RFC 5322 defines it: the address a
  mail client replies to is the one in angle brackets, never a look-alike in the display name or a comment.
  Anything a careful reader could take two ways is reported as a *defect* instead of being guessed: a display
  name that holds an address, text after `<...>`, two `<...>` in one mailbox, unbalanced quotes or brackets,
  route addresses, group syntax, encoded words inside an address. The standard library's `getaddresses` is not
  used: before the CVE-2023-27043 fix (and Python 3.11 builds without it are common) it silently picks one of
  several readings of such headers, and its behaviour depends on the interpreter's patch level. No maintained
  library parses header address lists strictly; this tokenizer is small and every rule has a test.
- `normalise_address` gives the one form used for every comparison (gatekeeper, ownership checks in the Shopify
  tools, the draft guard, the HTTP API): syntax and IDNA by email-validator, the domain in its Unicode form and
  lower case, the local part lower-cased for ASCII letters only. Unicode case folding is deliberately not used:
  it maps the Kelvin sign (U+212A) to `k` and the long s (U+017F) to `s`, so a different mailbox would compare
  equal to a customer's. Local parts holding such compatibility characters are rejected as confusable.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

__all__ = [
    "AddressError",
    "Mailbox",
    "ParsedMailboxes",
    "ascii_domain",
    "normalise_address",
    "parse_mailboxes",
    "same_address",
]

MAX_ADDRESS = 254
_MAX_HEADER = 20_000
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_ASCII_LETTER = re.compile(r"[A-Z]")


class AddressError(ValueError):
    """A string that is not one usable email address; the message says why, for a person."""


def _ascii_lower(text: str) -> str:
    return _ASCII_LETTER.sub(lambda match: match.group(0).lower(), text)


def _confusable(local: str) -> bool:
    """True when a non-ASCII character of the local part folds or maps onto ASCII (Kelvin sign, long s, ...)."""
    for char in local:
        if char.isascii():
            continue
        mapped = unicodedata.normalize("NFKC", char) + char.lower() + char.casefold()
        if any(c.isascii() for c in mapped):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def normalise_address(value: str) -> str:
    """The comparison form of one bare address (`Maria@Example.COM` -> `maria@example.com`); `AddressError` if
    it is not exactly one valid address. IDN domains come back in Unicode (`xn--...` and Unicode compare equal).

    A pure function of its text, so recent answers are remembered: one message or tool call compares the same few
    addresses several times (sender, owner, recipient), and email-validator is the dearest step of each."""
    text = value.strip()
    if not text or len(text) > MAX_ADDRESS * 4:
        raise AddressError("an email address must be between 1 and 254 characters")
    odd = any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)
    if odd and not text.startswith('"'):  # only a quoted local part may hold a space
        raise AddressError("an email address has no spaces, control or invisible characters")
    local, at, _domain = text.rpartition("@")
    if not at or not local:
        raise AddressError(f"{text[:80]!r} is not an email address (no @)")
    if _confusable(local):
        raise AddressError("the address uses characters that imitate ASCII letters (confusable)")
    if _ENCODED_WORD.search(text):
        raise AddressError("the address contains an RFC 2047 encoded word")
    checked = _validated(text)
    normal = f"{_ascii_lower(checked.local_part)}@{checked.domain.lower()}"
    if len(normal.encode("utf-8")) > MAX_ADDRESS * 2:
        raise AddressError("the email address is too long")
    return normal


def _validated(text: str) -> ValidatedEmail:
    """email-validator's reading of one address, with the project's options (no DNS, SMTPUTF8 and quoted local
    parts allowed, no domain literals); `AddressError` when it is not one."""
    try:
        return validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=True,
            allow_domain_literal=False,
            globally_deliverable=False,
        )
    except EmailNotValidError as exc:
        raise AddressError(f"{text[:80]!r} is not a valid email address: {exc}") from None


def ascii_domain(address: str) -> str:
    """The address's domain in ASCII by IDNA 2008 (`straße.example` -> `xn--strae-oqa.example`; Python's own `idna`
    codec is IDNA 2003, which would give `strasse.example`, another domain); `AddressError` if it has none."""
    return str(_validated(address.strip()).ascii_domain)


def same_address(a: str | None, b: str | None) -> bool:
    """Ownership comparison: equal normal forms; anything that is not a valid address is never the same."""
    if not a or not b:
        return False
    try:
        return normalise_address(a) == normalise_address(b)
    except AddressError:
        return False


@dataclass(frozen=True)
class Mailbox:
    """One mailbox of a header: the decoded display name (or None) and the normalised address."""

    name: str | None
    address: str


@dataclass
class ParsedMailboxes:
    """Every mailbox of a header value, and what could be read two ways (empty when the header is clean)."""

    mailboxes: list[Mailbox] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.defects


# --- tokenizer ------------------------------------------------------------------------------------------------

_SPECIALS = frozenset(",:;@.[]")


@dataclass(frozen=True)
class _Token:
    kind: str  # "atom", "quoted", "comment", "angle", "special"
    text: str
    spaced: bool = False
    """Whitespace came before it (display names are rendered as written)."""


def _scan_delimited(value: str, start: int, close: str, nest: str | None) -> tuple[str, int, bool]:
    """Text between value[start] and its closing character, honouring backslash escapes (and nesting)."""
    depth = 1
    out: list[str] = []
    index = start + 1
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            out.append(value[index + 1])
            index += 2
            continue
        if nest is not None and char == nest:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return "".join(out), index + 1, True
        out.append(char)
        index += 1
    return "".join(out), index, False


def _tokens(value: str, defects: list[str]) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(value):
        char = value[index]
        spaced = index > 0 and value[index - 1].isspace()
        if char.isspace():
            index += 1
        elif char == '"':
            text, index, closed = _scan_delimited(value, index, '"', None)
            if not closed:
                defects.append("unterminated quoted string")
            tokens.append(_Token("quoted", text, spaced))
        elif char == "(":
            text, index, closed = _scan_delimited(value, index, ")", "(")
            if not closed:
                defects.append("unterminated comment")
            tokens.append(_Token("comment", text, spaced))
        elif char == "<":
            end = value.find(">", index + 1)
            inner_open = value.find("<", index + 1)
            if end < 0:
                defects.append("'<' without '>'")
                tokens.append(_Token("angle", value[index + 1 :]))
                index = len(value)
            else:
                if 0 <= inner_open < end:
                    defects.append("'<' inside an angle-bracketed address")
                tokens.append(_Token("angle", value[index + 1 : end]))
                index = end + 1
        elif char in ">)":
            defects.append(f"{char!r} without its opening bracket")
            index += 1
        elif char in _SPECIALS:
            tokens.append(_Token("special", char, spaced))
            index += 1
        else:
            start = index
            while index < len(value) and not (
                value[index].isspace() or value[index] in _SPECIALS or value[index] in '"()<>'
            ):
                index += 1
            tokens.append(_Token("atom", value[start:index], spaced))
    return tokens


def _split_top_level(tokens: list[_Token], defects: list[str]) -> list[list[_Token]]:
    """Mailboxes separated by commas; group syntax (`name: a, b;`) is flattened and reported."""
    groups: list[list[_Token]] = [[]]
    seen_angle = False
    for token in tokens:
        if token.kind == "special" and token.text == ",":
            groups.append([])
            seen_angle = False
        elif token.kind == "special" and token.text == ":" and not seen_angle:
            defects.append("group syntax (name: addresses;)")
            groups[-1] = []  # the group's name is not an address
        elif token.kind == "special" and token.text == ";":
            groups.append([])
        else:
            seen_angle = seen_angle or token.kind == "angle"
            groups[-1].append(token)
    return [group for group in groups if any(t.kind != "comment" for t in group)]


def _render(tokens: list[_Token]) -> str:
    """An addr-spec from its tokens, exactly as written (quoted local parts keep their quotes)."""
    parts = []
    for token in tokens:
        if token.kind == "quoted":
            escaped = token.text.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{escaped}"')
        else:
            parts.append(token.text)
    return "".join(parts)


def _address(spec: str, defects: list[str]) -> str | None:
    spec = spec.strip()
    if spec.startswith("@"):
        defects.append("obsolete route address (<@host:...>)")
        spec = spec.partition(":")[2]
    if _ENCODED_WORD.search(spec):
        defects.append("an encoded word inside the address itself")
        return None
    try:
        return normalise_address(spec)
    except AddressError as exc:
        defects.append(f"invalid address: {exc}")
        return None


def _mailbox(tokens: list[_Token], decode: Callable[[str], str], defects: list[str]) -> Mailbox | None:
    angles = [index for index, token in enumerate(tokens) if token.kind == "angle"]
    comments = [token.text for token in tokens if token.kind == "comment"]
    if len(angles) > 1:
        defects.append("several <addresses> in one mailbox")
    if angles:
        first = angles[0]
        phrase = [t for t in tokens[:first] if t.kind != "comment"]
        after = [t for t in tokens[first + 1 :] if t.kind != "comment"]
        if after:
            defects.append("text after the <address>")
        if any(t.kind == "special" and t.text in "@[]" for t in phrase):
            defects.append("the display name holds an address")
        name = "".join((" " if t.spaced else "") + t.text for t in phrase).strip()
        address = _address(tokens[first].text, defects)
    else:
        spec = [t for t in tokens if t.kind != "comment"]
        words = ("quoted", "atom")
        if any(t.kind in words and prev.kind in words for prev, t in itertools.pairwise(spec)):
            defects.append("words before an address without <brackets>")
        name = " ".join(comments)  # old style: maria@example.com (Maria Garcia)
        comments = []
        address = _address(_render(spec), defects)
    decoded = " ".join(decode(name).split()).strip("'\" ") if name else ""
    if "@" in decoded or "<" in decoded or ">" in decoded:
        defects.append("the display name holds an address")
    if any("@" in decode(comment) for comment in comments):
        defects.append("a comment holds an address")
    if address is None:
        return None
    return Mailbox(name=decoded[:200] or None, address=address)


def parse_mailboxes(value: str, *, decode_words: Callable[[str], str] | None = None) -> ParsedMailboxes:
    """Every mailbox of one header value (unfolded), read strictly; see the module docstring for the defects.

    `decode_words` decodes RFC 2047 encoded words in display names (the Gmail server passes its own, which
    copes with broken charsets); addresses are never decoded.
    """
    decode = decode_words or (lambda text: text)
    result = ParsedMailboxes()
    text = value[:_MAX_HEADER]
    if len(value) > _MAX_HEADER:
        result.defects.append("header too long")
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\t" for c in text):
        result.defects.append("control or invisible characters in the header")
        text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf") or c == "\t")
    for tokens in _split_top_level(_tokens(text, result.defects), result.defects):
        mailbox = _mailbox(tokens, decode, result.defects)
        if mailbox is not None:
            result.mailboxes.append(mailbox)
    result.defects = list(dict.fromkeys(result.defects))
    return result
