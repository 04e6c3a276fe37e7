"""The local ticket sink in PostgreSQL (SHOPIFY_TICKET_DB=postgresql://...), against a real throw-away server on
loopback: replicas sharing one database, concurrent creates, the tools, `diagnose`, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import psycopg
import pytest
from mcp import Client

from shopify_mcp.config import load_settings
from shopify_mcp.context import open_context
from shopify_mcp.emulator import load_sandbox_store
from shopify_mcp.errors import InvalidInputError, TicketSinkError
from shopify_mcp.server import create_server
from shopify_mcp.ticket_sinks import build_ticket_sink
from shopify_mcp.ticket_store_pg import TABLE, PostgresTicketStore
from support_core.diagnosis import Diagnosis
from support_core.store import Ticket
from support_testing.shopify_emulator import ShopifyEmulator
from tests.processes import free_port
from tests.shopify_mcp.support import error_text, make_settings, ok
from tests.shopify_mcp.test_tickets import request

pytestmark = pytest.mark.anyio


def closed_port_url(password: str = "s3cret-pw") -> str:
    """A URL whose port nobody listens on (bound, then released), with a password that must never be shown."""
    return f"postgresql://support:{password}@127.0.0.1:{free_port()}/tickets"


async def test_two_replicas_on_one_database_see_each_others_tickets(postgres_url: str) -> None:
    one, two = PostgresTicketStore(postgres_url), PostgresTicketStore(postgres_url)
    first = await one.create(request())
    second = await two.create(request(customer_email="bo@example.com", priority="low"))
    third = await one.create(request(order_number=None, customer_name=None, source=None))

    assert [first.id, second.id, third.id] == ["T-000001", "T-000002", "T-000003"]
    assert first.sink == "local" and first.status == "open" and first.order_number == "#1001"
    assert first.customer_email == "ana@example.com" and first.customer_name == "Ana Díaz"
    offset = first.created_at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0

    for store in (one, two):
        listed = await store.list()
        assert listed.total == 3 and listed.tickets == [third, second, first]
    ana = await two.list(email=" ANA@example.com")
    assert [t.id for t in ana.tickets] == ["T-000003", "T-000001"] and ana.total == 2
    page = await one.list(limit=2)
    assert [t.id for t in page.tickets] == ["T-000003", "T-000002"] and page.total == 3
    assert len((await one.list(limit=0)).tickets) == 1
    assert (await one.list(email="nobody@example.com")).model_dump() == {"tickets": [], "total": 0}


async def test_status_filter_and_a_ticket_closed_by_hand(postgres_url: str) -> None:
    store = PostgresTicketStore(postgres_url)
    for _ in range(3):
        await store.create(request())
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # a person closing one in the database
        conn.execute(f"UPDATE {TABLE} SET status = 'closed' WHERE seq = 2")

    closed = await store.list(status="closed")
    assert [(t.id, t.status) for t in closed.tickets] == [("T-000002", "closed")] and closed.total == 1
    assert [t.id for t in (await store.list(status="open")).tickets] == ["T-000003", "T-000001"]
    with pytest.raises(InvalidInputError, match="pending"):
        await store.list(status="pending")
    with pytest.raises(InvalidInputError):
        await store.list(email="not an address")


async def test_concurrent_creates_from_fresh_replicas_get_distinct_ids(postgres_url: str) -> None:
    """Four stores that have not created the table yet, 40 creates at once: the table is created exactly once
    (replicas starting together), no create fails, and every ticket gets its own id."""
    stores = [PostgresTicketStore(postgres_url) for _ in range(4)]
    tickets: list[Ticket] = []

    async def create(n: int) -> None:
        tickets.append(await stores[n % len(stores)].create(request(summary=f"case {n}")))

    async with anyio.create_task_group() as tasks:
        for n in range(40):
            tasks.start_soon(create, n)
    assert sorted(t.id for t in tickets) == [f"T-{n:06d}" for n in range(1, 41)]
    listed = await stores[0].list(limit=500)
    assert listed.total == 40 and {t.summary for t in listed.tickets} == {f"case {n}" for n in range(40)}


async def test_another_process_writing_to_the_same_database(postgres_url: str) -> None:
    code = (
        "import sys, anyio\n"
        "from shopify_mcp.ticket_store_pg import PostgresTicketStore\n"
        "from support_core.store import TicketRequest\n"
        "async def main():\n"
        "    store = PostgresTicketStore(sys.argv[1])\n"
        "    for n in range(10):\n"
        "        await store.create(TicketRequest(category='Other', customer_email='p@example.com', summary=str(n)))\n"
        "anyio.run(main)\n"
    )
    store = PostgresTicketStore(postgres_url)

    async def create_ours() -> None:
        for n in range(10):
            await store.create(request(summary=f"ours {n}"))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(anyio.run_process, [sys.executable, "-c", code, postgres_url])
        tasks.start_soon(create_ours)
    listed = await store.list(limit=500)
    assert listed.total == 20
    assert sorted(t.id for t in listed.tickets) == [f"T-{n:06d}" for n in range(1, 21)]
    assert len((await store.list(email="p@example.com")).tickets) == 10


async def test_an_unreachable_server_is_one_line_naming_it_without_the_password() -> None:
    url = closed_port_url()
    store = PostgresTicketStore(url, connect_timeout=2)
    port = urlsplit(url).port
    for attempt in (store.create(request()), store.list()):
        with pytest.raises(TicketSinkError) as caught:
            with anyio.fail_after(10):
                await attempt
        message = str(caught.value)
        assert "\n" not in message and "s3cret-pw" not in message and "support:" not in message
        assert f"PostgreSQL 127.0.0.1:{port}/tickets cannot be reached" in message
        assert "Connection refused" in message and "SHOPIFY_TICKET_DB" in message


async def test_a_wrong_database_name_is_one_line(postgres_server: Any) -> None:
    url = postgres_server.url("no_such_database")
    with pytest.raises(TicketSinkError) as caught:
        await PostgresTicketStore(url).create(request())
    assert "\n" not in str(caught.value) and 'database "no_such_database" does not exist' in str(caught.value)


# --- settings, the tools and diagnose ---------------------------------------------------------------------------


def test_the_setting_takes_a_url_and_keeps_its_password_out_of_sight(tmp_path: Path) -> None:
    url = "postgresql://support:s3cret-pw@db.internal:5433/tickets"
    settings = make_settings(tmp_path, ticket_db=url)
    assert settings.ticket_db_url == url and settings.ticket_db_path is None
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in str(settings.model_dump())
    as_path = make_settings(tmp_path)
    assert as_path.ticket_db_path == tmp_path / "tickets.sqlite3" and as_path.ticket_db_url is None
    with pytest.raises(Exception, match=r"SHOPIFY_TICKET_DB must be a file path or a postgresql:// URL"):
        load_settings(_env_file=None, ticket_db="mysql://db.internal/tickets")


async def test_build_ticket_sink_picks_postgres_for_a_url(tmp_path: Path, postgres_url: str) -> None:
    async with httpx.AsyncClient() as http:
        store = build_ticket_sink(make_settings(tmp_path, ticket_db=postgres_url), http)
    assert isinstance(store, PostgresTicketStore)
    assert store.location.startswith("PostgreSQL 127.0.0.1:") and store.location.endswith(urlsplit(postgres_url).path)


async def test_escalate_and_list_tickets_through_two_servers(tmp_path: Path, postgres_url: str) -> None:
    """The tools of two in-process servers (two replicas) on one database."""
    settings = make_settings(tmp_path, ticket_db=postgres_url)
    emulator = ShopifyEmulator(store=load_sandbox_store())
    async with (
        open_context(settings, emulator=emulator) as one_ctx,
        open_context(settings, emulator=emulator) as two_ctx,
        Client(create_server(one_ctx)) as one,
        Client(create_server(two_ctx)) as two,
    ):
        arguments = {"category": "ShippingDelivery", "customer_email": "Ana@Example.com", "summary": "Torn parcel"}
        created = ok(await one.call_tool("escalate_ticket", arguments))
        assert created["id"] == "T-000001" and created["sink"] == "local"
        listed = ok(await two.call_tool("list_tickets", {"customer_email": "ana@example.com"}))
        assert [t["id"] for t in listed["tickets"]] == ["T-000001"] and listed["total"] == 1
        assert ok(await two.call_tool("list_tickets", {"customer_email": "bo@example.com"}))["total"] == 0


async def test_escalate_ticket_reports_an_unreachable_database_to_the_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ticket_db=closed_port_url(), timeout=2.0)
    async with (
        open_context(settings, emulator=ShopifyEmulator(store=load_sandbox_store())) as ctx,
        Client(create_server(ctx)) as client,
    ):
        arguments = {"category": "Other", "customer_email": "ana@example.com", "summary": "Help"}
        text = error_text(await client.call_tool("escalate_ticket", arguments))
    assert "cannot be reached" in text and "s3cret-pw" not in text


async def diagnosis_of(tmp_path: Path, ticket_db: str) -> tuple[Diagnosis, str]:
    settings = make_settings(tmp_path, ticket_db=ticket_db)
    async with (
        open_context(settings, emulator=ShopifyEmulator(store=load_sandbox_store())) as ctx,
        Client(create_server(ctx)) as client,
    ):
        result = await client.call_tool("diagnose", {"call_timeout": 3})
    return Diagnosis.model_validate(ok(result)), result.model_dump_json()


async def test_diagnose_reports_the_postgres_store(tmp_path: Path, postgres_url: str) -> None:
    diagnosis, _ = await diagnosis_of(tmp_path, postgres_url)
    check = {c.name: c for c in diagnosis.checks}["Ticket sink"]
    assert check.ok and "local store in PostgreSQL 127.0.0.1:" in check.detail, check
    assert "will be created with the first ticket" in check.detail
    await PostgresTicketStore(postgres_url).create(request())
    diagnosis, _ = await diagnosis_of(tmp_path, postgres_url)
    check = {c.name: c for c in diagnosis.checks}["Ticket sink"]
    assert check.ok and f"1 ticket in {TABLE}" in check.detail, check
    assert (await PostgresTicketStore(postgres_url).list()).total == 1  # diagnose wrote nothing


async def test_diagnose_reports_an_unreachable_postgres_store(tmp_path: Path) -> None:
    url = closed_port_url()
    diagnosis, raw = await diagnosis_of(tmp_path, url)
    (problem,) = diagnosis.problems
    assert problem.name == "Ticket sink" and "cannot be reached" in problem.detail
    assert f"127.0.0.1:{urlsplit(url).port}/tickets" in problem.detail and "SHOPIFY_TICKET_DB" in problem.fix
    assert "s3cret-pw" not in raw


def test_without_psycopg_the_server_stops_with_the_install_hint(tmp_path: Path) -> None:
    """A Python where `import psycopg` fails (the `postgres` extra not installed): one line naming the extra."""
    code = "import sys; sys.modules['psycopg'] = None; import shopify_mcp; shopify_mcp.main()"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SHOPIFY_TICKET_DB": "postgresql://support@127.0.0.1:1/tickets",
    }
    result = subprocess.run(
        [sys.executable, "-c", code, "--transport", "streamable-http", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("shopify-mcp:")]
    assert lines == [
        "shopify-mcp: SHOPIFY_TICKET_DB is a PostgreSQL URL but psycopg is not installed: "
        "pip install 'shopify-support-agent[postgres]'"
    ], result.stderr
