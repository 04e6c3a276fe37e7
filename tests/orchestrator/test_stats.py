"""`support-agent stats`: the numbers `Ledger.stats` computes in SQL (the same on SQLite and PostgreSQL, and as
computed by hand), its tables, its `--mailbox` and `--since` flags, and its self-contained HTML page."""

from __future__ import annotations

import argparse
import dataclasses
import html
import io
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psycopg
import pytest

from orchestrator.errors import LedgerError
from orchestrator.ledger import Ledger, Record
from orchestrator.models import CATEGORIES, Verdict
from orchestrator.stats import Stats, parse_period, render_tables
from orchestrator.stats_command import add_stats_parser, run_stats
from orchestrator.stats_html import render_html
from support_testing.clock import HandClock
from tests.orchestrator.test_ledger import START

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HOSTILE = '<script>alert("x")</script> & <img src=https://evil.example/x.png>'


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
    lowered = page.replace(html.escape(HOSTILE), "").lower()  # shown as text, not a reference: checked apart
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    return checker


# --- a ledger filled through its API ---------------------------------------------------------------------------


async def add(
    ledger: Ledger,
    clock: HandClock,
    message_id: str,
    state: str,
    record: Record,
    *,
    mailbox: str = "default",
    elapsed: float = 0.0,
) -> None:
    """One message, seen, claimed and taken to `state` (done with a draft; needs_human by a last failure)."""
    await ledger.record_seen(mailbox, [message_id], [None])
    (claim,) = await ledger.claim(mailbox, "w", limit=1)
    clock.advance(elapsed)
    if state == "needs_human":
        await ledger.fail(claim, error="boom", max_attempts=1, backoff=lambda n: 1.0, record=record)
    elif state == "done":
        await ledger.record_draft(claim, draft_id=f"r-{message_id}", draft_message_id="<x>", record=record)
        await ledger.finish(claim, state="done")
    else:
        await ledger.finish(claim, state=state, record=record)  # type: ignore[arg-type]


def customer(category: Any, engine: Any, *tools: str, **timings: float) -> Record:
    record = Record(verdict=Verdict.PROCESS, reason="customer", category=category, language="en", engine=engine)
    for tool in tools:
        tool, _, error = tool.partition(":")
        record.add_tool(tool, error or None)
    for stage, ms in timings.items():
        record.add_timing(stage, ms)
    return record


async def fill(ledger: Ledger, clock: HandClock) -> None:
    """Eight messages in two mailboxes; the expected numbers are worked out by hand in `check_all`."""
    a = customer("ShippingDelivery", "llm", "lookup_order", "escalate_ticket", agent=100.0)
    a.add_usage(450, 50)
    a.add_usage(450, 50)
    await add(ledger, clock, "a", "done", a)
    b = customer("ShippingDelivery", "llm", "lookup_order:timeout", agent=250.0, fetch=50.0)
    b.add_usage(300, 50)
    await add(ledger, clock, "b", "done", b)
    await add(ledger, clock, "c", "done", customer("PaymentBilling", "offline", "lookup_order", agent=50.0))
    await add(ledger, clock, "d", "done", customer("PaymentBilling", "offline"), elapsed=2.0)  # no timings: 2000 ms
    await add(ledger, clock, "e", "ignored", Record(verdict=Verdict.IGNORE, reason=HOSTILE))
    alert = Record(verdict=Verdict.INTERNAL_ALERT, reason="sender:partner")
    alert.add_tool("escalate_ticket")
    await add(ledger, clock, "f", "alerted", alert)
    broken = Record()
    broken.add_tool(HOSTILE, "boom")
    await add(ledger, clock, "g", "needs_human", broken)
    h = customer("ProductInfoAvailability", "offline", agent=40.0)
    await add(ledger, clock, "h", "done", h, mailbox="aurora")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def filled(location: str) -> AsyncIterator[Ledger]:
    clock = HandClock(START)
    clock.now = time.time() - 3600  # an hour ago: inside `--since 24h`
    async with Ledger(location, clock=clock) as ledger:
        await fill(ledger, clock)
        yield ledger


