"""The Shopify server's `diagnose` tool through the in-memory MCP client: sandbox, a loopback store, ticket sinks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from shopify_mcp.context import open_context
from shopify_mcp.diagnosis import NEEDED_SCOPES, diagnose, scope_check
from shopify_mcp.emulator import load_sandbox_store
from shopify_mcp.server import create_server
from support_core.diagnosis import Check, Diagnosis, render
from support_testing.shopify_emulator import ShopifyEmulator, serve_emulator
from tests.shopify_mcp.support import make_settings, ok

pytestmark = pytest.mark.anyio

TOKEN = "shpat_diagnosis_0123456789abcdef"
TIMEOUT = 5.0


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def diagnose_over_mcp(client: Client) -> tuple[Diagnosis, str]:
    """The tool's structured answer, and the whole raw result (to look for secrets in)."""
    result = await client.call_tool("diagnose", {"call_timeout": TIMEOUT})
    return Diagnosis.model_validate(ok(result)), result.model_dump_json()


@asynccontextmanager
async def store_client(tmp_path: Path, emulator: ShopifyEmulator, **overrides: Any) -> AsyncIterator[Client]:
    """A server for a store at a loopback URL (the same HTTP path as a real store), with a static token."""
    async with serve_emulator(emulator) as url:
        settings = make_settings(tmp_path, store=url, access_token=TOKEN, **overrides)
        async with open_context(settings) as ctx, Client(create_server(ctx)) as client:
            yield client


@pytest.fixture
def store() -> ShopifyEmulator:
    return ShopifyEmulator(store=load_sandbox_store(), access_tokens={TOKEN})


async def test_the_tool_is_read_only_and_idempotent(client: Client) -> None:
    tool = {t.name: t for t in (await client.list_tools()).tools}["diagnose"]
    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is True and tool.annotations.idempotent_hint is True
    assert tool.annotations.destructive_hint is False
    assert tool.output_schema and "checks" in tool.output_schema["properties"]


async def test_the_sandbox_store_needs_no_token(client: Client, tmp_path: Path) -> None:
    diagnosis, _ = await diagnose_over_mcp(client)
    checks = by_name(diagnosis.checks)
    assert not diagnosis.problems, render(diagnosis.checks)
    assert "sandbox" in checks["Shopify mode"].detail
    assert checks["Shopify token"].ok is None and checks["Shopify scopes"].ok is None
    assert checks["Ticket sink"].ok and str(tmp_path) in checks["Ticket sink"].detail
    assert not (tmp_path / "tickets.sqlite3").exists(), "nothing is created"


async def test_a_healthy_store(tmp_path: Path, store: ShopifyEmulator) -> None:
    async with store_client(tmp_path, store) as client:
        diagnosis, raw = await diagnose_over_mcp(client)
    assert [check.name for check in diagnosis.checks] == [
        "Shopify mode",
        "Shopify token",
        "Shopify API version",
        "Shopify scopes",
        "Ticket sink",
    ]
    assert all(check.ok for check in diagnosis.checks), render(diagnosis.checks)
    checks = by_name(diagnosis.checks)
    assert "(access token)" in checks["Shopify mode"].detail
    assert "2026-07 supported" in checks["Shopify API version"].detail
    assert f"all {len(NEEDED_SCOPES)} needed scopes granted" in checks["Shopify scopes"].detail
    assert TOKEN not in raw, "the token never appears in the answer"


async def test_a_wrong_token_is_named_and_the_rest_skipped(tmp_path: Path, store: ShopifyEmulator) -> None:
    store.access_tokens = {"shpat_another_one"}
    async with store_client(tmp_path, store) as client:
        diagnosis, raw = await diagnose_over_mcp(client)
    checks = by_name(diagnosis.checks)
    assert [check.name for check in diagnosis.problems] == ["Shopify token"]
    assert "rejected" in checks["Shopify token"].detail and "SHOPIFY_ACCESS_TOKEN" in checks["Shopify token"].fix
    assert checks["Shopify scopes"].ok is None and checks["Shopify API version"].ok is None
    assert TOKEN not in raw


async def test_a_missing_scope_says_what_breaks(tmp_path: Path, store: ShopifyEmulator) -> None:
    store.scopes.discard("read_all_orders")
    async with store_client(tmp_path, store) as client:
        diagnosis, _ = await diagnose_over_mcp(client)
    (problem,) = diagnosis.problems
    assert problem.name == "Shopify scopes"
    assert "missing read_all_orders (orders older than 60 days are invisible)" in problem.detail


