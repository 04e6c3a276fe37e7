"""`support-agent doctor` end to end: the tool servers started over real stdio exactly as the daemon starts them
(from the environment), against the three loopback emulators; a healthy setup, then one deliberate fault each.

A fault the servers have no part in (the LLM endpoint, the ledger's folder) is diagnosed by its own check alone:
`diagnose` runs those checks after the servers', whatever the servers said, and starting both servers for each
would cost two seconds of CPU and prove nothing more."""

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

from orchestrator.config import DEFAULT_CONFIG, AgentConfig, Engine, Secrets, load_config
from orchestrator.doctor import add_doctor_parser, diagnose, ledger_check, llm_checks, run_doctor
from shopify_mcp.emulator import load_sandbox_store
from support_core.diagnosis import MARKS, Check, problems, render
from support_testing.gmail_emulator import GMAIL_MODIFY_SCOPE, GmailEmulator
from support_testing.gmail_emulator import serve_emulator as serve_gmail
from support_testing.openai_emulator import EMULATOR_API_KEY, OpenAIEmulator
from support_testing.openai_emulator import serve_emulator as serve_openai
from support_testing.shopify_emulator import ShopifyEmulator
from support_testing.shopify_emulator import serve_emulator as serve_shopify
from tests.processes import http_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

SHOPIFY_TOKEN = "shpat_doctor_0123456789abcdef"
REFRESH_TOKEN = "1//doctor-refresh-token"
CLIENT_SECRET = "doctor-secret"
TIMEOUT = 5.0
SKIPPED = MARKS[None]
OWN_SHOP = """
[shop]
name = "Borealis Outdoor"
domains = ["borealis-outdoor.example"]
timezone = "Europe/Oslo"

[tone]
persona_name = "Bruno"
signature = "Bruno\\nBorealis Outdoor"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SHOPIFY_/GMAIL_/OPENAI_ variable, `.env` or home-folder file of the developer's reaches the servers."""
    for name in list(os.environ):
        if name.startswith(("SHOPIFY_", "GMAIL_", "GOOGLE_", "OPENAI_", "SUPPORT_AGENT_")):
            monkeypatch.delenv(name)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield


@dataclass
class Setup:
    """Three running emulators and a healthy environment for them; a test changes one thing and diagnoses."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    shopify: ShopifyEmulator
    shopify_url: str
    gmail: GmailEmulator
    gmail_url: str
    openai: OpenAIEmulator
    openai_url: str
    config: AgentConfig = field(default_factory=load_config)
    config_path: Path | None = None

    def token_info(self) -> dict[str, Any]:
        return {
            "refresh_token": REFRESH_TOKEN,
            "client_id": "doctor-client.apps.googleusercontent.com",
            "client_secret": CLIENT_SECRET,
            "token_uri": f"{self.gmail_url}/token",
            "scopes": [GMAIL_MODIFY_SCOPE],
        }

    def environment(self, **changes: str | None) -> None:
        """The servers' settings, as a user sets them; a change of None removes the variable."""
        values: dict[str, str | None] = {
            "SHOPIFY_STORE": self.shopify_url,
            "SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN,
            "SHOPIFY_TICKET_DB": str(self.tmp / "tickets" / "tickets.sqlite3"),
            "GOOGLE_TOKEN_JSON": json.dumps(self.token_info()),
            "GMAIL_API_ENDPOINT": self.gmail_url,
            "GMAIL_MAILDIR": str(self.tmp / "maildir"),
            **changes,
        }
        for name, value in values.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)

    def secrets(self, **changes: Any) -> Secrets:
        values: dict[str, Any] = {
            "OPENAI_API_KEY": EMULATOR_API_KEY,
            "OPENAI_BASE_URL": self.openai_url,
            "ledger": self.tmp / "state" / "ledger.sqlite3",
            "config": self.config_path,
            **changes,
        }
        return Secrets(_env_file=None, **values)

    async def diagnose(self, *, secrets: Secrets | None = None, config: AgentConfig | None = None) -> list[Check]:
        return await diagnose(secrets=secrets or self.secrets(), config=config or self.config, call_timeout=TIMEOUT)

    def own_shop(self) -> None:
        """The configuration file of a shop of its own (as `support-agent init` writes one): nothing of the demo."""
        self.config_path = self.tmp / "shop.toml"
        self.config_path.write_text(OWN_SHOP, encoding="utf-8")
        self.config = load_config(self.config_path)