def check_all(stats: Stats) -> None:
    assert stats.total == 8 and stats.mailboxes == ("aurora", "default")
    assert dict(stats.states) == {
        "new": 0, "claimed": 0, "drafted": 0, "done": 5, "ignored": 1, "alerted": 1, "failed": 0, "needs_human": 1
    }  # fmt: skip
    assert dict(stats.verdicts) == {"PROCESS": 5, "IGNORE": 1, "INTERNAL_ALERT": 1, "(none yet)": 1}
    assert stats.top_reasons == (("customer", 5), (HOSTILE, 1), ("sender:partner", 1))
    assert (stats.processed, stats.drafted, stats.escalated, stats.alerts_escalated) == (5, 5, 1, 1)
    assert stats.escalation_rate == pytest.approx(1 / 5)
    assert [(t.tool, t.calls, t.errors) for t in stats.tools] == [
        ("lookup_order", 3, 1),
        ("escalate_ticket", 2, 0),
        (HOSTILE, 1, 1),
    ]
    assert stats.tool_errors == 2 and stats.tools[0].error_rate == pytest.approx(1 / 3)
    assert dict(stats.engines) == {"offline": 3, "llm": 2}
    assert stats.offline_share == pytest.approx(3 / 5)
    assert (stats.llm_messages, stats.tokens_prompt, stats.tokens_completion) == (2, 1200, 150)
    assert stats.avg_tokens_prompt == 600 and stats.avg_tokens_completion == 75
    assert stats.needs_human == 1
    by_category = {c.category: c for c in stats.categories}
    assert list(by_category) == list(CATEGORIES)
    assert {name: (c.count, c.drafted) for name, c in by_category.items() if c.count} == {
        "ShippingDelivery": (2, 2),
        "PaymentBilling": (2, 2),
        "ProductInfoAvailability": (1, 1),
    }
    shipping, payment = by_category["ShippingDelivery"], by_category["PaymentBilling"]
    assert shipping.avg_ms == pytest.approx(200.0) and shipping.p95_ms == 300.0
    assert payment.avg_ms == pytest.approx(1025.0, abs=0.01) and payment.p95_ms == pytest.approx(2000.0, abs=0.01)
    assert (by_category["ProductInfoAvailability"].avg_ms, by_category["ProductInfoAvailability"].p95_ms) == (
        40.0,
        40.0,
    )
    assert all(c.avg_ms is None and c.p95_ms is None for c in stats.categories if not c.drafted)


async def test_numbers_match_the_hand_computed_ones(filled: Ledger) -> None:
    check_all(await filled.stats())
    aurora = await filled.stats(mailbox="aurora")
    assert (aurora.total, aurora.drafted, aurora.mailboxes, aurora.tools) == (1, 1, ("aurora",), ())
    assert dict(aurora.engines) == {"offline": 1, "llm": 0} and aurora.escalation_rate == 0.0
    default = await filled.stats(mailbox="default")
    assert default.total == 7 and default.drafted == 4 and default.mailboxes == ("default",)
    nobody = await filled.stats(mailbox="nobody")
    assert (nobody.total, nobody.escalation_rate, nobody.tools, nobody.mailboxes) == (0, None, (), ("nobody",))
    assert sum(nobody.states.values()) == 0 and dict(nobody.verdicts) == {
        "PROCESS": 0,
        "IGNORE": 0,
        "INTERNAL_ALERT": 0,
    }
    future = await filled.stats(datetime.now(UTC) + timedelta(days=1))
    assert future.total == 0 and future.mailboxes == ()
    with pytest.raises(ValueError, match="timezone-aware"):
        await filled.stats(datetime(2026, 1, 1))  # naive: the mistake under test


def comparable(stats: Stats) -> dict[str, Any]:
    """The numbers with every average rounded: the two databases may sum floats in a different order."""
    fields = {field.name: getattr(stats, field.name) for field in dataclasses.fields(stats)}
    fields["categories"] = [
        (c.category, c.count, c.drafted, None if c.avg_ms is None else round(c.avg_ms, 6), c.p95_ms)
        for c in stats.categories
    ]
    return fields | {"states": dict(stats.states), "verdicts": dict(stats.verdicts), "engines": dict(stats.engines)}


async def test_both_databases_give_the_same_numbers(tmp_path: Path, postgres_url: str) -> None:
    results = []
    for location in (str(tmp_path / "ledger.sqlite3"), postgres_url):
        clock = HandClock(START)
        async with Ledger(location, clock=clock) as ledger:
            await fill(ledger, clock)
            for name in range(40):  # p95 of 1..40 ms is the 38th value (nearest rank: ceil(0.95 * 40) = 38)
                record = customer("TechnicalIssues", "llm", agent=name + 1.0)
                await add(ledger, clock, f"p{name}", "done", record, elapsed=1.0)
            since = datetime.fromtimestamp(clock.now - 0.5, UTC)
            results.append([await ledger.stats(), await ledger.stats(mailbox="default"), await ledger.stats(since)])
    sqlite_stats, postgres_stats = results
    assert [comparable(s) for s in sqlite_stats] == [comparable(s) for s in postgres_stats]
    technical = next(c for c in sqlite_stats[0].categories if c.category == "TechnicalIssues")
    assert (technical.count, technical.drafted, technical.avg_ms, technical.p95_ms) == (40, 40, 20.5, 38.0)
    assert sqlite_stats[2].total == 1  # only the last message was updated in the last half second