async def test_an_unsupported_api_version(tmp_path: Path, store: ShopifyEmulator) -> None:
    async with store_client(tmp_path, store, api_version="2024-10") as client:
        diagnosis, _ = await diagnose_over_mcp(client)
    (problem,) = diagnosis.problems
    assert problem.name == "Shopify API version"
    assert "Shopify served 2025-07 instead of 2024-10" in problem.detail and "SHOPIFY_API_VERSION" in problem.fix


async def test_a_store_error_is_reported_not_retried(tmp_path: Path, store: ShopifyEmulator) -> None:
    store.faults.http_status(503, 1)  # the server's own client would retry this and succeed
    async with store_client(tmp_path, store) as client:
        diagnosis, _ = await diagnose_over_mcp(client)
    problem = by_name(diagnosis.checks)["Shopify token"]
    assert problem.ok is False and "cannot query the store" in problem.detail, render(diagnosis.checks)
    assert "SHOPIFY_STORE" in problem.fix
    assert [record.operation for record in store.requests] == ["ShopInfo"]


async def test_a_ticket_folder_that_cannot_be_written(client_with: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the tickets folder should be")
    async with client_with(ticket_db=blocker / "tickets.sqlite3") as client:
        diagnosis, _ = await diagnose_over_mcp(client)
    (problem,) = diagnosis.problems
    assert problem.name == "Ticket sink" and "not a folder" in problem.detail and "SHOPIFY_TICKET_DB" in problem.fix


# --- remote ticket sinks (the HTTP transport injected) -----------------------------------------------------------


async def sink_check(tmp_path: Path, handler: Any, **overrides: Any) -> Check:
    settings = make_settings(tmp_path, **overrides)
    emulator = ShopifyEmulator(store=load_sandbox_store())
    async with (
        open_context(settings, emulator=emulator) as ctx,
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
    ):
        diagnosis = await diagnose(ctx, TIMEOUT, http=http)
    return by_name(diagnosis.checks)["Ticket sink"]


WEBHOOK = {
    "ticket_sink": "webhook",
    "ticket_webhook_url": "https://user:pw@hooks.example.net/support/tickets?key=s3cret",
    "ticket_webhook_secret": "whsec_do_not_show",
}
ZENDESK = {
    "ticket_sink": "zendesk",
    "zendesk_subdomain": "acme",
    "zendesk_email": "agent@acme.example",
    "zendesk_api_token": "zd_token_do_not_show",
}


async def test_a_webhook_that_answers_gets_no_ticket(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(405)

    check = await sink_check(tmp_path, handler, **WEBHOOK)
    assert check.ok, check
    assert [request.method for request in seen] == ["HEAD"], "nothing is posted"
    assert check.detail.startswith("the webhook at https://hooks.example.net answers")
    assert "s3cret" not in check.model_dump_json() and "pw@" not in check.model_dump_json()


async def test_a_webhook_that_cannot_be_reached(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    check = await sink_check(tmp_path, handler, **WEBHOOK)
    assert check.ok is False and "cannot be reached (ConnectError)" in check.detail
    assert "SHOPIFY_TICKET_WEBHOOK_URL" in check.fix


async def test_zendesk_refusing_the_api_token(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/users/me.json" and request.method == "GET"
        return httpx.Response(401, json={"error": "Couldn't authenticate you"})

    check = await sink_check(tmp_path, handler, **ZENDESK)
    assert check.ok is False and "Zendesk at https://acme.zendesk.com refused" in check.detail
    assert "SHOPIFY_ZENDESK_API_TOKEN" in check.fix and "zd_token" not in check.model_dump_json()


async def test_zendesk_accepting_the_api_token(tmp_path: Path) -> None:
    check = await sink_check(tmp_path, lambda request: httpx.Response(200, json={"user": {"id": 7}}), **ZENDESK)
    assert check.ok and "accepts the API token" in check.detail


def test_a_write_scope_implies_its_read_scope() -> None:
    handles = [*(s for s in NEEDED_SCOPES if s != "read_orders"), "write_orders"]
    data = {"currentAppInstallation": {"accessScopes": [{"handle": handle} for handle in handles]}}
    assert scope_check(data).ok is True
    assert scope_check({"currentAppInstallation": {"accessScopes": []}}).ok is False
