"""Bytes to text in whatever charset mail declares (or lies about): aliases, fallbacks and the problems noted."""

from __future__ import annotations

import binascii
import codecs
import re

__all__ = ["decode_base64", "decode_bytes", "decode_guess"]

# Charset labels mail uses that Python does not know, or supersets that decode what senders really meant.
_CHARSET_ALIASES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "euc-cn"), ("gb18030",)),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "windows-31j"), ("cp932",)),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987"), ("cp949",)),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "big5": ("big5hkscs",),
    "iso-8859-8-i": ("iso-8859-8",),
    "windows-874": ("cp874",),
    "x-mac-roman": ("mac-roman",),
    "iso-10646-ucs-2": ("utf-16-be",),
    "unicode-1-1-utf-7": ("utf-7",),
}
# Labels whose bytes are really windows-1252 in practice (the WHATWG encoding standard does the same).
_LATIN_LABELS = frozenset({"us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252"})
_NOT_TEXT_CODECS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem"})
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Lenient base64: stray characters dropped, chunks split at padding decoded one by one, bad tails cut."""
    decoded = bytearray()
    clean = True
    for chunk in re.split(rb"=+", data):
        letters = re.sub(rb"[^A-Za-z0-9+/]", b"", chunk)
        if len(letters) != len(re.sub(rb"\s", b"", chunk)):
            clean = False
        if len(letters) % 4 == 1:
            letters, clean = letters[:-1], False
        try:
            decoded += binascii.a2b_base64(letters + b"=" * (-len(letters) % 4))
        except binascii.Error:
            clean = False
    return bytes(decoded), clean


def decode_bytes(data: bytes, charset: str | None, problems: list[str]) -> str:
    """Text from bytes in the declared charset; wrong, unknown or missing charsets fall back to UTF-8, then
    windows-1252, with a problem noted."""
    label = re.sub(r"^(?:cp|windows|win)[-_ ]?(125\d)$", r"windows-\1", (charset or "").strip().strip("'\"").lower())
    if (
        data.isascii()
        and b"\x1b" not in data
        and not label.startswith(("utf-16", "utf-32", "utf-7", "ucs", "iso-10646"))
    ):
        return data.decode("ascii")
    if label in _LATIN_LABELS:
        if _UTF8_SEQUENCE.search(data) and _is_utf8(data):
            problems.append(f"text declared as {label} is really UTF-8; decoded as UTF-8")
            return data.decode("utf-8")
        if "ascii" in label:
            problems.append(f"text declared as {label} has 8-bit bytes; decoded as windows-1252")
        return data.decode("cp1252", errors="replace")
    if label:
        try:
            candidates = [codecs.lookup(name).name for name in _CHARSET_ALIASES.get(label, (label,))]
        except LookupError:
            candidates = []
        for codec in candidates:
            if codec in _NOT_TEXT_CODECS or (codec == "utf-7" and not data.isascii()):
                continue
            try:
                return data.decode(codec)
            except (UnicodeDecodeError, LookupError):  # LookupError: a bytes-to-bytes codec such as base64
                continue
        text, used = decode_guess(data)
        reason = f"text is not valid {label}" if candidates else f"unknown charset {label!r}"
        problems.append(f"{reason}; decoded as {used}")
        return text
    if b"\x1b$B" in data or b"\x1b(J" in data:
        try:
            return data.decode("iso2022_jp_ext")
        except UnicodeDecodeError:
            pass
    text, used = decode_guess(data)
    problems.append(f"8-bit text without a declared charset; decoded as {used}")
    return text


def decode_guess(data: bytes) -> tuple[str, str]:
    """UTF-8 when the bytes are (almost all) UTF-8, windows-1252 otherwise."""
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    if bad * 10 < len(_UTF8_SEQUENCE.findall(data)):
        return text, "UTF-8"
    return data.decode("cp1252", errors="replace"), "windows-1252"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
