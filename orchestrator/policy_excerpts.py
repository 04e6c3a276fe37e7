"""The paragraphs of a shop policy that answer a question, quoted whole in the offline engine's replies."""

from __future__ import annotations

import re

from orchestrator.language import detect_language
from orchestrator.offline_router import normalize
from orchestrator.phrasebook import FALLBACK_LANGUAGE
from orchestrator.questions import COUNTRIES, POLICY_TOPICS
from orchestrator.reply_facts import PolicyExcerpt
from support_core.store import Policy

POLICY_EXCERPT = 900
"""Longest policy excerpt quoted in a reply, in characters: whole paragraphs only (a link to the full text follows)."""


def _is_heading(block: str) -> bool:
    return "\n" not in block and len(block) <= 60 and not block.startswith("- ") and block[-1] not in ".:;!?)"


def _countries_in(text: str) -> set[str]:
    named = {name for name in COUNTRIES if re.search(rf"\b{re.escape(name)}\b", text)}
    return named | ({"United Kingdom"} if re.search(r"\bUK\b", text) else set())


def _for_country(paragraphs: list[str], countries: tuple[str, ...]) -> list[str]:
    """Of the lines that name countries, the customer's; a 'rest of the world' line only when none names it."""
    if not countries:
        return paragraphs
    rest = [p for p in paragraphs if re.search(r"(?i)\brest of\b|\bworldwide\b", p)]
    exact = [p for p in paragraphs if _countries_in(p) & set(countries)]
    general = [p for p in paragraphs if not _countries_in(p) and p not in rest]
    chosen = set(general) | set(exact or rest)
    return [p for p in paragraphs if p in chosen]


def _sections(text: str) -> list[tuple[str | None, list[str]]]:
    """A policy as (heading, paragraphs) pairs; bullets are paragraphs of their own."""
    sections: list[tuple[str | None, list[str]]] = []
    for block in (b.strip() for b in re.split(r"\n\s*\n", text)):
        if not block:
            continue
        if _is_heading(block):
            sections.append((block, []))
            continue
        if not sections:
            sections.append((None, []))
        sections[-1][1].extend(_bullets(block))
    return sections


def _bullets(block: str) -> list[str]:
    """A block split into its bullets ('- ' lines, with their continuation lines); a plain paragraph stays whole."""
    items: list[str] = []
    for line in block.splitlines():
        if line.startswith("- ") or not items:
            items.append(line)
        else:
            items[-1] += "\n" + line
    return items


def _about(sections: list[tuple[str | None, list[str]]], pattern: re.Pattern[str]) -> set[str]:
    """The paragraphs about one topic: every paragraph of the sections whose heading names it, or else the single
    paragraphs that mention it ('Refunds' is the section about refunds, not every line that says 'refund')."""
    titled = {p for heading, ps in sections if heading and pattern.search(normalize(heading)) for p in ps}
    return titled or {p for _, paragraphs in sections for p in paragraphs if pattern.search(normalize(p))}


def policy_excerpt(
    policy: Policy, topics: list[str], countries: tuple[str, ...], translation: Policy | None = None
) -> PolicyExcerpt | None:
    """The paragraphs of `policy` about `topics` (under their headings, for the customer's country), whole, at most
    POLICY_EXCERPT characters; None when nothing in it is about them.

    With `translation` (the shop's own published translation of the same policy) the paragraphs are chosen in the
    original, whose words the topic and country rules know, and quoted from the translation at the same places;
    a translation laid out differently (other headings or paragraphs) is not used."""
    sections = _sections(policy.text)
    wanted: set[str] = set()
    for topic in topics:
        if topic in POLICY_TOPICS:
            wanted |= _about(sections, POLICY_TOPICS[topic])
    chosen: list[tuple[int, list[int]]] = []
    size = 0
    for number, (heading, paragraphs) in enumerate(sections):
        picked = _for_country([p for p in paragraphs if p in wanted], countries)
        added = sum(len(line) + 1 for line in ([heading] if heading else []) + picked)
        if not picked or size + added > POLICY_EXCERPT:
            continue
        chosen.append((number, [i for i, p in enumerate(paragraphs) if p in picked]))
        size += added
    if not chosen:
        return None
    source, quoted = policy, sections
    if translation is not None and translation.translated:
        theirs = _sections(translation.text)
        if [(h is None, len(ps)) for h, ps in theirs] == [(h is None, len(ps)) for h, ps in sections]:
            source, quoted = translation, theirs
    blocks = []
    for number, indexes in chosen:
        heading, paragraphs = quoted[number]
        blocks.append("\n".join(([heading] if heading else []) + [paragraphs[i] for i in indexes]))
    text = re.sub(r"(\S+@\S+?|https?://\S+?) \(\1\)", r"\1", "\n\n".join(blocks))  # a link's text and its target
    language = source.language if source.translated and source.language else None
    return PolicyExcerpt(
        policy=source, text=text, language=language or detect_language(policy.text, default=FALLBACK_LANGUAGE)
    )
