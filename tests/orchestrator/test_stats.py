"""`support-agent stats` on a ledger filled by a real demo run, its tables and its self-contained HTML page."""

from __future__ import annotations

import argparse
import io
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestrator.errors import LedgerError
from orchestrator.inbox_demo import run_inbox_demo
from orchestrator.ledger import Ledger, LedgerEntry
from orchestrator.models import CATEGORIES, Verdict
from orchestrator.pipeline import Outcome
from orchestrator.stats import compute, p95, parse_period, render_tables, time_to_draft_ms
from orchestrator.stats_command import add_stats_parser, run_stats
from orchestrator.stats_html import render_html

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class Demo:
    folder: Path
    ledger: Path
    outcomes: list[Outcome]
    entries: list[LedgerEntry]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("stats") / "demo"
    outcomes = await run_inbox_demo(folder, io.StringIO())
    async with Ledger(folder / "ledger.sqlite3") as ledger:
        entries = await ledger.entries()
    return Demo(folder, folder / "ledger.sqlite3", outcomes, entries)


def stats_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="support-agent")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    add_stats_parser(commands.add_parser, common)
    return parser.parse_args(["stats", *argv])


class Checker(HTMLParser):
    """Records every tag and every problem: an unclosed, stray or misnested tag, or an outside resource."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: Counter[str] = Counter()
        self.problems: list[str] = []
        self.doctype = False
        self.text: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if self.stack:
            self.tags[f"{self.stack[-1]}>{tag}"] += 1
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action") or (value and "url(" in value):
                self.problems.append(f"<{tag} {name}={value!r}>: a resource reference")
        if tag in ("script", "link", "img", "iframe", "object", "embed"):
            self.problems.append(f"<{tag}>: the page must not load or run anything")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag not in VOID and tag not in ("rect", "line", "path", "circle"):
            self.problems.append(f"<{tag}/>: self-closed")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"</{tag}>: a void element has no end tag")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> while {self.stack[-1:]} is open")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_page(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.doctype, "no <!DOCTYPE html>"
    assert not checker.problems, checker.problems
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    for tag in ("html", "head", "body", "head>title", "head>style"):
        assert checker.tags[tag] == 1, tag
    assert checker.tags["meta"] >= 1
    lowered = page.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    return checker


def entry(message_id: str, **fields: object) -> LedgerEntry:
    base: dict[str, object] = {
        "message_id": message_id,
        "thread_id": None,
        "state": "done",
        "attempts": 1,
        "claimed_by": None,
        "lease_until": None,
        "next_attempt_at": None,
        "verdict": Verdict.PROCESS,
        "reason": "customer",
        "category": "ShippingDelivery",
        "language": "en",
        "confidence": 0.9,
        "engine": "offline",
        "tools": (),
        "tool_errors": (),
        "timings": {},
        "tokens_prompt": 0,
        "tokens_completion": 0,
        "llm_calls": 0,
        "error": None,
        "draft_id": f"d-{message_id}",
        "draft_message_id": None,
        "first_seen_at": NOW,
        "updated_at": NOW,
        "finished_at": NOW + timedelta(seconds=2),
    }
    return LedgerEntry(**(base | fields))  # type: ignore[arg-type]


# --- on a real demo run ----------------------------------------------------------------------------------------


async def test_numbers_match_the_demo_ledger(demo: Demo) -> None:
    stats = compute(demo.entries)
    drafted = [e for e in demo.entries if e.draft_id]
    assert stats.total == len(demo.entries) == 22
    assert stats.drafted == len(drafted) == 14 == sum(1 for o in demo.outcomes if o.draft_id)
    assert stats.states["done"] == 14 and stats.states["needs_human"] == 0
    assert sum(stats.states.values()) == 22
    assert dict(stats.verdicts) == {
        "PROCESS": sum(1 for e in demo.entries if e.verdict == Verdict.PROCESS),
        "IGNORE": sum(1 for e in demo.entries if e.verdict == Verdict.IGNORE),
        "INTERNAL_ALERT": sum(1 for e in demo.entries if e.verdict == Verdict.INTERNAL_ALERT),
    }
    assert stats.verdicts["PROCESS"] == stats.processed == 14
    assert stats.verdicts["INTERNAL_ALERT"] == 1 and stats.verdicts["IGNORE"] == 7
    reasons = Counter(e.reason for e in demo.entries if e.reason)
    assert stats.top_reasons[0] == reasons.most_common(1)[0] == ("customer", 13)
    assert len(stats.top_reasons) == 5 and all(reasons[r] == n for r, n in stats.top_reasons)

    by_category = {c.category: c for c in stats.categories}
    assert list(by_category)[: len(CATEGORIES)] == list(CATEGORIES)
    expected = Counter(e.category for e in drafted)
    assert {name: c.drafted for name, c in by_category.items() if c.drafted} == dict(expected)
    assert {name: c.count for name, c in by_category.items() if c.count} == dict(expected)
    assert sum(c.count for c in stats.categories) == 14
    for c in stats.categories:
        if c.drafted:
            assert c.avg_ms is not None and c.p95_ms is not None
            assert c.p95_ms >= c.avg_ms > 0
            times = [time_to_draft_ms(e) for e in drafted if e.category == c.category]
            assert c.avg_ms == pytest.approx(sum(t or 0 for t in times) / len(times))
        else:
            assert c.avg_ms is None and c.p95_ms is None

    escalated = [e for e in drafted if "escalate_ticket" in e.tools]
    # Søren's handover and Camille's checkout error open tickets; the others are answered from the store.
    assert stats.escalated == len(escalated) == 2
    assert stats.escalation_rate == pytest.approx(2 / 14)
    # The ledger has no tool calls for the internal alert (the pipeline records its ticket only in the Outcome).
    alerts = [e for e in demo.entries if e.verdict != Verdict.PROCESS and "escalate_ticket" in e.tools]
    assert stats.alerts_escalated == len(alerts)
    calls = Counter(tool for e in demo.entries for tool in e.tools)
    assert {t.tool: t.calls for t in stats.tools} == dict(calls)
    assert stats.tool_errors == sum(len(e.tool_errors) for e in demo.entries)
    assert dict(stats.engines) == {"offline": 14, "llm": 0}
    assert stats.offline_share == 1.0
    assert stats.llm_messages == 0 and stats.avg_tokens_prompt is None


async def test_stats_command_prints_tables_and_writes_the_page(demo: Demo, tmp_path: Path) -> None:
    out = io.StringIO()
    page_path = tmp_path / "report" / "stats.html"
    page_path.parent.mkdir()
    assert await run_stats(stats_args("--since", "30d", "--html", str(page_path)), demo.ledger, out) == 0
    text = out.getvalue()
    assert "22 messages, since " in text
    for heading in ("Messages by state", "Gatekeeper verdicts", "Categories", "Tools", "Drafts by engine", "Summary"):
        assert heading in text
    assert "escalation rate (customer messages)" in text and "14.3% (2 of 14)" in text
    assert "offline-engine share of drafts" in text and "100.0%" in text
    assert "needs_human" in text and "no LLM calls" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("category "))
    rows = lines[header : header + 2 + len(CATEGORIES)]
    assert len({len(line) for line in rows[:2]}) == 1, rows  # header and rule are as wide as each other
    assert f"HTML report written to {page_path}" in text

    page = page_path.read_text(encoding="utf-8")
    checker = check_page(page)
    assert checker.tags["svg"] == 5 and checker.tags["table"] >= 6
    assert "<svg" in page and "<title>" in page
    assert "ProductInfoAvailability" in "".join(checker.text)


async def test_period_filter(demo: Demo) -> None:
    future = parse_period("7d", now=datetime.now(UTC) + timedelta(days=30))
    async with Ledger(demo.ledger) as ledger:
        assert await ledger.entries(future) == []
        assert len(await ledger.entries(parse_period("24h"))) == 22
    stats = compute([], since=future)
    text = render_tables(stats)
    assert text.lower().startswith("no messages in this period") and "--since all" in text
    check_page(render_html(stats, title="empty", generated_at=NOW))

    out = io.StringIO()
    assert await run_stats(stats_args("--since", "all"), demo.ledger, out) == 0
    assert "22 messages, all time" in out.getvalue()
    assert await run_stats(stats_args(), demo.ledger, out) == 0  # the default, 7d


async def test_a_missing_ledger_is_a_readable_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        await run_stats(stats_args(), tmp_path / "nope.sqlite3", io.StringIO())
    assert not (tmp_path / "nope.sqlite3").exists()


# --- units -----------------------------------------------------------------------------------------------------


def test_parse_period() -> None:
    assert parse_period("all") is None
    assert parse_period("24h", now=NOW) == NOW - timedelta(hours=24)
    assert parse_period("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_period(" 30D ", now=NOW) == NOW - timedelta(days=30)
    assert parse_period("2w", now=NOW) == NOW - timedelta(weeks=2)
    for bad in ("", "7", "d", "-1d", "7 days", "1y"):
        with pytest.raises(ValueError, match="period"):
            parse_period(bad)
    with pytest.raises(SystemExit):
        stats_args("--since", "yesterday")
    assert stats_args().since == "7d" and stats_args().html is None


def test_time_to_draft_and_p95() -> None:
    assert time_to_draft_ms(entry("a", timings={"fetch": 10.0, "agent": 25.5})) == 35.5
    assert time_to_draft_ms(entry("b")) == pytest.approx(2000.0)  # no timings: finished_at - first_seen_at
    assert time_to_draft_ms(entry("c", finished_at=None)) is None
    assert p95([]) is None and p95([3.0]) == 3.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([1.0, 2.0, 30.0]) == 30.0


def test_hand_built_entries_with_llm_tools_errors_and_hostile_strings() -> None:
    hostile = '<script>alert("x")</script> & <img src=https://evil.example/x.png>'
    entries = [
        entry("1", engine="llm", tools=("lookup_order", "escalate_ticket"), llm_calls=2, tokens_prompt=900,
              tokens_completion=100, timings={"agent": 100.0}),
        entry("2", engine="llm", tools=("lookup_order",), tool_errors=(("lookup_order", "timeout"),), llm_calls=1,
              tokens_prompt=300, tokens_completion=50, timings={"agent": 300.0}),
        entry("3", category="Evil<b>Category</b>", tools=("lookup_order",), timings={"agent": 50.0}),
        entry("4", verdict=Verdict.IGNORE, reason=hostile, category=None, engine=None, draft_id=None, state="ignored"),
        entry("5", verdict=None, reason=None, category=None, engine=None, draft_id=None, state="needs_human",
              tools=(hostile,), tool_errors=((hostile, "boom"),)),
    ]  # fmt: skip
    stats = compute(entries)
    assert stats.total == 5 and stats.processed == 3 and stats.drafted == 3 and stats.needs_human == 1
    assert stats.verdicts == {"PROCESS": 3, "IGNORE": 1, "INTERNAL_ALERT": 0, "(none yet)": 1}
    assert stats.escalated == 1 and stats.escalation_rate == pytest.approx(1 / 3)
    assert dict(stats.engines) == {"offline": 1, "llm": 2}
    assert stats.offline_share == pytest.approx(1 / 3)
    assert stats.llm_messages == 2
    assert stats.avg_tokens_prompt == 600 and stats.avg_tokens_completion == 75
    lookup = next(t for t in stats.tools if t.tool == "lookup_order")
    assert (lookup.calls, lookup.errors, lookup.error_rate) == (3, 1, pytest.approx(1 / 3))
    shipping = next(c for c in stats.categories if c.category == "ShippingDelivery")
    assert (shipping.count, shipping.avg_ms, shipping.p95_ms) == (2, 200.0, 300.0)
    assert stats.categories[-1].category == "Evil<b>Category</b>"
    assert (hostile, 1) in stats.top_reasons
    with pytest.raises(AttributeError):
        stats.total = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        stats.states["done"] = 9  # type: ignore[index]

    tables = render_tables(stats)
    assert "600 prompt + 75 completion" in tables and "33.3% (1 of 3)" in tables

    page = render_html(stats, title="stats <for> you", generated_at=NOW)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "Evil&lt;b&gt;Category&lt;/b&gt;" in page and "stats &lt;for&gt; you" in page
    parsed = Checker()
    parsed.feed(page)
    parsed.close()
    assert not parsed.stack and parsed.tags["script"] == 0 and parsed.tags["img"] == 0 and parsed.tags["b"] == 0
    assert not parsed.problems  # the hostile text made no tag and no resource reference
    assert hostile in "".join(parsed.text)  # shown as text, verbatim
