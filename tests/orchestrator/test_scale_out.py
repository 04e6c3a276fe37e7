"""Scaling out: several worker processes on one PostgreSQL ledger (one SIGKILLed and restarted), and several
mailboxes with their own shops in one process, with real stdio MCP servers, Maildirs and a real PostgreSQL.

The three-worker case reuses the crash tests' worker process (`crash_worker.py`) and their end-state checks
(`check_final_state`): every message final, exactly one draft per answered message, every draft in the ledger.
The two-shop case gives the second shop a copy of the sandbox store with its own name, domains and tracking
numbers, and the same customers: the same customer writing to both shops must get each shop's own data only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import anyio
import pytest

from gmail_mcp.sandbox_mailbox import sandbox_files
from orchestrator.config import AgentConfig, MailboxConfig, Secrets, ServerConfig, load_config
from orchestrator.inbox_demo import MAILBOX, SANDBOX_AUTHSERV_ID, prepare
from orchestrator.ledger import Ledger
from orchestrator.runner import drain, open_runtime
from tests.orchestrator.test_crash_safety import (
    LEASE,
    ROOT,
    Run,
    check_final_state,
    install,
    restart,
    run_worker,
)
from tests.processes import shared_cache

pytestmark = pytest.mark.integration

SANDBOX_STORE = Path(__file__).resolve().parents[2] / "shopify_mcp" / "sandbox" / "store.json"
OTHER_SHOP = "Borealis Outdoor"
OTHER_DOMAIN = "borealis-outdoor.example"
OTHER_PERSONA = "Bruno"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- three processes, one PostgreSQL ledger ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_three_workers_on_postgres_one_killed_then_restarted_draft_each_message_once(
    tmp_path: Path, postgres_url: str
) -> None:
    folder = tmp_path / "sandbox"
    sent = install(folder)
    barrier = folder / "start"
    names = ("worker-a", "worker-b", "doomed")
    runs: dict[str, Run] = {}

    async def worker(name: str) -> None:
        kill = ["draft-created", "1"] if name == "doomed" else []  # the draft exists, the ledger does not know yet
        runs[name] = await run_worker(
            folder, *kill, "--worker", name, "--lease", str(LEASE), "--barrier", str(barrier), "--ledger", postgres_url
        )

    async def release() -> None:
        with anyio.fail_after(60):
            for name in names:
                while not await anyio.Path(f"{barrier}.{name}.ready").exists():  # noqa: ASYNC110 - made by a worker
                    await anyio.sleep(0.01)
        await anyio.Path(barrier).write_text("go\n")

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(worker, name)
        tg.start_soon(release)

    doomed = runs["doomed"]
    assert doomed.returncode == -signal.SIGKILL, (doomed.returncode, doomed.stderr[-3000:])
    assert re.search(r"^KILL draft-created \S+$", doomed.stderr, re.MULTILINE), doomed.stderr[-3000:]
    handled: dict[str, set[str]] = {}
    for name in ("worker-a", "worker-b"):
        run = runs[name]
        assert run.returncode == 0, (name, run.stderr[-3000:])
        summary = run.summary()
        assert summary["failures"] == 0, (name, summary)
        handled[name] = set(summary["handled"])  # type: ignore[call-overload]
    assert not handled["worker-a"] & handled["worker-b"], "a message was handled by two live workers"

    # The killed worker comes back (its clock half a minute on, so its own old lease has expired) and finishes.
    _, failures = await restart(folder, "doomed", postgres_url)
    assert failures == 0
    await check_final_state(folder, sent, postgres_url)
    async with Ledger(postgres_url) as ledger:
        entries = await ledger.entries()
    assert len(entries) == len(sandbox_files()[0])
    assert {entry.mailbox for entry in entries} == {"default"}


# --- two mailboxes, two shops, one process ----------------------------------------------------------------------


def other_store(path: Path) -> Path:
    """The sandbox store renamed to another shop, its tracking numbers and domains changed: same customers."""
    text = SANDBOX_STORE.read_text(encoding="utf-8")
    text = text.replace("Aurora Activewear", OTHER_SHOP).replace("aurora-activewear", "borealis-outdoor")
    data: dict[str, Any] = json.loads(text)
    for order in data["orders"]:
        for fulfillment in order.get("fulfillments", []):
            for tracking in fulfillment.get("tracking", []):
                tracking["number"] = "BX" + tracking["number"][2:]
                tracking["url"] = f"https://track.{OTHER_DOMAIN}/{tracking['number']}"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def mailbox(name: str, folder: Path, address: str, store: Path | None, **overrides: Any) -> MailboxConfig:
    prepare(folder)
    shopify_env = {"SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3"), "HOME": str(folder)}
    if store is not None:
        shopify_env["SHOPIFY_SANDBOX_FILE"] = str(store)
    gmail_env = {
        "HOME": str(folder),
        "GMAIL_BACKEND": "maildir",
        "GMAIL_MAILDIR": str(folder / "maildir"),
        "GMAIL_ADDRESS": address,
        "GMAIL_AUTHSERV_IDS": SANDBOX_AUTHSERV_ID,
    }
    return MailboxConfig(
        name=name,
        address=address,
        shopify=ServerConfig(env=shopify_env),
        gmail=ServerConfig(env=gmail_env),
        **overrides,
    )


def drafts(folder: Path) -> list[str]:
    """Each draft's sender and decoded text without the quoted customer mail (the customer's own words)."""
    texts = []
    for path in (folder / "maildir/.Drafts/cur").iterdir():
        message = message_from_bytes(path.read_bytes(), policy=default)
        body = message.get_body(("plain",))
        text = body.get_content() if body else ""
        own = "\n".join(line for line in text.splitlines() if not line.startswith(">"))
        texts.append(f"{message['From']}\n{own}")  # the subject is the customer's own ("Re: ...")
    return texts


def tracking_numbers(store: Path) -> set[str]:
    data = json.loads(store.read_text(encoding="utf-8"))
    return {
        tracking["number"]
        for order in data["orders"]
        for fulfillment in order.get("fulfillments", [])
        for tracking in fulfillment.get("tracking", [])
    }


@pytest.mark.anyio
async def test_two_mailboxes_with_two_shops_in_one_process_keep_their_data_apart(tmp_path: Path) -> None:
    aurora, borealis = tmp_path / "aurora", tmp_path / "borealis"
    store = other_store(tmp_path / "borealis-store.json")
    boxes = (
        mailbox("aurora", aurora, MAILBOX, None),
        mailbox(
            "borealis",
            borealis,
            f"support@{OTHER_DOMAIN}",
            store,
            shop={"name": OTHER_SHOP, "domains": [OTHER_DOMAIN, f"shop.{OTHER_DOMAIN}"]},
            tone={"persona_name": OTHER_PERSONA, "signature": f"{OTHER_PERSONA}\n{OTHER_SHOP}", "signatures": {}},
        ),
        MailboxConfig(name="broken", address="x@broken.example", gmail=ServerConfig(url="http://127.0.0.1:9/mcp")),
    )
    config: AgentConfig = load_config().model_copy(update={"mailboxes": boxes})
    secrets = Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3")
    async with open_runtime(secrets, config) as runtime:
        assert [daemon.mailbox for daemon in runtime.daemons] == ["aurora", "borealis"]
        assert "broken" in runtime.unavailable  # its server is unreachable: the other two run regardless
        await drain(runtime, grace_period=30, stop=anyio.Event())
        assert runtime.failures == 0
        entries = await runtime.ledger.entries()
        per_mailbox = {name: await runtime.ledger.counts_by_state(name) for name in ("aurora", "borealis")}

    inbox = len(sandbox_files()[0])
    assert sorted(entry.mailbox for entry in entries) == ["aurora"] * inbox + ["borealis"] * inbox
    assert per_mailbox["aurora"] == per_mailbox["borealis"]
    assert per_mailbox["aurora"]["done"] >= 10

    aurora_drafts, borealis_drafts = drafts(aurora), drafts(borealis)
    assert len(aurora_drafts) == len(borealis_drafts) == per_mailbox["aurora"]["done"]
    ours, theirs = tracking_numbers(SANDBOX_STORE), tracking_numbers(store)
    assert ours and theirs and not ours & theirs
    assert any(number in text for text in aurora_drafts for number in ours), "the checks below would prove nothing"
    assert any(number in text for text in borealis_drafts for number in theirs), "the checks below would prove nothing"
    for text in aurora_drafts:
        assert OTHER_SHOP not in text and OTHER_DOMAIN not in text and OTHER_PERSONA not in text
        assert not any(number in text for number in theirs)
    for text in borealis_drafts:
        assert "Aurora" not in text and "aurora-activewear" not in text and "Carolina" not in text
        assert not any(number in text for number in ours)
        assert OTHER_PERSONA in text
    assert (aurora / "tickets.sqlite3").exists() and (borealis / "tickets.sqlite3").exists()


@pytest.mark.anyio
async def test_two_once_commands_on_one_postgres_ledger_draft_each_message_exactly_once(
    tmp_path: Path, postgres_url: str
) -> None:
    folder = tmp_path / "sandbox"
    sent = install(folder)
    env = {
        "GMAIL_BACKEND": "maildir",
        "GMAIL_MAILDIR": str(folder / "maildir"),
        "GMAIL_ADDRESS": MAILBOX,
        "GMAIL_AUTHSERV_IDS": SANDBOX_AUTHSERV_ID,
        "SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3"),
        "SUPPORT_AGENT_LEDGER": postgres_url,
        "HOME": str(folder),
        "PATH": os.environ.get("PATH", ""),
        **shared_cache(),
    }
    results: list[subprocess.CompletedProcess[bytes]] = []

    async def once() -> None:
        command = [sys.executable, "-m", "orchestrator", "once"]
        with anyio.fail_after(180):
            results.append(await anyio.run_process(command, env=env, cwd=ROOT, check=False))

    async with anyio.create_task_group() as tg:
        tg.start_soon(once)
        tg.start_soon(once)
    for result in results:
        assert result.returncode == 0, result.stderr.decode()[-3000:]
    await check_final_state(folder, sent, postgres_url)


@pytest.mark.anyio
async def test_a_mailbox_whose_poll_fails_leaves_the_others_working(tmp_path: Path) -> None:
    aurora, borealis = tmp_path / "aurora", tmp_path / "borealis"
    own = {
        "shop": {"name": OTHER_SHOP, "domains": [OTHER_DOMAIN]},
        "tone": {"persona_name": OTHER_PERSONA, "signature": f"{OTHER_PERSONA}\n{OTHER_SHOP}", "signatures": {}},
    }  # its own identity: a real address with the demo shop's would be refused before its first poll
    boxes = (
        mailbox("aurora", aurora, MAILBOX, None),
        mailbox("borealis", borealis, f"support@{OTHER_DOMAIN}", None, **own),
    )
    config: AgentConfig = load_config().model_copy(update={"mailboxes": boxes})
    secrets = Secrets(_env_file=None, ledger=tmp_path / "ledger.sqlite3")
    async with open_runtime(secrets, config) as runtime:
        assert [daemon.mailbox for daemon in runtime.daemons] == ["aurora", "borealis"], "both start; one poll fails"
        (borealis / "maildir").rename(borealis / "moved")  # its server is up, but its mailbox is gone
        (borealis / "maildir").write_text("not a Maildir\n")
        await drain(runtime, grace_period=30, stop=anyio.Event())
        counts = {name: await runtime.ledger.counts_by_state(name) for name in ("aurora", "borealis")}
    assert sum(counts["borealis"].values()) == 0
    assert counts["aurora"]["done"] >= 10 and counts["aurora"]["new"] == counts["aurora"]["failed"] == 0
