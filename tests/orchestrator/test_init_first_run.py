"""The first run for a real shop: the daemon refuses a real mailbox while the configuration is still the demo
shop's, doctor says so, and a file from `support-agent init` makes it answer as the merchant's own shop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import anyio
import pytest

from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox
from orchestrator.config import Secrets, load_config
from orchestrator.doctor import diagnose
from orchestrator.ledger import Ledger
from support_core.diagnosis import Check, problems, render
from tests.processes import shared_cache

pytestmark = pytest.mark.integration

MAILBOX = "support@aurora-activewear.example"
TIMEOUT = 5.0


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SHOPIFY_/GMAIL_/OPENAI_ variable, `.env` or home-folder file of the developer's reaches the servers."""
    for name in list(os.environ):
        if name.startswith(("SHOPIFY_", "GMAIL_", "GOOGLE_", "OPENAI_", "SUPPORT_AGENT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    install_sandbox_mailbox(tmp_path / "maildir")
    return tmp_path


def environment(folder: Path) -> dict[str, str]:
    """The sandbox Maildir and store, and nothing from the developer's environment."""
    return {
        "GMAIL_BACKEND": "maildir",
        "GMAIL_MAILDIR": str(folder / "maildir"),
        "SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3"),
        "SUPPORT_AGENT_LEDGER": str(folder / "ledger.sqlite3"),
        "HOME": str(folder),
        "PATH": os.environ.get("PATH", ""),
        **shared_cache(),
    }


def cli(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        env=env or environment(folder),
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def drafts(folder: Path) -> list[Path]:
    cur = folder / "maildir" / ".Drafts" / "cur"
    return sorted(cur.iterdir()) if cur.is_dir() else []


def only_failure(checks: list[Check], name: str) -> str:
    """Assert that exactly the check `name` failed; its rendered line."""
    assert [check.name for check in problems(checks)] == [name], render(checks)
    (found,) = [text for text in render(checks).splitlines() if text[2:].startswith(name + " ")]
    assert found.startswith("✗") and "→ fix:" in found
    return found


# --- the daemon -------------------------------------------------------------------------------------------------


REAL = "support@real-shop.example"
REFUSAL = (
    "support-agent: the configuration still describes the demo shop (Aurora Activewear: shop.name, shop.domains, "
    f"tone.signature, tone.signatures) but the mailbox {REAL} is a real one: run `support-agent init` (or give "
    "--config) first.\n"
)


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        (["once"], {"GMAIL_ADDRESS": REAL}),
        (["run", "--interval", "0"], {"GMAIL_ADDRESS": REAL}),
        (["serve", "--with-worker", "--insecure-no-secret", "--port", "0"], {"GMAIL_ADDRESS": REAL}),
        (["once"], {"GMAIL_ADDRESS": REAL, "SUPPORT_AGENT_MAILBOX": MAILBOX}),  # the server knows better
    ],
    ids=["once", "run", "serve-with-worker", "address-set-to-the-sandbox"],
)
def test_the_daemon_refuses_a_real_mailbox_with_the_demo_shops_identity(
    sandbox: Path, command: list[str], variables: dict[str, str]
) -> None:
    done = cli(sandbox, *command, env={**environment(sandbox), **variables})
    assert (done.returncode, done.stderr) == (2, REFUSAL)
    assert not drafts(sandbox)
    assert ledger_size(sandbox) == 0, "nothing was processed"


def ledger_size(folder: Path) -> int:
    async def count() -> int:
        if not (folder / "ledger.sqlite3").exists():
            return 0
        async with Ledger(folder / "ledger.sqlite3") as ledger:
            return len(await ledger.entries())

    return anyio.run(count)


