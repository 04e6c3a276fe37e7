"""`support-agent doctor` against the three loopback emulators: a healthy setup, then one deliberate fault each."""

from __future__ import annotations

import argparse
import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gmail_mcp.config import GmailSettings
from gmail_mcp.emulator import GMAIL_MODIFY_SCOPE, GmailEmulator
from gmail_mcp.emulator import serve_emulator as serve_gmail
from orchestrator.config import AgentConfig, Engine, Secrets, load_config
from orchestrator.doctor import MARKS, Check, add_doctor_parser, diagnose, failed, render, run_doctor
from orchestrator.openai_emulator import EMULATOR_API_KEY, OpenAIEmulator
from orchestrator.openai_emulator import serve_emulator as serve_openai
from shopify_mcp.config import ShopifySettings
from shopify_mcp.emulator import ShopifyEmulator, load_sandbox_store
from shopify_mcp.emulator import serve_emulator as serve_shopify

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

SHOPIFY_TOKEN = "shpat_doctor_0123456789abcdef"
REFRESH_TOKEN = "1//doctor-refresh-token"
TIMEOUT = 5.0
SKIPPED = MARKS[None]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SHOPIFY_/GMAIL_/OPENAI_ variable or `.env` of the developer's leaks into the settings under test."""
    for name in list(os.environ):
        if name.startswith(("SHOPIFY_", "GMAIL_", "GOOGLE_", "OPENAI_", "SUPPORT_AGENT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


@dataclass
class Setup:
    """Three running emulators and healthy settings for them; a test changes one thing and diagnoses."""

    tmp: Path
    shopify: ShopifyEmulator
    shopify_url: str
    gmail: GmailEmulator
    gmail_url: str
    openai: OpenAIEmulator
    openai_url: str
    config: AgentConfig = field(default_factory=load_config)

    def token_info(self) -> dict[str, Any]:
        return {
            "refresh_token": REFRESH_TOKEN,
            "client_id": "doctor-client.apps.googleusercontent.com",
            "client_secret": "doctor-secret",
            "token_uri": f"{self.gmail_url}/token",
            "scopes": [GMAIL_MODIFY_SCOPE],
        }

    def shopify_settings(self, **changes: Any) -> ShopifySettings:
        values: dict[str, Any] = {
            "store": self.shopify_url,
            "access_token": SHOPIFY_TOKEN,
            "ticket_db": self.tmp / "tickets" / "tickets.sqlite3",
            **changes,
        }
        return ShopifySettings(_env_file=None, **values)

    def gmail_settings(self, **changes: Any) -> GmailSettings:
        values: dict[str, Any] = {
            "token_json": json.dumps(self.token_info()),
            "api_endpoint": self.gmail_url,
            "maildir": self.tmp / "maildir",
            **changes,
        }
        return GmailSettings(_env_file=None, **values)

    def secrets(self, **changes: Any) -> Secrets:
        values: dict[str, Any] = {
            "OPENAI_API_KEY": EMULATOR_API_KEY,
            "OPENAI_BASE_URL": self.openai_url,
            "ledger": self.tmp / "state" / "ledger.sqlite3",
            **changes,
        }
        return Secrets(_env_file=None, **values)

    async def diagnose(
        self,
        *,
        shopify: ShopifySettings | None = None,
        gmail: GmailSettings | None = None,
        secrets: Secrets | None = None,
        config: AgentConfig | None = None,
    ) -> list[Check]:
        return await diagnose(
            shopify_settings=shopify or self.shopify_settings(),
            gmail_settings=gmail or self.gmail_settings(),
            secrets=secrets or self.secrets(),
            config=config or self.config,
            call_timeout=TIMEOUT,
        )


@asynccontextmanager
async def emulators(tmp: Path) -> AsyncIterator[Setup]:
    shopify = ShopifyEmulator(store=load_sandbox_store(), access_tokens={SHOPIFY_TOKEN})
    gmail = GmailEmulator(refresh_tokens={REFRESH_TOKEN})
    openai = OpenAIEmulator()
    async with serve_shopify(shopify) as shopify_url, serve_gmail(gmail) as gmail_url, serve_openai(openai) as oa_url:
        yield Setup(tmp, shopify, shopify_url, gmail, gmail_url, openai, oa_url)


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    async with emulators(tmp_path) as running:
        yield running


def line(checks: list[Check], name: str) -> str:
    """The rendered line of the check called `name`."""
    (found,) = [text for text in render(checks).splitlines() if text[2:].startswith(name + " ")]
    return found


def only_failure(checks: list[Check], name: str) -> str:
    """Assert that exactly the check `name` failed; its rendered line."""
    assert [check.name for check in failed(checks)] == [name], render(checks)
    text = line(checks, name)
    assert text.startswith("✗") and "→ fix:" in text
    return text


# --- healthy ---------------------------------------------------------------------------------------------------


async def test_a_healthy_setup_passes_every_check(setup: Setup) -> None:
    checks = await setup.diagnose()
    report = render(checks)
    assert not failed(checks), report
    assert [check.name for check in checks] == [
        "Config file",
        "Shopify mode",
        "Shopify token",
        "Shopify API version",
        "Shopify scopes",
        "Gmail backend",
        "Gmail token",
        "Gmail scopes",
        "Gmail mailbox",
        "LLM endpoint",
        "LLM models",
        "Ledger folder",
        "Tickets folder",
    ]
    assert all(check.ok for check in checks), report
    assert setup.gmail.address in line(checks, "Gmail mailbox")
    assert "2026-07 supported" in line(checks, "Shopify API version")
    assert "gpt-5-mini available" in line(checks, "LLM models")
    assert report.splitlines()[-1].startswith("all good")
    assert setup.gmail.tokens.refreshes == 1, "the refresh token was exercised"
    assert not (setup.tmp / "state").exists() and not (setup.tmp / "tickets").exists(), "doctor creates nothing"
    assert not list(setup.tmp.rglob(".doctor-*")), "the probe files are deleted"


async def test_run_doctor_reads_the_environment_and_exits_0(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "SHOPIFY_STORE": setup.shopify_url,
        "SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN,
        "SHOPIFY_TICKET_DB": str(tmp_path / "tickets.sqlite3"),
        "GOOGLE_TOKEN_JSON": json.dumps(setup.token_info()),
        "GMAIL_API_ENDPOINT": setup.gmail_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    add_doctor_parser(parser.add_subparsers(dest="command").add_parser, common)
    args = parser.parse_args(["doctor", "--timeout", "5"])
    out = io.StringIO()
    code = await run_doctor(args, setup.secrets(), setup.config, out)
    assert code == 0, out.getvalue()
    assert len(out.getvalue().splitlines()) == 14
    assert "✗" not in out.getvalue()


# --- Shopify ----------------------------------------------------------------------------------------------------


async def test_a_wrong_shopify_token(setup: Setup) -> None:
    checks = await setup.diagnose(shopify=setup.shopify_settings(access_token="shpat_wrong_token_00000000"))
    text = only_failure(checks, "Shopify token")
    assert "rejected" in text and "SHOPIFY_ACCESS_TOKEN" in text
    assert line(checks, "Shopify scopes").startswith(SKIPPED)


async def test_a_missing_scope_is_named_with_what_breaks(setup: Setup) -> None:
    setup.shopify.scopes.discard("read_all_orders")
    checks = await setup.diagnose()
    text = only_failure(checks, "Shopify scopes")
    assert "missing read_all_orders (orders older than 60 days are invisible)" in text
    assert "orders older than 60 days are invisible" in text


async def test_an_unsupported_api_version(setup: Setup) -> None:
    checks = await setup.diagnose(shopify=setup.shopify_settings(api_version="2024-10"))
    text = only_failure(checks, "Shopify API version")
    assert "Shopify served 2025-07 instead of 2024-10" in text
    assert "update SHOPIFY_API_VERSION" in text


# --- Gmail ------------------------------------------------------------------------------------------------------


async def test_a_revoked_gmail_refresh_token(setup: Setup) -> None:
    setup.gmail.tokens.revoke(REFRESH_TOKEN)
    checks = await setup.diagnose()
    text = only_failure(checks, "Gmail token")
    assert "invalid_grant" in text and "gmail-mcp auth" in text
    assert line(checks, "Gmail mailbox").startswith(SKIPPED)


async def test_a_missing_gmail_token_file(setup: Setup) -> None:
    token_file = setup.tmp / "gmail-token.json"
    token_file.write_text(json.dumps(setup.token_info()))
    settings = setup.gmail_settings(token_json=None, token_file=token_file, backend="gmail")
    token_file.unlink()
    checks = await setup.diagnose(gmail=settings)
    text = only_failure(checks, "Gmail token")
    assert f"No Gmail token at {token_file}" in text and "gmail-mcp auth" in text


async def test_run_doctor_reports_a_missing_token_file_in_the_settings(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPIFY_STORE", setup.shopify_url)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", SHOPIFY_TOKEN)
    monkeypatch.setenv("SHOPIFY_TICKET_DB", str(tmp_path / "tickets.sqlite3"))
    monkeypatch.setenv("GMAIL_BACKEND", "gmail")
    monkeypatch.setenv("GMAIL_TOKEN_FILE", str(tmp_path / "absent-token.json"))
    out = io.StringIO()
    code = await run_doctor(argparse.Namespace(timeout=TIMEOUT), setup.secrets(), setup.config, out)
    assert code == 1
    bad = [text for text in out.getvalue().splitlines() if text.startswith("✗")]
    assert len(bad) == 1 and bad[0].startswith("✗ Gmail settings") and "gmail-mcp auth" in bad[0], out.getvalue()


async def test_gmail_modify_not_granted(setup: Setup) -> None:
    setup.gmail.tokens.scope = "https://www.googleapis.com/auth/gmail.readonly"
    checks = await setup.diagnose()
    text = only_failure(checks, "Gmail scopes")
    assert "gmail.modify not granted (granted: gmail.readonly)" in text


# --- LLM --------------------------------------------------------------------------------------------------------


async def test_a_wrong_openai_key(setup: Setup) -> None:
    checks = await setup.diagnose(secrets=setup.secrets(OPENAI_API_KEY="sk-wrong"))
    text = only_failure(checks, "LLM endpoint")
    assert "rejected the API key (HTTP 401)" in text and "OPENAI_API_KEY" in text


async def test_a_model_the_endpoint_does_not_list(setup: Setup) -> None:
    config = setup.config.model_copy(update={"engine": Engine(router_model="gpt-9-imaginary")})
    checks = await setup.diagnose(config=config)
    text = only_failure(checks, "LLM models")
    assert "gpt-9-imaginary (engine.router_model)" in text
    assert "engine.agent_model" not in text.split("→")[0]


async def test_an_unreachable_openai_endpoint(setup: Setup) -> None:
    checks = await setup.diagnose(secrets=setup.secrets(OPENAI_BASE_URL="http://127.0.0.1:9/v1"))
    text = only_failure(checks, "LLM endpoint")
    assert "cannot connect" in text and "OPENAI_BASE_URL" in text


# --- files ------------------------------------------------------------------------------------------------------


async def test_an_unwritable_ledger_folder(setup: Setup) -> None:
    blocker = setup.tmp / "blocked"
    blocker.write_text("a file where the ledger's folder should be")
    checks = await setup.diagnose(secrets=setup.secrets(ledger=blocker / "ledger.sqlite3"))
    text = only_failure(checks, "Ledger folder")
    assert "not a folder" in text and "SUPPORT_AGENT_LEDGER" in text


# --- nothing configured -----------------------------------------------------------------------------------------


async def test_sandbox_maildir_and_offline_engine_are_fine(tmp_path: Path) -> None:
    checks = await diagnose(
        shopify_settings=ShopifySettings(_env_file=None, ticket_db=tmp_path / "t" / "tickets.sqlite3"),
        gmail_settings=GmailSettings(_env_file=None, maildir=tmp_path / "maildir", token_file=tmp_path / "none"),
        secrets=Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3"),
        config=load_config(),
        call_timeout=TIMEOUT,
    )
    assert not failed(checks), render(checks)
    assert "sandbox" in line(checks, "Shopify mode")
    assert "Maildir" in line(checks, "Gmail backend")
    assert line(checks, "LLM endpoint").startswith(SKIPPED) and "offline engine will be used" in line(
        checks, "LLM endpoint"
    )
