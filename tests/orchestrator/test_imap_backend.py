"""The whole assistant on an IMAP mailbox served by a real Dovecot: `support-agent once` on the demo inbox (the same
outcome as on the Maildir), a SIGKILL while drafting then a restart (one draft each), and new mail noticed in IDLE.

Run as a module, this file is also the worker the crash test kills (`python -m tests.orchestrator.test_imap_backend
worker ...`): `crash_worker` is bound to the Maildir demo folder, this one to a Dovecot account.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from email.policy import default
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import anyio
import pytest

from gmail_mcp.compose import MARKER_HEADER
from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox
from orchestrator.inbox_demo import MAILBOX, SANDBOX_AUTHSERV_ID
from support_testing.dovecot import PASSWORD, DovecotServer
from tests.orchestrator.test_cli import customer_mail
from tests.orchestrator.test_crash_safety import CLOCK_AHEAD, FINAL, LEASE, _group_members, ledger_entries
from tests.processes import shared_cache, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def base_env(folder: Path) -> dict[str, str]:
    return {
        "GMAIL_ADDRESS": MAILBOX,  # the demo shop's mailbox, now on an IMAP server: the demo identity applies
        "GMAIL_AUTHSERV_IDS": SANDBOX_AUTHSERV_ID,
        "SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3"),
        "SUPPORT_AGENT_LEDGER": str(folder / "ledger.sqlite3"),
        "HOME": str(folder),
        "PATH": os.environ.get("PATH", ""),
        **shared_cache(),
    }


def imap_env(dovecot: DovecotServer, user: str) -> dict[str, str]:
    return {
        "GMAIL_BACKEND": "imap",
        "GMAIL_IMAP_HOST": dovecot.host,
        "GMAIL_IMAP_PORT": str(dovecot.port),
        "GMAIL_IMAP_TLS": "none",
        "GMAIL_IMAP_USER": user,
        "GMAIL_IMAP_PASSWORD": PASSWORD,
        "GMAIL_TIMEOUT": "10",
    }


def once(folder: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "once", "--json"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def drafts_in(dovecot: DovecotServer, user: str) -> dict[int, tuple[tuple[bytes, ...], Any]]:
    """UID -> (flags, parsed message) of everything in the account's Drafts folder."""
    client = dovecot.client(user)
    try:
        client.select_folder("Drafts", readonly=True)
        found = client.fetch(client.search(["ALL"]), [b"FLAGS", b"BODY.PEEK[]"])
        return {
            uid: (data[b"FLAGS"], message_from_bytes(data[b"BODY[]"], policy=default)) for uid, data in found.items()
        }
    finally:
        client.logout()


def inbox_ids(dovecot: DovecotServer, user: str) -> dict[str, str]:
    """RFC Message-ID -> From address of every INBOX message."""
    client = dovecot.client(user)
    try:
        client.select_folder("INBOX", readonly=True)
        found = client.fetch(client.search(["ALL"]), [b"BODY.PEEK[HEADER]"])
        headers = [message_from_bytes(data[b"BODY[HEADER]"], policy=default) for data in found.values()]
        return {str(h["Message-ID"]).strip(): str(h["Reply-To"] or h["From"]) for h in headers}
    finally:
        client.logout()


# --- the done-when test: `once` on the demo inbox -----------------------------------------------------------