# --- the command -----------------------------------------------------------------------------------------------


async def test_stats_command_prints_tables_and_writes_the_page(filled: Ledger, location: str, tmp_path: Path) -> None:
    out = io.StringIO()
    page_path = tmp_path / "report" / "stats.html"
    page_path.parent.mkdir()
    assert await run_stats(stats_args("--since", "30d", "--html", str(page_path)), location, out) == 0
    text = out.getvalue()
    assert "8 messages, since " in text and "mailboxes: aurora, default" in text
    for heading in ("Messages by state", "Gatekeeper verdicts", "Categories", "Tools", "Drafts by engine", "Summary"):
        assert heading in text
    assert "escalation rate (customer messages)" in text and "20.0% (1 of 5)" in text
    assert "offline-engine share of drafts" in text and "60.0%" in text
    assert "needs_human" in text and "600 prompt + 75 completion" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("category "))
    rows = lines[header : header + 2 + len(CATEGORIES)]
    assert len({len(line) for line in rows[:2]}) == 1, rows  # header and rule are as wide as each other
    assert f"HTML report written to {page_path}" in text

    page = page_path.read_text(encoding="utf-8")
    checker = check_page(page)
    assert checker.tags["svg"] >= 1 and checker.tags["table"] >= 6
    assert "ProductInfoAvailability" in "".join(checker.text)

    out = io.StringIO()
    assert await run_stats(stats_args("--since", "all", "--mailbox", "aurora"), location, out) == 0
    assert "1 messages, all time" in out.getvalue() and "mailboxes: aurora\n" in out.getvalue()


async def test_period_filter_and_default(filled: Ledger, location: str) -> None:
    out = io.StringIO()
    assert await run_stats(stats_args("--since", "all"), location, out) == 0
    assert "8 messages, all time" in out.getvalue()
    out = io.StringIO()
    assert await run_stats(stats_args(), location, out) == 0  # the default, 7d
    assert "8 messages, since " in out.getvalue()

    future = parse_period("7d", now=datetime.now(UTC) + timedelta(days=30))
    stats = await filled.stats(future)
    text = render_tables(stats)
    assert text.lower().startswith("no messages in this period") and "--since all" in text
    check_page(render_html(stats, title="empty", generated_at=NOW))


async def test_a_missing_ledger_is_a_readable_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        await run_stats(stats_args(), tmp_path / "nope.sqlite3", io.StringIO())
    assert not (tmp_path / "nope.sqlite3").exists()


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
    args = stats_args()
    assert (args.since, args.html, args.mailbox) == ("7d", None, None)
    assert stats_args("--mailbox", "aurora").mailbox == "aurora"


def rename_category(location: str, old: str, new: str) -> None:
    """What an older or hand-edited ledger may hold: a category this release does not know."""
    sql = f"UPDATE messages SET category = '{new}' WHERE category = '{old}'"
    if location.startswith("postgresql"):
        with psycopg.connect(location, autocommit=True) as pg:
            pg.execute(sql.encode())
    else:
        with sqlite3.connect(location) as conn:
            conn.execute(sql)


async def test_hostile_strings_are_shown_as_text(filled: Ledger, location: str) -> None:
    rename_category(location, "ProductInfoAvailability", "Evil<b>Category</b>")
    stats = await filled.stats()
    assert stats.categories[-1].category == "Evil<b>Category</b>" and len(stats.categories) == len(CATEGORIES) + 1
    assert (HOSTILE, 1) in stats.top_reasons
    with pytest.raises(AttributeError):
        stats.total = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        stats.states["done"] = 9  # type: ignore[index]

    page = render_html(stats, title="stats <for> you", generated_at=NOW)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "Evil&lt;b&gt;Category&lt;/b&gt;" in page and "stats &lt;for&gt; you" in page
    parsed = Checker()
    parsed.feed(page)
    parsed.close()
    assert not parsed.stack and parsed.tags["script"] == 0 and parsed.tags["img"] == 0 and parsed.tags["b"] == 0
    assert not parsed.problems  # the hostile text made no tag and no resource reference
    assert HOSTILE in "".join(parsed.text)  # shown as text, verbatim
    assert Counter(parsed.text)  # the page has text at all