def test_init_then_once_answers_as_the_merchants_own_shop(sandbox: Path) -> None:
    written = cli(
        sandbox,
        *("init", "--name", "Nordlicht Sport", "--domain", "nordlicht-sport.example"),
        *("--address", "hilfe@nordlicht-sport.example", "--persona", "Lena", "--language", "en,es"),
        *("--signature", "Lena\\nNordlicht Sport"),
    )
    assert written.returncode == 0, written.stderr
    done = cli(sandbox, "--config", "support-agent.toml", "once")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Read mailbox default: hilfe@nordlicht-sport.example (maildir).")
    texts = [message_from_bytes(path.read_bytes(), policy=default) for path in drafts(sandbox)]
    assert texts, done.stdout
    for message in texts:
        assert message["From"].addresses[0].addr_spec == "hilfe@nordlicht-sport.example"
        body = message.get_body(("plain",))
        own = "\n".join(line for line in (body.get_content() if body else "").splitlines() if not line.startswith(">"))
        assert "Lena\nNordlicht Sport" in own and "Carolina" not in own, own


@pytest.mark.anyio
async def test_with_several_mailboxes_only_the_one_answered_as_the_demo_shop_is_left_out(sandbox: Path) -> None:
    from orchestrator.config import MailboxConfig, ServerConfig
    from orchestrator.runner import open_runtime

    def mailbox(name: str, address: str, **own: dict[str, object]) -> MailboxConfig:
        env = {"HOME": str(sandbox), "GMAIL_MAILDIR": str(sandbox / name), "GMAIL_ADDRESS": address}
        return MailboxConfig(name=name, address=address, gmail=ServerConfig(env=env), **own)  # type: ignore[arg-type]

    own = {"shop": {"name": "My Shop", "domains": ["my-shop.example"]}, "tone": {"signature": "Ana\nMy Shop"}}
    boxes = (mailbox("demo", MAILBOX), mailbox("mine", "help@my-shop.example", **own), mailbox("real", REAL))
    config = load_config().model_copy(update={"mailboxes": boxes})
    async with open_runtime(Secrets(_env_file=None, ledger=sandbox / "ledger.sqlite3"), config) as runtime:
        assert [daemon.mailbox for daemon in runtime.daemons] == ["demo", "mine"]
        assert list(runtime.unavailable) == ["real"]
        assert f"the mailbox {REAL} is a real one" in runtime.unavailable["real"]
        assert runtime.daemons[1].config.tone.signature_for("es") == "Ana\nMy Shop"


# --- doctor -----------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_real_mailbox_answered_as_the_demo_shop_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon refuses this setup (the defaults' demo shop on a mailbox of its own), so doctor fails it."""
    monkeypatch.setenv("GMAIL_MAILDIR", str(tmp_path / "maildir"))
    monkeypatch.setenv("GMAIL_ADDRESS", "Support@Real-Shop.example")
    checks = await diagnose(
        secrets=Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3"), config=load_config(), call_timeout=TIMEOUT
    )
    text = only_failure(checks, "Settings")
    assert "the daemon refuses to answer support@real-shop.example as the demo shop" in text
    assert "support-agent init" in text and "GMAIL_ADDRESS" not in text.split("→")[0]


@pytest.mark.anyio
async def test_a_partial_config_file_names_the_settings_it_leaves_to_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GMAIL_MAILDIR", str(tmp_path / "maildir"))
    monkeypatch.setenv("GMAIL_ADDRESS", "support@my-shop.example")
    path = tmp_path / "partial.toml"
    path.write_text('[shop]\nname = "My Shop"\ndomains = ["my-shop.example"]\n', encoding="utf-8")
    checks = await diagnose(
        secrets=Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3", config=path),
        config=load_config(path),
        call_timeout=TIMEOUT,
    )
    text = only_failure(checks, "Settings")  # the signatures still name the demo shop: refused on a real mailbox
    assert f"defaults: shop.timezone, tone.persona_name, tone.signature (not in {path})" in text
    assert "your shop's identity (tone.signature, tone.signatures are Aurora Activewear's)" in text
    assert "shop.name" not in text and "GMAIL_ADDRESS" not in text.split("→")[0]