@asynccontextmanager
async def emulators(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Setup]:
    shopify = ShopifyEmulator(store=load_sandbox_store(), access_tokens={SHOPIFY_TOKEN})
    gmail = GmailEmulator(refresh_tokens={REFRESH_TOKEN})
    openai = OpenAIEmulator()
    async with serve_shopify(shopify) as shopify_url, serve_gmail(gmail) as gmail_url, serve_openai(openai) as oa_url:
        setup = Setup(tmp, monkeypatch, shopify, shopify_url, gmail, gmail_url, openai, oa_url)
        setup.environment()
        setup.own_shop()
        yield setup


@pytest.fixture
async def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Setup]:
    async with emulators(tmp_path, monkeypatch) as running:
        yield running


def line(checks: list[Check], name: str) -> str:
    """The rendered line of the check called `name`."""
    (found,) = [text for text in render(checks).splitlines() if text[2:].startswith(name + " ")]
    return found


def only_failure(checks: list[Check], name: str) -> str:
    """Assert that exactly the check `name` failed; its rendered line."""
    assert [check.name for check in problems(checks)] == [name], render(checks)
    text = line(checks, name)
    assert text.startswith("✗") and "→ fix:" in text
    return text


# --- healthy ---------------------------------------------------------------------------------------------------


async def test_a_healthy_setup_passes_every_check(setup: Setup) -> None:
    checks = await setup.diagnose()
    report = render(checks)
    assert [check.name for check in checks] == [
        "Config file",
        "Settings",
        "Shopify server",
        "Shopify mode",
        "Shopify token",
        "Shopify API version",
        "Shopify scopes",
        "Ticket sink",
        "Gmail server",
        "Gmail backend",
        "Gmail token",
        "Gmail scopes",
        "Gmail mailbox",
        "Gmail authserv-ids",
        "LLM endpoint",
        "LLM models",
        "Ledger folder",
    ]
    assert all(check.ok for check in checks), report
    assert "started over stdio (python -m shopify_mcp)" in line(checks, "Shopify server")
    assert "shop.toml over the defaults" in line(checks, "Config file")
    assert "the shop's own: Borealis Outdoor" in line(checks, "Settings")
    assert setup.gmail.address in line(checks, "Gmail mailbox")
    assert "2026-07 supported" in line(checks, "Shopify API version")
    assert "gpt-5-mini available" in line(checks, "LLM models")
    assert report.splitlines()[-1].startswith("all good")
    assert setup.gmail.tokens.refreshes == 1, "the refresh token was exercised, once"
    for secret in (SHOPIFY_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, EMULATOR_API_KEY):
        assert secret not in report
    assert not (setup.tmp / "state").exists() and not (setup.tmp / "tickets").exists(), "doctor creates nothing"
    assert not (setup.tmp / "maildir").exists()
    assert not list(setup.tmp.rglob(".doctor-*")), "the probe files are deleted"


async def test_run_doctor_reads_the_environment_and_exits_0(setup: Setup) -> None:
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    add_doctor_parser(parser.add_subparsers(dest="command").add_parser, common)
    args = parser.parse_args(["doctor", "--timeout", "5"])
    out = io.StringIO()
    code = await run_doctor(args, setup.secrets(), setup.config, out)
    assert code == 0, out.getvalue()
    assert len(out.getvalue().splitlines()) == 18
    assert "✗" not in out.getvalue()


# --- a server that cannot start ---------------------------------------------------------------------------------


async def test_a_setting_that_stops_a_server_is_one_readable_line(setup: Setup) -> None:
    setup.environment(SHOPIFY_API_VERSION="2026-13")
    checks = await setup.diagnose()
    text = only_failure(checks, "Shopify server")
    assert "exited at start-up: shopify-mcp: Invalid Shopify settings" in text
    assert "SHOPIFY_API_VERSION must look like 2026-07" in text and "Traceback" not in text
    assert not [check for check in checks if check.name.startswith("Shopify ") and check.name != "Shopify server"]
    assert line(checks, "Gmail token").startswith("✓"), "the other server is checked all the same"


