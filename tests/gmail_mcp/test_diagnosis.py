"""The Gmail server's `diagnose` and `mailbox_info` tools through the in-memory MCP client, on both backends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from gmail_mcp import open_mailbox
from gmail_mcp.config import GmailSettings
from gmail_mcp.diagnosis import AUTHSERV_FIX
from gmail_mcp.server import create_server
from support_core.diagnosis import Check, Diagnosis, render
from support_testing.gmail_emulator import GMAIL_MODIFY_SCOPE, GmailEmulator, serve_emulator

pytestmark = pytest.mark.anyio

OWN = "support@aurora-activewear.example"
REFRESH_TOKEN = "1//diagnosis-refresh-token"
CLIENT_SECRET = "diagnosis-client-secret"
TIMEOUT = 5.0


def by_name(diagnosis: Diagnosis) -> dict[str, Check]:
    return {check.name: check for check in diagnosis.checks}


def maildir_settings(tmp_path: Path, **changes: Any) -> GmailSettings:
    values: dict[str, Any] = {"backend": "maildir", "maildir": tmp_path / "maildir", "address": OWN, **changes}
    return GmailSettings(_env_file=None, **values)


def gmail_settings(url: str, **changes: Any) -> GmailSettings:
    token = {
        "refresh_token": REFRESH_TOKEN,
        "client_id": "diagnosis-client.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "token_uri": f"{url}/token",
        "scopes": [GMAIL_MODIFY_SCOPE],
    }
    values: dict[str, Any] = {"token_json": json.dumps(token), "api_endpoint": url, "max_retries": 0, **changes}
    return GmailSettings(_env_file=None, **values)


@asynccontextmanager
async def server_client(settings: GmailSettings) -> AsyncIterator[Client]:
    """The server as `gmail-mcp` builds it: `open_mailbox(settings)`, then `create_server` with the settings."""
    async with (
        open_mailbox(settings) as (mailbox, name),
        Client(create_server(mailbox, backend_name=name, settings=settings)) as client,
    ):
        yield client


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content, result.model_dump_json()


async def diagnose(client: Client) -> tuple[Diagnosis, str]:
    answer, raw = await call(client, "diagnose", {"call_timeout": TIMEOUT})
    return Diagnosis.model_validate(answer), raw


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[GmailEmulator, str]]:
    running = GmailEmulator(address="helpdesk@shop.example", refresh_tokens={REFRESH_TOKEN})
    async with serve_emulator(running) as url:
        yield running, url


# --- Maildir ----------------------------------------------------------------------------------------------------


async def test_both_tools_are_read_only_and_idempotent(tmp_path: Path) -> None:
    async with server_client(maildir_settings(tmp_path)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("diagnose", "mailbox_info"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint and annotations.idempotent_hint, name
        assert tools[name].output_schema, name


async def test_a_maildir_without_trusted_servers_warns_about_contact_forms(tmp_path: Path) -> None:
    async with server_client(maildir_settings(tmp_path)) as client:
        diagnosis, _ = await diagnose(client)
    checks = by_name(diagnosis)
    assert list(checks) == ["Gmail backend", "Gmail token", "Gmail scopes", "Gmail mailbox", "Gmail authserv-ids"]
    assert checks["Gmail backend"].ok and f"Maildir {tmp_path / 'maildir'}" in checks["Gmail backend"].detail
    assert checks["Gmail token"].ok is None and checks["Gmail scopes"].ok is None
    assert checks["Gmail mailbox"].ok and OWN in checks["Gmail mailbox"].detail
    warning = checks["Gmail authserv-ids"]
    assert warning.ok is False and warning.severity == "warning" and warning.fix == AUTHSERV_FIX
    assert "Shopify contact forms never get order data" in warning.detail
    assert not diagnosis.problems, "a warning does not fail the diagnosis"
    assert "! Gmail authserv-ids" in render(diagnosis.checks)
    assert not (tmp_path / "maildir").exists(), "nothing is created"


async def test_trusted_servers_configured(tmp_path: Path) -> None:
    async with server_client(maildir_settings(tmp_path, authserv_ids="mx.shop.example")) as client:
        diagnosis, _ = await diagnose(client)
    check = by_name(diagnosis)["Gmail authserv-ids"]
    assert check.ok and "mx.shop.example" in check.detail


async def test_a_maildir_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the Maildir should be")
    async with server_client(maildir_settings(tmp_path, maildir=blocker / "maildir")) as client:
        diagnosis, _ = await diagnose(client)
    (problem,) = diagnosis.problems
    assert problem.name == "Gmail backend" and "not a folder" in problem.detail and "GMAIL_MAILDIR" in problem.fix


async def test_mailbox_info_on_a_maildir(tmp_path: Path) -> None:
    async with server_client(maildir_settings(tmp_path)) as client:
        info, _ = await call(client, "mailbox_info")
    assert info == {"address": OWN, "backend": "maildir"}


# --- Gmail API (the emulator) -----------------------------------------------------------------------------------


async def test_a_healthy_gmail_token(emulator: tuple[GmailEmulator, str]) -> None:
    running, url = emulator
    async with server_client(gmail_settings(url)) as client:
        diagnosis, raw = await diagnose(client)
        info, _ = await call(client, "mailbox_info")
    assert all(check.ok for check in diagnosis.checks), render(diagnosis.checks)
    checks = by_name(diagnosis)
    assert checks["Gmail backend"].detail == "Gmail API (token from GOOGLE_TOKEN_JSON)"
    assert checks["Gmail token"].detail == "loads and refreshes" and running.tokens.refreshes >= 1
    assert checks["Gmail mailbox"].detail == "helpdesk@shop.example"
    assert "mx.google.com" in checks["Gmail authserv-ids"].detail
    assert REFRESH_TOKEN not in raw and CLIENT_SECRET not in raw, "no secret in the answer"
    assert info == {"address": "helpdesk@shop.example", "backend": "gmail"}


async def test_a_revoked_refresh_token(emulator: tuple[GmailEmulator, str]) -> None:
    running, url = emulator
    running.tokens.revoke(REFRESH_TOKEN)
    async with server_client(gmail_settings(url)) as client:
        diagnosis, raw = await diagnose(client)
    (problem,) = diagnosis.problems
    assert problem.name == "Gmail token" and "invalid_grant" in problem.detail and "gmail-mcp auth" in problem.fix
    assert by_name(diagnosis)["Gmail mailbox"].ok is None
    assert REFRESH_TOKEN not in raw


async def test_gmail_modify_not_granted(emulator: tuple[GmailEmulator, str]) -> None:
    running, url = emulator
    running.tokens.scope = "https://www.googleapis.com/auth/gmail.readonly"
    async with server_client(gmail_settings(url)) as client:
        diagnosis, _ = await diagnose(client)
    (problem,) = diagnosis.problems
    assert problem.name == "Gmail scopes" and "gmail.modify not granted (granted: gmail.readonly)" in problem.detail


async def test_the_token_is_checked_once_without_retry(emulator: tuple[GmailEmulator, str]) -> None:
    running, url = emulator
    async with server_client(gmail_settings(url, max_retries=4)) as client:
        running.faults.http_status(503, 1)  # the next API call fails once: the running mailbox would retry it
        diagnosis, _ = await diagnose(client)
    problem = by_name(diagnosis)["Gmail mailbox"]
    assert problem.ok is False and "getProfile failed" in problem.detail, render(diagnosis.checks)


async def test_a_server_built_without_settings_reports_what_it_can(emulator: tuple[GmailEmulator, str]) -> None:
    _, url = emulator
    async with (
        open_mailbox(gmail_settings(url)) as (mailbox, name),
        Client(create_server(mailbox, backend_name=name)) as client,
    ):
        diagnosis, _ = await diagnose(client)
    checks = by_name(diagnosis)
    assert checks["Gmail token"].ok is None and checks["Gmail mailbox"].detail == "helpdesk@shop.example"
    assert not diagnosis.problems, render(diagnosis.checks)
