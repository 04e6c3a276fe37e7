"""Benchmark 7: how the cost of one message grows with load and data (mailbox size, thread length, order count).

Each point is the real daemon at concurrency 1 over the loopback emulators, as in benchmark 3 (peers in this
process, real gmail-mcp and shopify-mcp over stdio, LLM emulator at 0 ms), so each emulator's request-log entries
between a message's start and end belong to that message.
"""

from __future__ import annotations

import copy
import gc
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bench.budget import SETUP_METHODS
from bench.harness import AgentRun, Peers, generated_mail, run_agent, serve_peers
from bench.report import Section
from gmail_mcp.sandbox_mailbox import sandbox_files
from orchestrator.daemon import DEFAULT_MAILBOX
from orchestrator.ledger import Ledger
from shopify_mcp.emulator import Store, build_store, load_sandbox_store
from support_testing.gmail_emulator import DEFAULT_ADDRESS

Mail = list[tuple[bytes, bool]]
"""(raw, is_sent) in delivery order, as `generated_mail` returns it."""

MAILBOX_SIZES = {False: (100, 1000), True: (100, 300)}
"""(small, large) generated mailbox per run kind (quick: True)."""
THREAD_LENGTH = 10
THREAD_COPIES = {False: 3, True: 1}
"""Copies of each sandbox customer message (fresh Message-IDs), each copy the newest of its own long thread."""
ORDER_COUNT = 100
ORDER_MESSAGES = {False: 24, True: 8}
ORDERS_CUSTOMER = "soren.jorgensen@example.org"
"""A sandbox customer with exactly one order (#1028), English."""
NEXT_ORDER_NUMBER = 5001
FLAT_RATIO = 1.2
"""Largest 'flat' ratio of a per-message cost between the two mailbox sizes (the CPU figures vary ±20%)."""
GROWTH_PER_MESSAGE = 5
_REPLY_PREFIX = re.compile(r"^(re:\s*)+", re.IGNORECASE)


@dataclass
class Point:
    """One measured point of a curve: means per message (processed, or of any kind where the name says so)."""

    curve: str
    label: str
    messages: int
    processed: int
    gmail_processed: float
    gmail_any: float
    shopify_requests: float
    requested_cost: float
    actual_cost: float
    throttled: int
    cpu_self_ms: float
    cpu_servers_ms: float
    wall: float

    def row(self) -> list[object]:
        return [
            self.curve,
            self.label,
            f"{self.messages:,} ({self.processed:,})",
            self.gmail_processed,
            self.gmail_any,
            self.shopify_requests,
            f"{self.requested_cost:.0f} / {self.actual_cost:.0f}",
            self.cpu_self_ms,
            self.cpu_servers_ms,
            self.wall,
        ]

    def shopify(self) -> str:
        return f"{self.shopify_requests:.2f} requests, {self.requested_cost:.0f} / {self.actual_cost:.0f}"


def _point(curve: str, label: str, peers: Peers, run: AgentRun) -> Point:
    """Per-message means from the emulators' request logs, sliced by each message's marks."""
    processed_units: list[int] = []
    any_units = run.poll_units
    shopify: list[Any] = []
    for m in run.metrics:
        start, end = m.marks["gmail"]
        units = sum(r.units for r in peers.gmail.requests[start:end] if r.method not in SETUP_METHODS)
        any_units += units
        if m.kind[0] != "PROCESS":
            continue
        processed_units.append(units)
        start, end = m.marks["shopify"]
        shopify += [r for r in peers.shopify.requests[start:end] if r.operation is not None]
    n, done = len(run.metrics), len(processed_units)
    per_done = 1 / max(1, done)
    return Point(
        curve=curve,
        label=label,
        messages=n,
        processed=done,
        gmail_processed=sum(processed_units) * per_done,
        gmail_any=any_units / max(1, n),
        shopify_requests=len(shopify) * per_done,
        requested_cost=sum(r.requested_cost or 0 for r in shopify) * per_done,
        actual_cost=sum(r.actual_cost or 0 for r in shopify) * per_done,
        throttled=sum(1 for r in shopify if r.throttled),
        cpu_self_ms=1000 * run.cpu_self / max(1, n),
        cpu_servers_ms=1000 * run.cpu_children / max(1, n),
        wall=run.wall,
    )