def test_once_drafts_the_demo_inbox_from_dovecot_as_it_does_from_a_maildir(
    dovecot: DovecotServer, tmp_path: Path
) -> None:
    on_maildir = tmp_path / "maildir-run"
    install_sandbox_mailbox(on_maildir / "maildir")
    maildir_env = {**base_env(on_maildir), "GMAIL_BACKEND": "maildir", "GMAIL_MAILDIR": str(on_maildir / "maildir")}
    expected = once(on_maildir, maildir_env)

    on_imap = tmp_path / "imap-run"
    on_imap.mkdir()
    user = dovecot.new_user("demo")
    assert dovecot.load_sandbox(user) > 15
    objects = once(on_imap, {**base_env(on_imap), **imap_env(dovecot, user)})

    def outcome(rows: list[dict[str, Any]]) -> dict[str, tuple[str, str, bool]]:
        return {row["rfc822_message_id"]: (row["state"], row["verdict"], bool(row["draft_id"])) for row in rows}

    differences = {
        rfc: (outcome(expected).get(rfc), decided) for rfc, decided in outcome(objects).items()
        if outcome(expected).get(rfc) != decided
    }  # fmt: skip
    assert not differences, f"the IMAP run decided differently from the Maildir run: {differences}"
    assert Counter(row["state"] for row in objects) == Counter(row["state"] for row in expected)
    drafted = {row["rfc822_message_id"]: row for row in objects if row["draft_id"]}
    assert len(drafted) >= 5

    drafts = drafts_in(dovecot, user)
    assert len(drafts) == len(drafted), "one draft per answered message, and no other"
    senders = inbox_ids(dovecot, user)
    for flags, draft in drafts.values():
        assert b"\\Draft" in flags and b"\\Seen" in flags
        answered = str(draft["In-Reply-To"]).strip()
        assert answered in drafted, f"a draft answers {answered}, which was not drafted"
        assert answered in str(draft["References"]) and str(draft[MARKER_HEADER]).strip() == answered
        assert draft["Subject"].startswith("Re: ")
        (recipient,) = draft["To"].addresses
        assert recipient.addr_spec in senders[answered] or drafted[answered]["sender"] == recipient.addr_spec
    uids = {int(row["draft_id"].rsplit(".", 1)[1]) for row in drafted.values() if row["draft_id"].startswith("d.")}
    assert uids == set(drafts), "each draft id names the draft's message in the Drafts folder"

    again = once(on_imap, {**base_env(on_imap), **imap_env(dovecot, user)})
    assert again == [] and len(drafts_in(dovecot, user)) == len(drafted), "a second run finds nothing new"


# --- SIGKILL while drafting, then a restart -------------------------------------------------------------------


def run_worker(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.orchestrator.test_imap_backend", "worker", str(folder), *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "IMAP_WORKER_ENV": json.dumps(env)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        deadline = time.monotonic() + 10
        while _group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_members(process.pid):  # only the processes this test started: the worker's own group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize("stage", ["agent", "draft-created", "draft"])
def test_sigkill_while_drafting_then_a_restart_leaves_one_draft_each(
    dovecot: DovecotServer, tmp_path: Path, stage: str
) -> None:
    user = dovecot.new_user("crash")
    dovecot.load_sandbox(user)
    env = {**base_env(tmp_path), **imap_env(dovecot, user)}
    killed = run_worker(tmp_path, env, stage, "2", "--worker", "doomed")
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-3000:])
    assert f"KILL {stage} " in killed.stderr
    restart = functools.partial(work, tmp_path, env, worker="restart", clock_offset=CLOCK_AHEAD)
    assert anyio.run(restart)["failures"] == 0  # in this process: the same code, one interpreter start-up fewer

    entries = anyio.run(ledger_entries, tmp_path)
    assert entries and all(entry.state in FINAL for entry in entries.values()), entries
    recorded = {entry.draft_id for entry in entries.values() if entry.draft_id}
    drafts = drafts_in(dovecot, user)
    per_message = Counter(str(draft["In-Reply-To"]).strip() for _flags, draft in drafts.values())
    assert per_message and max(per_message.values()) == 1, f"a message got two drafts: {per_message}"
    assert len(recorded) == len(drafts), "every draft in the mailbox is the one the ledger recorded"


# --- doctor ------------------------------------------------------------------------------------------------------


def test_doctor_checks_the_imap_mailbox_through_the_server_the_daemon_starts(
    dovecot: DovecotServer, tmp_path: Path
) -> None:
    user = dovecot.new_user("doctor")
    dovecot.load_sandbox(user)
    env = {**base_env(tmp_path), **imap_env(dovecot, user)}
    command = [sys.executable, "-m", "orchestrator", "doctor", "--timeout", "10"]
    good = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    report = good.stdout + good.stderr
    assert good.returncode == 0, report[-3000:]
    assert f"IMAP {dovecot.host}:{dovecot.port} (no TLS, loopback)" in report, report
    assert "IMAP login           logged in; IDLE" in report and "IMAP drafts folder   Drafts" in report, report
    assert "INBOX holds 22 messages" in report, report
    env["GMAIL_IMAP_PASSWORD"] = "not-the-password"
    bad = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    report = bad.stdout + bad.stderr
    assert bad.returncode != 0 and "not-the-password" not in report, report[-3000:]
    assert "refused the login" in report and "Traceback" not in report, report[-3000:]


