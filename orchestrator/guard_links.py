"""Links in a draft, for the draft guard: every form a reader can follow, and whether a host is one of the shop's.

A link is anything with a scheme (`https://`, `ftp://`), anything starting `www.`, a bare IPv4 or IPv6 address
(`203.0.113.5/login`, `[2001:db8::5]/login`), and a bare host under a public suffix (`evil.com/login`,
`aurora-activewear.support/verify`, `магазин.рф`). Public suffixes come from the Public Suffix List that
`orchestrator.domains` loads (bundled, offline), asked without its "unknown suffixes are public" default so that
`readme.txt` or `e.g.` are not hosts; the reserved names `.example`, `.test`, `.invalid`, `.localhost`, `.local`,
`.onion` and `.internal` count too.

Hosts are compared in their ASCII (IDNA) form, so `aurora-activewear.example` written with a Cyrillic `a`
(U+0430) is another host (`xn--urora-activewear-sdn.example`), and a host whose label mixes scripts (Latin with
Cyrillic or Greek ...) is never allowed. An authority with user info, a backslash, a percent sign or a port other
than 80 and 443 is "tricky": never allowed as one of the shop's links (a URL a tool returned may have a port, but
never user info, a backslash or a percent sign).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from orchestrator.domains import _suffix_list, first_match

__all__ = ["find_links", "on_domains", "readable_host", "split_host"]

_STOP = "\\s<>\"'`"
_PATH = rf"(?:[/:?#\\][^{_STOP}]*)?"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_DOT = r"(?:\.|(?<=[a-z0-9])\u3002(?=[a-z0-9]))"  # an ideographic full stop between ASCII labels: browsers read `.`
_OCTET = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_LINK = re.compile(
    rf"(?i)(?P<url>\b[a-z][a-z0-9+.-]{{1,20}}://[^{_STOP}]+|\bwww\.[^{_STOP}]+)"
    rf"|(?P<ip>(?:(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)"
    rf"|\[[0-9a-f:.]{{2,45}}\]"
    rf"|(?<![\w:.])(?=[0-9a-f:]*[0-9a-f])[0-9a-f]{{0,4}}(?::[0-9a-f]{{0,4}}){{2,7}}(?![\w:])){_PATH})"
    rf"|(?<![\w@.-])-*(?P<host>{_LABEL}(?:{_DOT}{_LABEL})+)(?![\w@-]|\.[^\W_])(?P<path>{_PATH})"
)
_RESERVED = frozenset({"example", "test", "invalid", "localhost", "local", "onion", "internal"})
"""Special-use names (RFC 2606, 6761, 6762, 7686) that are not in the Public Suffix List but are hosts all the same."""
_TRAILING = ".,;:!?)]}'\""
_SCRIPT_GROUPS = {"CJK": "HAN", "HIRAGANA": "HAN", "KATAKANA": "HAN", "HANGUL": "HAN", "BOPOMOFO": "HAN"}
_DEFAULT_PORTS = ("", "80", "443")


def find_links(text: str) -> list[tuple[int, int, str]]:
    """(start, end, link without trailing punctuation) of every link in `text` (already `visible_text`), in order."""
    found: list[tuple[int, int, str]] = []
    position = 0
    while (match := _LINK.search(text, position)) is not None:
        host = match.group("host")
        if host is not None and not _public_host(host.replace("\u3002", ".").lower()):
            position = match.end("host")  # not a host (`readme.txt`); what follows may still be a link
            continue
        if match.group("ip") is not None and not _ip_literal(match.group("ip")):
            position = match.start() + 1
            continue
        start = match.start() if host is None else match.start("host")
        cleaned = text[start : match.end()].rstrip(_TRAILING)
        found.append((start, start + len(cleaned), cleaned))
        position = match.end()
    return found


def split_host(url: str) -> tuple[str, bool, bool]:
    """(host as a browser reads it, lower-case; whether the authority is tricky: user info, a backslash or a
    percent sign; whether it names a port other than 80 and 443)."""
    after = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#\\]", after, maxsplit=1)[0]
    tricky = "\\" in after[: len(authority) + 1] or "@" in authority or "%" in authority
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        host, _, rest = host_port[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    elif host_port.count(":") > 1:  # an IPv6 address written without brackets
        host, port = host_port, ""
    else:
        host, _, port = host_port.partition(":")
    return host.replace("\u3002", ".").lower().rstrip("."), tricky, port not in _DEFAULT_PORTS


def readable_host(host: str) -> bool:
    """Whether `host` may be allowed at all: a name (not an IP address) with an ASCII form, no label mixing scripts."""
    return not _ip_literal(host) and _ascii_host(host) is not None and not _mixed_script(host)


def on_domains(host: str, domains: Iterable[str]) -> bool:
    """`host` is one of `domains` or a subdomain with the same owner, compared in ASCII (IDNA) form."""
    ascii_host = _ascii_host(host)
    entries = [entry for entry in map(_ascii_host, domains) if entry]
    return ascii_host is not None and first_match(ascii_host, entries) is not None


def _ip_literal(value: str) -> bool:
    candidate = re.split(r"[/?#\\]", value, maxsplit=1)[0]
    if candidate.startswith("["):
        candidate = candidate[1:].partition("]")[0]
    elif candidate.count(":") == 1:
        candidate = candidate.partition(":")[0]  # IPv4 with a port
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _public_host(host: str) -> bool:
    """A host name under a known public suffix (a registrable name, not the suffix alone) or a reserved name."""
    labels = host.rstrip(".").split(".")
    if labels[-1] in _RESERVED:
        return len(labels) > 1
    return _suffix_list().privatesuffix(host, accept_unknown=False) is not None


@lru_cache(maxsize=4096)
def _ascii_host(host: str) -> str | None:
    try:
        return host.encode("idna").decode("ascii").lower() if host else None
    except UnicodeError:
        return None


@lru_cache(maxsize=4096)
def _mixed_script(host: str) -> bool:
    """A label that mixes scripts (`aurora` with a Cyrillic U+0430 for its `a`); Han, kana and Hangul count as one
    script that may join Latin (Japanese and Korean names do). Labels in `xn--` form are read decoded."""
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                return True
        if label.isascii():
            continue
        words = (unicodedata.name(c, "UNKNOWN").split(" ", 1)[0] for c in label if c.isalpha())
        scripts = {_SCRIPT_GROUPS.get(word, word) for word in words}
        if len(scripts - {"HAN"}) > 1 or ("HAN" in scripts and scripts - {"HAN", "LATIN"}):
            return True
    return False