async def test_run_doctor_reports_a_missing_token_file(setup: Setup, tmp_path: Path) -> None:
    setup.environment(
        GOOGLE_TOKEN_JSON=None, GMAIL_BACKEND="gmail", GMAIL_TOKEN_FILE=str(tmp_path / "absent-token.json")
    )
    out = io.StringIO()
    code = await run_doctor(argparse.Namespace(timeout=TIMEOUT), setup.secrets(), setup.config, out)
    assert code == 1
    bad = [text for text in out.getvalue().splitlines() if text.startswith("✗")]
    assert len(bad) == 1, out.getvalue()
    assert bad[0].startswith("✗ Gmail server") and "absent-token.json" in bad[0] and "gmail-mcp auth" in bad[0]


async def test_servers_at_urls_are_asked_over_http(setup: Setup, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "GMAIL_BACKEND": "maildir",
        "GMAIL_MAILDIR": str(tmp_path / "remote-maildir"),
        "GMAIL_AUTHSERV_IDS": "mx.shop.example",
    }
    async with http_server("gmail_mcp", env) as gmail:
        secrets = setup.secrets(shopify_url="http://127.0.0.1:9/mcp", gmail_url=f"{gmail.url}/mcp")
        checks = await setup.diagnose(secrets=secrets)
    text = only_failure(checks, "Shopify server")
    assert "cannot reach http://127.0.0.1:9/mcp" in text and "SUPPORT_AGENT_SHOPIFY_URL" in text
    assert f"reached at {gmail.url}/mcp" in line(checks, "Gmail server")
    assert "remote-maildir" in line(checks, "Gmail backend")


# --- Shopify ----------------------------------------------------------------------------------------------------


async def test_a_wrong_shopify_token(setup: Setup) -> None:
    setup.environment(SHOPIFY_ACCESS_TOKEN="shpat_wrong_token_00000000")
    checks = await setup.diagnose()
    text = only_failure(checks, "Shopify token")
    assert "rejected" in text and "SHOPIFY_ACCESS_TOKEN" in text and "shpat_wrong" not in text
    assert line(checks, "Shopify scopes").startswith(SKIPPED)


async def test_a_missing_scope_is_named_with_what_breaks(setup: Setup) -> None:
    setup.shopify.scopes.discard("read_all_orders")
    checks = await setup.diagnose()
    text = only_failure(checks, "Shopify scopes")
    assert "missing read_all_orders (orders older than 60 days are invisible)" in text


async def test_an_unsupported_api_version(setup: Setup) -> None:
    setup.environment(SHOPIFY_API_VERSION="2024-10")
    checks = await setup.diagnose()
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


async def test_gmail_modify_not_granted(setup: Setup) -> None:
    setup.gmail.tokens.scope = "https://www.googleapis.com/auth/gmail.readonly"
    checks = await setup.diagnose()
    text = only_failure(checks, "Gmail scopes")
    assert "gmail.modify not granted (granted: gmail.readonly)" in text


# --- LLM --------------------------------------------------------------------------------------------------------


async def test_a_wrong_openai_key(setup: Setup) -> None:
    checks = await llm_checks(setup.secrets(OPENAI_API_KEY="sk-wrong"), setup.config, TIMEOUT)
    text = only_failure(checks, "LLM endpoint")
    assert "rejected the API key (HTTP 401)" in text and "OPENAI_API_KEY" in text
    assert line(checks, "LLM models").startswith(SKIPPED)


async def test_a_model_the_endpoint_does_not_list(setup: Setup) -> None:
    config = setup.config.model_copy(update={"engine": Engine(router_model="gpt-9-imaginary")})
    checks = await llm_checks(setup.secrets(), config, TIMEOUT)
    text = only_failure(checks, "LLM models")
    assert "gpt-9-imaginary (engine.router_model)" in text
    assert "engine.agent_model" not in text.split("→")[0]


