"""Escalation tickets: the local SQLite sink, and the webhook and Zendesk sinks against real loopback peers."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shopify_mcp.config import ShopifySettings
from shopify_mcp.errors import InvalidInputError, TicketSinkError
from shopify_mcp.ticket_sinks import WebhookTicketSink, ZendeskTicketSink, build_ticket_sink, verify_webhook_signature
from shopify_mcp.tickets import LocalTicketSink, Ticket, TicketRequest
from support_core.retry import RetryPolicy

SECRET = "whsec-test-secret"
TOKEN = "zd-token-s3cr3t-value"
FAST = RetryPolicy(base=0.01, max_delay=0.05, attempts=3)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def request(**overrides: Any) -> TicketRequest:
    fields: dict[str, Any] = {
        "category": "ShippingDelivery",
        "customer_email": "Ana@Example.com",
        "customer_name": "Ana Díaz",
        "summary": "Parcel arrived torn.\nThe left sleeve has a hole; she wants a replacement.",
        "priority": "high",
        "order_number": "1001",
        "source": "email",
    }
    return TicketRequest(**{**fields, **overrides})


# --- Loopback peers -------------------------------------------------------------------------------------


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Peer:
    """An HTTP peer that records every request and answers from a script, then with `default`."""

    default: tuple[int, Any, dict[str, str]]
    script: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    async def answer(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append(Recorded(request.url.path, dict(request.headers), body, time.monotonic()))
        status, payload, headers = self.script.pop(0) if self.script else self.default
        if payload is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(payload, status_code=status, headers=headers)

    def reset(self) -> Peer:
        self.script.clear()
        self.requests.clear()
        return self


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 and a free port; yield its base URL once it accepts connections."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", ws="none", http="h11", log_config=None)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(5):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await anyio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@dataclass
class Peers:
    webhook: Peer
    zendesk: Peer


@pytest.fixture(scope="module")
async def peers() -> AsyncIterator[Peers]:
    webhook = Peer(default=(200, {"id": "evt_1"}, {}))
    zendesk = Peer(default=(201, {"ticket": {"id": 35436, "status": "new"}}, {}))
    receiver = Starlette(routes=[Route("/hooks/tickets", webhook.answer, methods=["POST"])])
    zendesk_app = Starlette(routes=[Route("/api/v2/tickets.json", zendesk.answer, methods=["POST"])])
    async with serving(receiver) as webhook_base, serving(zendesk_app) as zendesk_base:
        webhook.url = f"{webhook_base}/hooks/tickets"
        zendesk.url = zendesk_base
        yield Peers(webhook, zendesk)


@pytest.fixture
def webhook(peers: Peers) -> Peer:
    return peers.webhook.reset()


@pytest.fixture
def zendesk(peers: Peers) -> Peer:
    return peers.zendesk.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- TicketRequest ------------------------------------------------------------------------------------------


def test_request_normalises_email_order_number_and_summary() -> None:
    ticket = request(customer_email="  Ana@Example.COM ", order_number=" 1001 ", summary="  line one\r\nline two  ")
    assert ticket.customer_email == "ana@example.com"
    assert ticket.order_number == "#1001"
    assert ticket.summary == "line one\r\nline two"
    assert request(order_number="#42").order_number == "#42"
    assert request(order_number="", customer_name="  ").order_number is None


@pytest.mark.parametrize(
    "email",
    [
        "no-at-sign",
        "a@b@example.com",
        "@example.com",
        "ana@",
        "ana b@example.com",
        "ana@example.com\r\nBcc: x@y",
        "ana@example.com <x@y.example>",
        "\u212aate@example.com",  # KELVIN SIGN: lower() turns it into kate@example.com, another mailbox
    ],
)
def test_request_rejects_malformed_emails(email: str) -> None:
    with pytest.raises(ValidationError, match="customer_email"):
        request(customer_email=email)


@pytest.mark.parametrize("order_number", ["#10a1", "10-01", "##1001", "#", "order 1001"])
def test_request_rejects_order_numbers_that_are_not_digits(order_number: str) -> None:
    with pytest.raises(ValidationError, match="order_number"):
        request(order_number=order_number)


@pytest.mark.parametrize(
    "overrides",
    [
        {"summary": "   "},
        {"category": "Damaged item"},
        {"category": "shippingdelivery"},
        {"category": "Other\n"},
        {"priority": "critical"},
        {"source": "s" * 65},
    ],
)
def test_request_rejects_out_of_range_fields(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        request(**overrides)


# --- Local sink ------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_local_sink_creates_sequential_tickets_and_lists_them_newest_first(tmp_path: Path) -> None:
    sink = LocalTicketSink(tmp_path / "tickets.sqlite3")
    first = await sink.create(request())
    second = await sink.create(request(customer_email="bo@example.com", priority="low"))
    third = await sink.create(request(order_number=None, customer_name=None, source=None))

    assert [first.id, second.id, third.id] == ["T-000001", "T-000002", "T-000003"]
    assert first.sink == "local" and first.status == "open" and first.order_number == "#1001"
    assert first.created_at.utcoffset() is not None and first.created_at.utcoffset().total_seconds() == 0

    listed = await sink.list()
    assert listed.total == 3
    assert listed.tickets == [third, second, first]

    ana = await sink.list(email=" ANA@example.com")
    assert [t.id for t in ana.tickets] == ["T-000003", "T-000001"] and ana.total == 2

    page = await sink.list(limit=2)
    assert [t.id for t in page.tickets] == ["T-000003", "T-000002"] and page.total == 3
    assert len((await sink.list(limit=0)).tickets) == 1
    await sink.aclose()


@pytest.mark.anyio
async def test_local_sink_filters_by_status(tmp_path: Path) -> None:
    path = tmp_path / "tickets.sqlite3"
    sink = LocalTicketSink(path)
    for _ in range(3):
        await sink.create(request())
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # a person closing one by hand
        conn.execute("UPDATE tickets SET status = 'closed' WHERE seq = 2")

    closed = await sink.list(status="closed")
    assert [(t.id, t.status) for t in closed.tickets] == [("T-000002", "closed")]
    assert [t.id for t in (await sink.list(status="open")).tickets] == ["T-000003", "T-000001"]
    with pytest.raises(InvalidInputError, match="pending"):
        await sink.list(status="pending")


@pytest.mark.anyio
async def test_local_sink_gives_concurrent_creates_distinct_ids(tmp_path: Path) -> None:
    sink = LocalTicketSink(tmp_path / "tickets.sqlite3")
    tickets: list[Ticket] = []

    async def create(n: int) -> None:
        tickets.append(await sink.create(request(summary=f"case {n}")))

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(create, n)
    assert sorted(t.id for t in tickets) == [f"T-{n:06d}" for n in range(1, 21)]
    assert (await sink.list()).total == 20


@pytest.mark.anyio
async def test_local_sink_shares_one_file_with_another_process(tmp_path: Path) -> None:
    path = tmp_path / "tickets.sqlite3"
    code = (
        "import sys, anyio\n"
        "from pathlib import Path\n"
        "from shopify_mcp.tickets import LocalTicketSink, TicketRequest\n"
        "async def main():\n"
        "    sink = LocalTicketSink(Path(sys.argv[1]))\n"
        "    for n in range(10):\n"
        "        await sink.create(TicketRequest(category='Other', customer_email='p@example.com', summary=str(n)))\n"
        "anyio.run(main)\n"
    )
    sink = LocalTicketSink(path)
    ours: list[Ticket] = []

    async def create_ours() -> None:
        for n in range(10):
            ours.append(await sink.create(request(summary=f"ours {n}")))

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.run_process, [sys.executable, "-c", code, str(path)])
        tg.start_soon(create_ours)

    listed = await sink.list(limit=500)
    assert listed.total == 20
    assert sorted(t.id for t in listed.tickets) == [f"T-{n:06d}" for n in range(1, 21)]
    assert {t.id for t in ours} <= {t.id for t in listed.tickets}


@pytest.mark.anyio
async def test_local_sink_creates_a_private_file_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "support-agent" / "tickets.sqlite3"
    await LocalTicketSink(path).create(request())
    assert path.stat().st_mode & 0o777 == 0o600
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


@pytest.mark.anyio
async def test_local_sink_upgrades_free_text_categories_of_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "tickets.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # a file written by schema version 1
        conn.execute(
            "CREATE TABLE tickets (seq INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, status TEXT "
            "NOT NULL, category TEXT NOT NULL, customer_email TEXT NOT NULL, customer_name TEXT, summary TEXT NOT "
            "NULL, priority TEXT NOT NULL, order_number TEXT, source TEXT)"
        )
        rows = [("Damaged item", "Torn parcel."), ("PaymentBilling", "Charged twice."), ("x", "y" * 4000)]
        for category, summary in rows:
            conn.execute(
                "INSERT INTO tickets (created_at, status, category, customer_email, summary, priority) "
                "VALUES ('2026-11-01T10:00:00+00:00', 'open', ?, 'ana@example.com', ?, 'normal')",
                (category, summary),
            )
        conn.execute("PRAGMA user_version = 1")

    sink = LocalTicketSink(path)
    await sink.create(request(category="Other"))
    listed = (await sink.list()).tickets
    assert [(t.category, t.summary[:22]) for t in listed] == [
        ("Other", "Parcel arrived torn.\nT"),
        ("Other", "[x] " + "y" * 18),
        ("PaymentBilling", "Charged twice."),
        ("Other", "[Damaged item] Torn pa"),
    ]
    assert len(listed[1].summary) == 4000, "the summary stays within its limit"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


@pytest.mark.anyio
async def test_local_sink_filters_by_the_shared_normal_form(tmp_path: Path) -> None:
    sink = LocalTicketSink(tmp_path / "tickets.sqlite3")
    mine = await sink.create(request(customer_email="Ana@Bücher.example"))
    assert mine.customer_email == "ana@bücher.example"
    assert [t.id for t in (await sink.list(email="ANA@xn--bcher-kva.example")).tickets] == [mine.id]
    with pytest.raises(InvalidInputError, match="customer_email must be one email address"):
        await sink.list(email="\u212aate@example.com")


@pytest.mark.anyio
async def test_local_sink_reports_a_corrupt_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "tickets.sqlite3"
    path.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(TicketSinkError, match="not a usable SQLite file") as caught:
        await LocalTicketSink(path).create(request())
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)


@pytest.mark.anyio
async def test_local_sink_reports_an_unusable_path(tmp_path: Path) -> None:
    path = tmp_path / "tickets.sqlite3"
    path.mkdir()
    with pytest.raises(TicketSinkError, match="SHOPIFY_TICKET_DB") as caught:
        await LocalTicketSink(path).create(request())
    assert str(path) in str(caught.value)


# --- Webhook sink ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_webhook_posts_a_signed_ticket_that_receivers_can_verify(
    webhook: Peer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shopify_mcp")
    ticket = await WebhookTicketSink(webhook.url, SECRET, http, FAST).create(request())

    assert re.fullmatch(r"T-[0-9a-f]{12}", ticket.id)
    assert ticket.sink == "webhook" and ticket.external_id == "evt_1"
    [sent] = webhook.requests
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["idempotency-key"] == ticket.id
    sent_ticket = ticket.model_copy(update={"external_id": None}).model_dump(mode="json")
    expected = {"event": "ticket.created", "ticket": sent_ticket}
    assert sent.body == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()  # compact UTF-8
    assert "Díaz".encode() in sent.body

    timestamp, signature = sent.headers["x-support-agent-timestamp"], sent.headers["x-support-agent-signature"]
    assert signature.startswith("sha256=")
    assert verify_webhook_signature(SECRET, timestamp, sent.body, signature)
    assert not verify_webhook_signature("wrong-secret", timestamp, sent.body, signature)
    assert not verify_webhook_signature(SECRET, timestamp, sent.body.replace(b"Parcel", b"Parcal"), signature)
    assert not verify_webhook_signature(SECRET, timestamp, sent.body, signature, now=int(timestamp) + 301)
    assert not verify_webhook_signature(SECRET, "yesterday", sent.body, signature)

    assert ticket.id in caplog.text and "ana@example.com" not in caplog.text and "sleeve" not in caplog.text


@pytest.mark.anyio
async def test_webhook_retries_server_errors_with_one_idempotency_key(webhook: Peer, http: httpx.AsyncClient) -> None:
    webhook.script += [(500, {"error": "boom"}, {}), (503, None, {}), (202, None, {})]
    ticket = await WebhookTicketSink(webhook.url, SECRET, http, FAST).create(request())

    assert len(webhook.requests) == 3
    assert {r.headers["idempotency-key"] for r in webhook.requests} == {ticket.id}
    assert ticket.external_id is None  # the receiver gave no id


@pytest.mark.anyio
async def test_webhook_honours_retry_after_on_429(webhook: Peer, http: httpx.AsyncClient) -> None:
    slow = RetryPolicy(base=5.0, max_delay=5.0, attempts=3)  # would wait up to 5 s without it
    webhook.script.append((429, {"error": "slow down"}, {"Retry-After": "0"}))
    started = time.monotonic()
    await WebhookTicketSink(webhook.url, SECRET, http, slow).create(request())
    assert time.monotonic() - started < 2
    assert len(webhook.requests) == 2


@pytest.mark.anyio
async def test_webhook_caps_a_long_retry_after(webhook: Peer, http: httpx.AsyncClient) -> None:
    webhook.script.append((503, None, {"Retry-After": "3600"}))
    capped = RetryPolicy(base=0.01, max_delay=0.3, attempts=2)
    await WebhookTicketSink(webhook.url, SECRET, http, capped).create(request())
    first, second = webhook.requests
    assert 0.3 <= second.at - first.at < 1.5


@pytest.mark.anyio
async def test_webhook_retries_are_logged_without_the_url_path_or_the_customer(
    webhook: Peer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="shopify_mcp")
    webhook.script.append((502, None, {}))
    ticket = await WebhookTicketSink(webhook.url + "?key=s3cr3t", SECRET, http, FAST).create(request())
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    origin = webhook.url.removesuffix("/hooks/tickets")
    assert warning.getMessage().startswith(f"Ticket {ticket.id} to the ticket webhook at {origin} failed (HTTP 502)")
    assert "s3cr3t" not in caplog.text and "/hooks/tickets" not in caplog.text and "ana@example.com" not in caplog.text


@pytest.mark.anyio
async def test_webhook_does_not_retry_a_client_error(webhook: Peer, http: httpx.AsyncClient) -> None:
    webhook.script.append((400, {"error": "unknown field"}, {}))
    with pytest.raises(TicketSinkError, match="HTTP 400"):
        await WebhookTicketSink(webhook.url, SECRET, http, FAST).create(request())
    assert len(webhook.requests) == 1


@pytest.mark.anyio
async def test_webhook_gives_up_after_the_last_attempt(webhook: Peer, http: httpx.AsyncClient) -> None:
    webhook.script += [(500, None, {})] * 3
    with pytest.raises(TicketSinkError, match=r"failed after 3 attempts \(last: HTTP 500\)"):
        await WebhookTicketSink(webhook.url, SECRET, http, FAST).create(request())
    assert len(webhook.requests) == 3


@pytest.mark.anyio
async def test_webhook_reports_a_refused_connection_after_retries(http: httpx.AsyncClient) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks/tickets"
    with pytest.raises(TicketSinkError, match=r"failed after 3 attempts \(last: ConnectError"):
        await WebhookTicketSink(url, SECRET, http, FAST).create(request())


# --- Zendesk sink ------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_zendesk_creates_a_ticket_with_the_documented_shape(zendesk: Peer, http: httpx.AsyncClient) -> None:
    summary = "Wants a refund for the blue jacket " + "because " * 30 + "\nSecond line."
    ticket = await ZendeskTicketSink(zendesk.url + "/", "agent@shop.example", TOKEN, http, FAST).create(
        request(summary=summary, priority="urgent")
    )

    assert ticket.sink == "zendesk" and ticket.external_id == "35436"
    assert ticket.url == f"{zendesk.url}/agent/tickets/35436"
    [sent] = zendesk.requests
    scheme, _, credentials = sent.headers["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(credentials).decode() == f"agent@shop.example/token:{TOKEN}"
    assert sent.headers["idempotency-key"] == ticket.id
    body = json.loads(sent.body)["ticket"]
    assert body["subject"].startswith("[ShippingDelivery] Wants a refund for the blue jacket")
    assert len(body["subject"]) <= len("[ShippingDelivery] ") + 120 and "Second line" not in body["subject"]
    assert body["priority"] == "urgent"
    assert body["tags"] == ["support-agent", "shippingdelivery"]
    assert body["comment"]["body"].startswith(summary.strip())
    assert "Order: #1001" in body["comment"]["body"]


@pytest.mark.anyio
async def test_zendesk_never_mails_the_unverified_customer(zendesk: Peer, http: httpx.AsyncClient) -> None:
    """Zendesk emails a ticket's requester and public comments go out by mail: a forged From would receive them."""
    await ZendeskTicketSink(zendesk.url, "agent@shop.example", TOKEN, http, FAST).create(
        request(customer_email="Victim@Example.com", customer_name="Attacker Name")
    )
    [sent] = zendesk.requests
    body = json.loads(sent.body)["ticket"]
    assert "requester" not in body and "requester_id" not in body, "the API user stays the requester"
    assert not {"email_ccs", "collaborators", "followers", "recipient"} & set(body)
    assert body["comment"]["public"] is False, "an internal note, never mailed"
    assert "Customer (address not verified): Attacker Name <victim@example.com>" in body["comment"]["body"]
    assert "victim@example.com" not in json.dumps({k: v for k, v in body.items() if k != "comment"})