async def _measure(curve: str, label: str, earlier: Mail, new: Mail, store: Store | None = None) -> Point:
    """Deliver `earlier` (already read: history the daemon has seen), start the daemon's cursor there, deliver
    `new` (unread), and run the daemon once over it.

    Starting from a cursor (history.list), as a daemon that is already running does, instead of the first poll's
    full sync (which lists at most one page of recent inbox mail) lets every point read all of its new mail."""
    async with serve_peers([], latency=0.0, store=store, bottomless=True) as peers:
        for raw, sent in earlier:
            peers.gmail.deliver(raw, labels=("SENT",) if sent else ("INBOX",))
        cursor = peers.gmail.history_id
        for raw, sent in new:
            peers.gmail.deliver(raw, labels=("SENT",) if sent else ("INBOX", "UNREAD"))
        with tempfile.TemporaryDirectory(prefix="bench-cost-curve-") as tmp:
            async with Ledger(Path(tmp) / "ledger.sqlite3") as ledger:
                await ledger.set_cursor(DEFAULT_MAILBOX, str(cursor))
            gc.collect()  # a previous point's garbage is not this one's cost
            run = await run_agent(Path(tmp), peers.urls(), concurrency=1, peers=peers)
        return _point(curve, label, peers, run)


# --- curve 2: thread length ----------------------------------------------------------------------------------------


def _customer_messages() -> list[bytes]:
    """Sandbox inbox mail from customers who have orders (auto-replies left out), as delivered."""
    data = _sandbox_store_data()
    ids = {order["customer_id"] for order in data["orders"]}
    customers = {c["email"].casefold() for c in data["customers"] if c["id"] in ids}
    parser = BytesHeaderParser(policy=default_policy)
    found: list[bytes] = []
    for path in sandbox_files()[0]:
        raw = path.read_bytes()
        head = parser.parsebytes(raw)
        sender = head["From"].addresses[0].addr_spec.casefold() if head["From"] else ""
        if sender in customers and str(head.get("Auto-Submitted", "no")).lower() == "no":
            found.append(raw)
    return found


def _rethread(raw: bytes, message_id: str, references: Sequence[str]) -> bytes:
    """`raw` as the message `message_id`, its In-Reply-To/References replaced by `references` (the last is the
    parent) or, when empty, removed."""
    end = raw.find(b"\n\n")
    lines = raw[:end].split(b"\n")
    kept: list[bytes] = []
    dropping = False
    for line in lines:
        if line[:1] not in (b" ", b"\t"):
            dropping = line.split(b":", 1)[0].strip().lower() in (b"message-id", b"in-reply-to", b"references")
        if not dropping:
            kept.append(line)
    kept.insert(0, f"Message-ID: {message_id}".encode())
    if references:
        kept.insert(0, f"References: {' '.join(references)}".encode())
        kept.insert(0, f"In-Reply-To: {references[-1]}".encode())
    return b"\n".join(kept) + raw[end:]


def _thread_before(raw: bytes, index: int, shop: str) -> tuple[Mail, list[str]]:
    """`THREAD_LENGTH - 1` earlier messages for the thread of `raw`: the shop's opening message, then the customer
    and the shop alternately (so `raw` answers the shop), same subject, each replying to the one before it."""
    head = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    customer, subject = str(head["From"]), _REPLY_PREFIX.sub("", str(head["Subject"]))
    newest = parsedate_to_datetime(str(head["Date"])) if head["Date"] else datetime.now().astimezone()
    earlier: Mail = []
    ids: list[str] = []
    count = THREAD_LENGTH - 1
    for k in range(count):
        from_shop = k % 2 == 0
        message = EmailMessage()
        message["From"] = f"Aurora Activewear <{shop}>" if from_shop else customer
        message["To"] = customer if from_shop else shop
        message["Subject"] = subject if k == 0 else f"Re: {subject}"
        message["Date"] = format_datetime(newest - timedelta(hours=12 * (count - k)))
        message_id = f"<cost-curve.t{index}.m{k}@{'shop' if from_shop else 'customer'}.example>"
        message["Message-ID"] = message_id
        if ids:
            message["In-Reply-To"] = ids[-1]
            message["References"] = " ".join(ids)
        text = (
            f"Hello,\n\nthank you for your message; here is an update ({k // 2 + 1}).\n\nAurora Activewear\n"
            if from_shop
            else f"Hello,\n\none more question about this, please ({k // 2}).\n\nThanks\n"
        )
        message.set_content(text)
        earlier.append((message.as_bytes(), from_shop))
        ids.append(message_id)
    return earlier, ids


async def _thread_points(quick: bool) -> tuple[Point, Point]:
    news = _customer_messages() * THREAD_COPIES[quick]
    alone: Mail = []
    earlier: Mail = []
    threaded: Mail = []
    for index, raw in enumerate(news):
        alone.append((_rethread(raw, f"<cost-curve.t{index}.alone@customer.example>", []), False))
        before, ids = _thread_before(raw, index, DEFAULT_ADDRESS)
        earlier += before
        threaded.append((_rethread(raw, f"<cost-curve.t{index}.new@customer.example>", ids), False))
    one = await _measure("thread length", "1 message (new mail alone)", [], alone)
    long = await _measure("thread length", f"{THREAD_LENGTH} messages ({THREAD_LENGTH - 1} earlier)", earlier, threaded)
    return one, long