async def test_an_unreachable_openai_endpoint(setup: Setup) -> None:
    checks = await llm_checks(setup.secrets(OPENAI_BASE_URL="http://127.0.0.1:9/v1"), setup.config, TIMEOUT)
    text = only_failure(checks, "LLM endpoint")
    assert "cannot connect" in text and "OPENAI_BASE_URL" in text


# --- files ------------------------------------------------------------------------------------------------------


async def test_an_unwritable_ledger_folder(setup: Setup) -> None:
    blocker = setup.tmp / "blocked"
    blocker.write_text("a file where the ledger's folder should be")
    checks = [await ledger_check(str(blocker / "ledger.sqlite3"), TIMEOUT)]
    text = only_failure(checks, "Ledger folder")
    assert "not a folder" in text and "SUPPORT_AGENT_LEDGER" in text


async def test_a_postgres_ledger_is_opened_and_counted(postgres_url: str) -> None:
    check = await ledger_check(postgres_url, 10)
    assert check.ok, check
    assert "0 messages" in check.detail and "127.0.0.1" in check.detail


async def test_an_unreachable_postgres_ledger_is_one_line_without_the_password() -> None:
    check = await ledger_check("postgresql://agent:hunter2@127.0.0.1:9/ledger", 10)
    assert not check.ok
    assert "127.0.0.1:9" in check.detail and "hunter2" not in check.detail and "\n" not in check.detail


async def test_an_unwritable_tickets_folder(setup: Setup) -> None:
    blocker = setup.tmp / "blocked"
    blocker.write_text("a file where the tickets folder should be")
    setup.environment(SHOPIFY_TICKET_DB=str(blocker / "tickets.sqlite3"))
    checks = await setup.diagnose()
    text = only_failure(checks, "Ticket sink")
    assert "not a folder" in text and "SHOPIFY_TICKET_DB" in text


# --- nothing configured -----------------------------------------------------------------------------------------


async def test_sandbox_maildir_and_offline_engine_are_fine(tmp_path: Path) -> None:
    checks = await diagnose(
        secrets=Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3"), config=load_config(), call_timeout=TIMEOUT
    )
    assert not problems(checks), render(checks)
    assert "sandbox" in line(checks, "Shopify mode")
    assert "Maildir" in line(checks, "Gmail backend")
    assert line(checks, "LLM endpoint").startswith(SKIPPED) and "offline engine will be used" in line(
        checks, "LLM endpoint"
    )
    warning = line(checks, "Gmail authserv-ids")
    assert warning.startswith("!") and "GMAIL_AUTHSERV_IDS" in warning
    settings = line(checks, "Settings")
    assert settings.startswith("!") and "defaults: shop.name, shop.domains, shop.timezone" in settings
    assert "(no config file)" in settings and "are Aurora Activewear's" in settings
    assert "GMAIL_ADDRESS (the Maildir is support@aurora-activewear.example" in settings
    assert "SHOPIFY_STORE (the sandbox store answers)" in settings and "support-agent init" in settings
    assert "none given" in line(checks, "Config file")
    assert render(checks).splitlines()[-1].startswith("all good, 2 warnings to read")


async def test_every_configured_mailbox_has_its_servers_checked_and_named(tmp_path: Path) -> None:
    """With `[[mailboxes]]` doctor starts each mailbox's own servers, as the daemon does: a setting that breaks
    only the second mailbox's Gmail server is one failed line naming that mailbox."""
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        DEFAULT_CONFIG.read_text(encoding="utf-8")
        + f'[[mailboxes]]\nname = "north"\ngmail = {{ env = {{ GMAIL_MAILDIR = "{tmp_path / "north"}" }} }}\n'
        + '[[mailboxes]]\nname = "south"\ngmail = { env = { GMAIL_ADDRESS = "not an address" } }\n',
        encoding="utf-8",
    )
    checks = await diagnose(
        secrets=Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3"),
        config=load_config(config_path),
        call_timeout=TIMEOUT,
    )
    text = only_failure(checks, "[south] Gmail server")
    assert "GMAIL_ADDRESS" in text
    assert line(checks, "[north] Gmail server").startswith("✓")
    assert line(checks, "[north] Shopify server").startswith("✓") and line(checks, "[south] Shopify server")