@pytest.mark.anyio
async def test_zendesk_refusing_the_token_is_explained_without_leaking_it(
    zendesk: Peer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    zendesk.script.append((401, {"error": "Couldn't authenticate you"}, {}))
    with pytest.raises(TicketSinkError, match="refused the email/API token") as caught:
        await ZendeskTicketSink(zendesk.url, "agent@shop.example", TOKEN, http, FAST).create(request())
    assert TOKEN not in str(caught.value) and TOKEN not in caplog.text
    assert len(zendesk.requests) == 1


@pytest.mark.anyio
async def test_zendesk_forbidden_is_not_retried(zendesk: Peer, http: httpx.AsyncClient) -> None:
    zendesk.script += [(403, {"error": "Forbidden"}, {})] * 3
    with pytest.raises(TicketSinkError, match=r"refused the email/API token \(HTTP 403\)"):
        await ZendeskTicketSink(zendesk.url, "agent@shop.example", TOKEN, http, FAST).create(request())
    assert len(zendesk.requests) == 1


@pytest.mark.anyio
async def test_zendesk_rate_limits_that_never_end_give_the_same_clear_error(
    zendesk: Peer, http: httpx.AsyncClient
) -> None:
    zendesk.script += [(429, {"error": "TooManyRequests"}, {"Retry-After": "0"})] * 3
    with pytest.raises(
        TicketSinkError, match=r"to Zendesk at http://127\.0\.0\.1:\d+ failed after 3 attempts"
    ) as caught:
        await ZendeskTicketSink(zendesk.url, "agent@shop.example", TOKEN, http, FAST).create(request())
    assert "(last: HTTP 429); the ticket was not created" in str(caught.value)
    assert len(zendesk.requests) == 3


@pytest.mark.anyio
async def test_zendesk_validation_errors_are_summarised(zendesk: Peer, http: httpx.AsyncClient) -> None:
    details = {"requester": [{"description": "Requester: Email is not properly formatted", "error": "InvalidValue"}]}
    zendesk.script.append(
        (422, {"error": "RecordInvalid", "description": "Record validation errors", "details": details}, {})
    )
    with pytest.raises(TicketSinkError, match="Record validation errors; requester: Requester: Email is not properly"):
        await ZendeskTicketSink(zendesk.url, "agent@shop.example", TOKEN, http, FAST).create(request())


@pytest.mark.anyio
async def test_zendesk_rate_limit_is_retried_after_the_given_delay(zendesk: Peer, http: httpx.AsyncClient) -> None:
    zendesk.script.append((429, {"error": "TooManyRequests"}, {"Retry-After": "0.2"}))
    backoff = RetryPolicy(base=0.01, max_delay=1.0, attempts=3)
    ticket = await ZendeskTicketSink(zendesk.url, "agent@shop.example", TOKEN, http, backoff).create(request())
    assert ticket.external_id == "35436"
    first, second = zendesk.requests
    assert 0.2 <= second.at - first.at < 1.5
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == ticket.id


# --- build_ticket_sink ------------------------------------------------------------------------------------


@pytest.fixture
def settings_of(tmp_path: Path) -> Iterator[Any]:
    def make(**values: Any) -> ShopifySettings:
        return ShopifySettings(_env_file=None, ticket_db=tmp_path / "t.sqlite3", max_retries=2, **values)  # type: ignore[call-arg]

    yield make


@pytest.mark.anyio
async def test_build_ticket_sink_picks_the_configured_sink(
    settings_of: Any, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    local = build_ticket_sink(settings_of(), http)
    assert isinstance(local, LocalTicketSink) and local.path == tmp_path / "t.sqlite3"

    hook = build_ticket_sink(
        settings_of(ticket_sink="webhook", ticket_webhook_url="https://hooks.example/t", ticket_webhook_secret="s"),
        http,
    )
    assert isinstance(hook, WebhookTicketSink) and hook.url == "https://hooks.example/t"
    assert hook.backoff.attempts == 3

    zendesk_values = {"ticket_sink": "zendesk", "zendesk_email": "a@shop.example", "zendesk_api_token": "t"}
    by_subdomain = build_ticket_sink(settings_of(zendesk_subdomain="acme", **zendesk_values), http)
    assert isinstance(by_subdomain, ZendeskTicketSink) and by_subdomain.base_url == "https://acme.zendesk.com"
    by_url = build_ticket_sink(settings_of(zendesk_url="http://127.0.0.1:9/", **zendesk_values), http)
    assert isinstance(by_url, ZendeskTicketSink) and by_url.base_url == "http://127.0.0.1:9"