# --- IDLE: new mail is noticed at once ----------------------------------------------------------------------


def test_mail_arriving_while_the_daemon_waits_in_idle_is_drafted_within_seconds(
    dovecot: DovecotServer, tmp_path: Path
) -> None:
    """`run` with a 10-minute poll interval: a poll that finds nothing new waits in IDLE instead of sleeping, so mail
    APPENDed meanwhile is drafted within seconds, not at the next poll; SIGTERM then ends the wait at once."""
    user = dovecot.new_user("idle")
    env = {**base_env(tmp_path), **imap_env(dovecot, user)}  # the defaults: GMAIL_IMAP_IDLE_WAIT unset
    log = tmp_path / "run.err"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "run", "--interval", "600"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(lambda: "watching the inbox" in log.read_text(), timeout=60, what="the daemon to start")
        first = make_msgid(domain="example.net")
        dovecot.deliver(user, customer_mail(first))  # before any cursor: the first poll's full sync lists it
        wait_for(lambda: replied(dovecot, user, first), timeout=60, what="the first reply draft")
        for _ in range(2):  # twice: the daemon goes back to IDLE after working, with no 600 s pause between
            # a poll with a cursor and nothing new opens the IDLE connection, the second one
            wait_for(lambda: dovecot.connections(user) >= 2, timeout=60, what="the daemon to wait in IDLE")
            message_id = make_msgid(domain="example.net")
            dovecot.deliver(user, customer_mail(message_id))
            wait_for(
                lambda m=message_id: replied(dovecot, user, m),
                timeout=10,
                what="the reply draft (within seconds, not at the next poll 600 s later)",
            )
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert time.monotonic() - started < 10, "SIGTERM ends the IDLE wait instead of waiting it out"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- the daemon's log ---\n{log.read_text()[-6000:]}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()


def replied(dovecot: DovecotServer, user: str, message_id: str) -> bool:
    return any(str(d["In-Reply-To"]).strip() == message_id for _f, d in drafts_in(dovecot, user).values())


# --- the worker -----------------------------------------------------------------------------------------------


async def work(
    folder: Path, env: dict[str, str], *, worker: str, stage: str = "", n: int = 0, clock_offset: float = 0.0
) -> dict[str, object]:
    """One `run_once` with concurrency 1 over the IMAP account `env` names; with `stage`, this process SIGKILLs
    itself the `n`-th time the pipeline reaches it. `clock_offset` runs the ledger's clock ahead."""
    from orchestrator.config import load_config
    from orchestrator.daemon import Daemon
    from orchestrator.ledger import Ledger
    from orchestrator.servers import ServerSpec, ToolServers

    config = load_config()
    config = config.model_copy(update={"daemon": config.daemon.model_copy(update={"concurrency": 1})})
    reached = 0

    def on_stage(reached_stage: str, message_id: str) -> None:
        nonlocal reached
        if reached_stage == stage:
            reached += 1
            if reached == n:
                print(f"KILL {stage} {message_id}", file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

    shopify_env = {key: env[key] for key in ("HOME", "PATH", "SHOPIFY_TICKET_DB")}
    specs = (
        ServerSpec("shopify", module="shopify_mcp", env=shopify_env),
        ServerSpec("gmail", module="gmail_mcp", env=env),
    )
    ledger = Ledger(folder / "ledger.sqlite3", lease_seconds=LEASE, clock=lambda: time.time() + clock_offset)
    async with ToolServers(*specs) as servers, ledger:
        daemon = Daemon(servers, ledger, config, own_address=MAILBOX, worker=worker, on_stage=on_stage)
        outcomes = await daemon.run_once()
    return {"handled": [o.message_id for o in outcomes], "failures": daemon.failures}


def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="imap-worker")
    parser.add_argument("folder", type=Path)
    parser.add_argument("stage", nargs="?", default="")
    parser.add_argument("n", nargs="?", type=int, default=0)
    parser.add_argument("--worker", default=f"imap-worker:{os.getpid()}")
    parser.add_argument("--clock-offset", type=float, default=0.0)
    args = parser.parse_args(argv)
    env = json.loads(os.environ["IMAP_WORKER_ENV"])
    options = {"worker": args.worker, "stage": args.stage, "n": args.n, "clock_offset": args.clock_offset}
    print(json.dumps(anyio.run(functools.partial(work, args.folder, env, **options))), flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _main(sys.argv[2:])