# --- curve 3: orders per customer ----------------------------------------------------------------------------------


def _sandbox_store_data() -> dict[str, Any]:
    """The sandbox store file as parsed JSON (the format of shopify_mcp/sandbox/README.md), to edit a copy."""
    text = resources.files("shopify_mcp").joinpath("sandbox/store.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _store_with_orders(email: str, count: int) -> Store:
    """The sandbox store where the customer `email` has `count` orders: their newest one, cloned with new numbers
    (fulfilment and return names follow), each a quarter of a day older than the one before."""
    data = _sandbox_store_data()
    customer = next(c for c in data["customers"] if c["email"] == email)
    theirs = sorted(
        (o for o in data["orders"] if o["customer_id"] == customer["id"]), key=lambda o: o["created_days_ago"]
    )
    model = theirs[0]
    for offset in range(count - len(theirs)):
        number = NEXT_ORDER_NUMBER + offset
        clone = copy.deepcopy(model)
        clone["number"] = number
        clone["created_days_ago"] = model["created_days_ago"] + 0.25 * (offset + 1)
        for part in (*clone["fulfillments"], *clone["returns"]):
            part["name"] = part["name"].replace(f"#{model['number']}", f"#{number}")
        data["orders"].append(clone)
    return build_store(data)


def _orders_mail(email: str, count: int) -> Mail:
    """`count` messages from `email`, each a new thread asking about their orders without naming one."""
    store = _sandbox_store_data()
    customer = next(c for c in store["customers"] if c["email"] == email)
    name = f"{customer['first_name']} {customer['last_name']}"
    domain = email.rsplit("@", 1)[1]
    now = datetime.now().astimezone()
    mail: Mail = []
    for index in range(count):
        message = EmailMessage()
        message["Return-Path"] = f"<{email}>"
        message["Authentication-Results"] = (
            f"mx.aurora-activewear.example; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={email}; "
            f"dmarc=pass header.from={domain}"
        )
        message["From"] = f"{name} <{email}>"
        message["To"] = DEFAULT_ADDRESS
        message["Subject"] = f"Where are my orders? ({index + 1})"
        message["Date"] = format_datetime(now - timedelta(minutes=count - index))
        message["Message-ID"] = f"<cost-curve.orders{index}@{domain}>"
        message.set_content(
            f"Hello,\n\nwhere are my orders? I have not heard anything yet and would like to know when they will "
            f"arrive.\n\nThanks,\n{customer['first_name']}\n"
        )
        mail.append((message.as_bytes(), False))
    return mail


async def _order_points(quick: bool) -> tuple[Point, Point]:
    mail = _orders_mail(ORDERS_CUSTOMER, ORDER_MESSAGES[quick])
    one = await _measure("orders of the customer", "1 order", [], mail, load_sandbox_store())
    many_store = _store_with_orders(ORDERS_CUSTOMER, ORDER_COUNT)
    many = await _measure("orders of the customer", f"{ORDER_COUNT} orders", [], mail, many_store)
    return one, many


# --- the section ---------------------------------------------------------------------------------------------------


def _ratio(large: float, small: float) -> float:
    return large / small if small else float("inf")


def _ok(flag: bool) -> str:
    return "yes" if flag else "**no**"


async def run(quick: bool = False) -> Section:
    small, large = MAILBOX_SIZES[quick]
    section = Section(
        "7. Cost curves",
        "How the cost of one message grows with load and data. Each row is one run of the real daemon at concurrency "
        "1 over the loopback emulators, as in benchmark 3 (peers in this process, real gmail-mcp and shopify-mcp over "
        "stdio, LLM emulator at 0 ms, DefaultScript); the daemon starts from a history cursor, as a running daemon "
        "does. Gmail and Shopify costs are means per processed message unless the column says 'any' (every message, "
        "ignored and superseded ones included); CPU is per message of any kind.",
    )
    points = [
        await _measure("mailbox size", f"{small:,} messages", [], generated_mail(small)),
        await _measure("mailbox size", f"{large:,} messages", [], generated_mail(large)),
        *await _thread_points(quick),
        *await _order_points(quick),
    ]
    section.add(
        [
            "curve",
            "point",
            "msgs (processed)",
            "Gmail u / processed",
            "Gmail u / msg (any)",
            "Shopify req / processed",
            "GraphQL cost / processed (req / actual)",
            "CPU ms / msg: this process",
            "CPU ms / msg: stdio servers",
            "wall s",
        ],
        [p.row() for p in points],
    )
    box_small, box_large, thread_one, thread_long, orders_one, orders_many = points
    growth = (thread_long.gmail_processed - thread_one.gmail_processed) / (THREAD_LENGTH - 1)
    units_ratio = _ratio(box_large.gmail_processed, box_small.gmail_processed)
    any_ratio = _ratio(box_large.gmail_any, box_small.gmail_any)
    cpu_ratio = _ratio(box_large.cpu_self_ms, box_small.cpu_self_ms)
    servers_ratio = _ratio(box_large.cpu_servers_ms, box_small.cpu_servers_ms)
    section.add(
        ["target", "measured", "met?"],
        [
            [
                f"Gmail units per processed message grow at most {GROWTH_PER_MESSAGE} per extra message in a thread",
                f"{growth:+.2f} u per extra message ({thread_one.gmail_processed:.1f} u alone, "
                f"{thread_long.gmail_processed:.1f} u in a thread of {THREAD_LENGTH})",
                _ok(growth <= GROWTH_PER_MESSAGE),
            ],
            [
                f"Gmail units per message flat from {small:,} to {large:,} messages (ratio ≤ {FLAT_RATIO})",
                f"{units_ratio:.2f}x per processed message, {any_ratio:.2f}x per message of any kind",
                _ok(max(units_ratio, any_ratio) <= FLAT_RATIO),
            ],
            [
                f"CPU per message flat from {small:,} to {large:,} messages (ratio ≤ {FLAT_RATIO})",
                f"{cpu_ratio:.2f}x this process, {servers_ratio:.2f}x stdio servers",
                _ok(max(cpu_ratio, servers_ratio) <= FLAT_RATIO),
            ],
            [
                f"Shopify cost per message follows the orders listed (limit 5), not the customer's {ORDER_COUNT}: "
                "≤ 2 requests, requested ≤ 2x actual",
                f"{ORDER_COUNT} orders: {orders_many.shopify()}; 1 order: {orders_one.shopify()}",
                _ok(all(p.shopify_requests <= 2 and p.requested_cost <= 2 * p.actual_cost for p in points[4:])),
            ],
        ],
    )
    throttled = sum(p.throttled for p in points)
    section.notes += [
        f"Mailbox size: generated mail (the 22 sandbox messages cycled with fresh Message-IDs and subjects), "
        f"{small:,} vs {large:,} inbox messages; about two thirds are processed, the rest ignored, alerted or "
        "superseded. 'Gmail u / msg (any)' is every unit the run spent (the polls' history.list included) divided by "
        "all messages. Set-up calls made once per mailbox (labels.create, labels.list, getProfile) are left out "
        "everywhere, as in benchmark 3.",
        "CPU 'this process' is `time.process_time` over the run: the daemon, pipeline, ledger and LLM client, **and** "
        "the three emulators, which run in this process here (benchmark 1 runs them apart to count our CPU alone). "
        "A larger mailbox makes the emulators' own work per request grow (the Gmail emulator scans its messages to "
        "build a thread), so part of any growth in that column is the emulators', not ours. 'stdio servers' is "
        "gmail-mcp + shopify-mcp (from /proc), shown separately. Both are per message of any kind.",
        f"Thread length: the sandbox customers' own messages (senders with orders in the store, auto-replies left "
        f"out), each as the newest of a thread of {THREAD_LENGTH}: the shop's opening message, then customer and shop "
        "alternately, every message replying to the one before (In-Reply-To/References, same subject: that is how "
        "the Gmail emulator, like Gmail, joins a thread); the shop's are SENT, the customer's earlier ones read and "
        "arrived before the daemon's cursor. The baseline is the same messages with their reply headers removed, "
        "each alone in its own thread. gmail-mcp reads a thread with one threads.get whatever its length.",
        f"Orders of the customer: {ORDER_MESSAGES[quick]} messages from one customer asking 'where are my orders?' "
        f"without a number (the agent lists the customer's orders), against the sandbox store where they have 1 "
        f"order and a copy where that order is cloned to {ORDER_COUNT} (new numbers, each a little older). "
        "list_customer_orders asks for the newest order with the count of the customer's orders, then exactly the "
        "rest up to the limit (5, at most 10): one request for a one-order customer, two for a hundred, and both "
        "costs grow only with the orders listed, never with the customer's history (Shopify's up-front charge used "
        "to be the same 147 points for both, about 12x what one order uses).",
        "The Shopify emulator's cost bucket is bottomless here (the 1,000-message run would otherwise wait on "
        f"Shopify's rate limit, benchmark 5); THROTTLED answers: {throttled}. CPU varies by ±20% between runs on a "
        "shared machine and 'wall s' (poll + work) with the machine's load; units and requests are exact.",
    ]
    return section
