"""`support-agent run | once | chat` as a user runs them: real subprocesses and stdio tool servers, a sandbox inbox."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

import anyio
import pytest

from gmail_mcp.maildir import deliver_message
from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox
from orchestrator import __version__
from orchestrator.config import load_config
from orchestrator.ledger import Ledger, LedgerEntry
from orchestrator.reports import JSON_FIELDS
from tests.processes import shared_cache, wait_for

pytestmark = pytest.mark.integration

MAILBOX = "support@aurora-activewear.example"
DHL_TRACKING = "6219473050"
SEUR_TRACKING = "07000199475263"
GRACE = load_config().daemon.grace_period


def environment(folder: Path) -> dict[str, str]:
    """Only what the CLI needs: nothing else leaks in from the developer's environment."""
    return {
        "GMAIL_BACKEND": "maildir",
        "GMAIL_MAILDIR": str(folder / "maildir"),
        "GMAIL_ADDRESS": MAILBOX,
        "SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3"),
        "SUPPORT_AGENT_LEDGER": str(folder / "ledger.sqlite3"),
        "HOME": str(folder),
        "PATH": os.environ.get("PATH", ""),
        **shared_cache(),
    }


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    install_sandbox_mailbox(tmp_path / "maildir")
    return tmp_path


@dataclass(frozen=True)
class Processed:
    """A sandbox whose backlog one `once` processed, and what that `once` printed."""

    folder: Path
    first: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Processed:
    """The sandbox inbox after one `once` (it drafts the whole backlog, the costliest run here), shared by the tests
    that read what that run printed, drafted and recorded. They add no mail: `once` finds nothing new after it."""
    folder = tmp_path_factory.mktemp("processed")
    install_sandbox_mailbox(folder / "maildir")
    return Processed(folder, cli(folder, "once"))


def cli(
    folder: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        env=env or environment(folder),
        cwd=folder,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def drafts(folder: Path) -> list[Path]:
    cur = folder / "maildir" / ".Drafts" / "cur"
    return sorted(cur.iterdir()) if cur.is_dir() else []


def draft_replying_to(folder: Path, message_id: str) -> Path | None:
    for path in drafts(folder):
        if str(message_from_bytes(path.read_bytes(), policy=default)["In-Reply-To"]).strip() == message_id:
            return path
    return None


def ledger_entry(folder: Path, message_id: str) -> LedgerEntry | None:
    async def read() -> LedgerEntry | None:
        async with Ledger(folder / "ledger.sqlite3") as ledger:
            return await ledger.get("default", message_id)

    return anyio.run(read)


def customer_mail(message_id: str) -> bytes:
    return (
        "From: Oliver Bennett <oliver.bennett@example.net>\r\n"
        f"To: Aurora Activewear <{MAILBOX}>\r\n"
        "Subject: Where is my order #1019?\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Hello, my order #1019 has still not arrived. Where is it?\r\n\r\nOliver\r\n"
    ).encode()


def newsletter() -> bytes:
    return (
        "From: Trail Digest <news@trail-digest.example>\r\n"
        f"To: {MAILBOX}\r\n"
        "Subject: This week's best trail runs\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\n"
        f"Message-ID: {make_msgid(domain='trail-digest.example')}\r\n"
        "List-Unsubscribe: <https://trail-digest.example/unsubscribe>\r\n"
        "Precedence: bulk\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Ten routes for the weekend.\r\n"
    ).encode()


# --- once ------------------------------------------------------------------------------------------------------


def test_once_drafts_the_backlog_then_finds_nothing_new(processed: Processed) -> None:
    sandbox, first = processed.folder, processed.first
    assert first.returncode == 0, first.stderr
    read, *lines = first.stdout.splitlines()
    assert read == f"Read mailbox default: {MAILBOX} (maildir)."
    assert lines[0].split()[:2] == ["sender", "verdict"]
    drafted = [line for line in lines[1:] if re.search(r"  draft \S+$", line)]
    assert any(line.startswith("maria.garcia@example.com") and "ShippingDelivery" in line for line in drafted)
    assert any("IGNORE (spam" in line for line in lines)
    summary = lines[-1]
    match = re.match(r"(\d+) messages: .*done \d+.*; (\d+) reply drafts, 0 failures, none sent\.$", summary)
    assert match, summary
    assert int(match.group(1)) == len(lines) - 2  # header, one line per message, totals
    assert int(match.group(2)) == len(drafts(sandbox)) == len(drafted) > 0

    second = cli(sandbox, "once")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1:] == ["0 messages: nothing new; 0 reply drafts, 0 failures, none sent."]
    assert len(drafts(sandbox)) == len(drafted)


# --- run -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_drafts_new_mail_and_stops_cleanly_on_a_signal(sandbox: Path, signum: signal.Signals) -> None:
    log = sandbox / "run.err"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "run", "--interval", "0.2"],
            env=environment(sandbox),
            cwd=sandbox,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(lambda: "watching the inbox" in log.read_text(), timeout=30, what="the daemon to start")
        message_id = make_msgid(domain="example.net")
        unique = deliver_message(sandbox / "maildir", customer_mail(message_id))
        wait_for(lambda: draft_replying_to(sandbox, message_id) is not None, timeout=30, what="the reply draft")
        process.send_signal(signum)
        assert process.wait(timeout=GRACE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    draft = draft_replying_to(sandbox, message_id)
    assert draft is not None
    assert "#1019" in message_from_bytes(draft.read_bytes(), policy=default).get_body(("plain",)).get_content()
    entry = ledger_entry(sandbox, unique)
    assert entry is not None and entry.state == "done", entry
    assert "Traceback" not in log.read_text()


# --- chat ------------------------------------------------------------------------------------------------------


def test_chat_answers_the_owner_of_the_order(tmp_path: Path) -> None:
    result = cli(tmp_path, "chat", "where is my order #1021", "--email", "maria.garcia@example.com")
    assert result.returncode == 0, result.stderr
    assert DHL_TRACKING in result.stdout
    assert "lookup_order" in result.stderr


@pytest.mark.parametrize("email", ["maria.garcia@example.com <mallory@evil.example>", "\u212aate@example.org", "x"])
def test_chat_refuses_an_email_that_is_not_one_plain_address(tmp_path: Path, email: str) -> None:
    result = cli(tmp_path, "chat", "where is my order #1021", "--email", email)
    assert result.returncode == 2 and result.stderr.startswith("support-agent: --email: ")
    assert len(result.stderr.splitlines()) == 1 and not result.stdout


def test_chat_without_an_email_discloses_nothing(tmp_path: Path) -> None:
    result = cli(tmp_path, "chat", "where is my order #1021")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    for secret in (DHL_TRACKING, SEUR_TRACKING, "María", "Leggings", "tracking-id"):
        assert secret not in result.stdout
    assert "lookup_order" not in result.stderr


def test_chat_reads_lines_until_eof_and_keeps_the_conversation(tmp_path: Path) -> None:
    stdin = "where is my order #1021\n\nand when will the rest arrive?\n"
    result = cli(tmp_path, "chat", "--email", "maria.garcia@example.com", stdin=stdin)
    assert result.returncode == 0, result.stderr
    replies = [reply for reply in result.stdout.split("Customer care, Aurora Activewear") if reply.strip()]
    assert len(replies) == 2, result.stdout
    assert all(DHL_TRACKING in reply for reply in replies)
    assert result.stderr.count("[ShippingDelivery") == 2


# --- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["once"], ["run"], ["chat", "hello"]])
def test_a_missing_config_file_is_one_readable_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nowhere.toml"
    result = cli(tmp_path, *command, "--config", str(missing))
    assert result.returncode == 2
    assert result.stderr == f"support-agent: The configuration file {missing} does not exist.\n"


@pytest.mark.parametrize(("variable", "server"), [("GMAIL_TIMEOUT", "gmail"), ("SHOPIFY_TIMEOUT", "shopify")])
def test_a_server_that_cannot_start_is_two_readable_lines_and_exit_2(sandbox: Path, variable: str, server: str) -> None:
    """The server says what is wrong with its setting; support-agent says which server it was. No traceback."""
    result = cli(sandbox, "once", env={**environment(sandbox), variable: "abc"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == f"support-agent: The {server} tool server did not start (its own message, above, says why)."
    assert any(variable in line for line in lines[:-1]) and "Traceback" not in result.stderr
    assert len(lines) <= 3


def test_an_invalid_config_from_the_environment_is_one_readable_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[shop]\nname = 'x'\n[tone]\npersona = 'Ana'\n")  # a partial file is fine; a typo is not
    result = cli(tmp_path, "once", env={**environment(tmp_path), "SUPPORT_AGENT_CONFIG": str(broken)})
    assert result.returncode == 2
    assert result.stderr == f"support-agent: {broken}: tone.persona: Extra inputs are not permitted\n"
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.anyio
async def test_once_uses_the_llm_engine_when_an_endpoint_is_configured(sandbox: Path) -> None:
    """OPENAI_BASE_URL + key: the daemon routes and drafts with the LLM (the scripted OpenAI-compatible server)."""
    import anyio

    from support_testing.openai_emulator import EMULATOR_API_KEY, DefaultScript, OpenAIEmulator, serve_emulator

    emulator = OpenAIEmulator(script=DefaultScript())
    async with serve_emulator(emulator) as url:
        env = {**environment(sandbox), "OPENAI_BASE_URL": url, "OPENAI_API_KEY": EMULATOR_API_KEY}
        result = await anyio.run_process(
            [sys.executable, "-m", "orchestrator", "once"], env=env, cwd=sandbox, check=False
        )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    notes = [str(message_from_bytes(p.read_bytes(), policy=default)["X-Support-Agent-Note"]) for p in drafts(sandbox)]
    assert notes and any("engine=llm" in note for note in notes)
    assert any(r.response_format for r in emulator.requests), "the router asked for structured output"


@pytest.mark.anyio
async def test_chat_uses_the_llm_agent_with_the_identity_bound(tmp_path: Path) -> None:
    import anyio

    from support_testing.openai_emulator import EMULATOR_API_KEY, DefaultScript, OpenAIEmulator, serve_emulator

    emulator = OpenAIEmulator(script=DefaultScript())
    async with serve_emulator(emulator) as url:
        env = {**environment(tmp_path), "OPENAI_BASE_URL": url, "OPENAI_API_KEY": EMULATOR_API_KEY}
        command = [sys.executable, "-m", "orchestrator", "chat", "Where is my order #1021?"]
        result = await anyio.run_process([*command, "--email", "maria.garcia@example.com"], env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    reply = result.stdout.decode()
    assert "lookup_order" in reply and "partially_shipped" in reply, "the LLM agent answered from the owner's order"
    tool_rounds = [r for r in emulator.requests if r.tools]
    assert tool_rounds
    for record in tool_rounds:  # the model never sees the identity argument in any tool schema
        for tool in (record.request or {}).get("tools", []):
            assert "customer_email" not in json.dumps(tool["function"]["parameters"])
    offered = {name for r in tool_rounds for name in r.tools}
    assert "lookup_order" in offered


def test_doctor_and_stats_from_the_command_line(processed: Processed) -> None:
    sandbox = processed.folder
    doctor = cli(sandbox, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "all good" in doctor.stdout and "✓ Gmail mailbox" in doctor.stdout
    assert processed.first.returncode == 0
    html = sandbox / "stats.html"
    stats = cli(sandbox, "stats", "--since", "all", "--html", str(html))
    assert stats.returncode == 0, stats.stderr
    assert "Gatekeeper verdicts" in stats.stdout and html.read_text().startswith("<!DOCTYPE html>")


def test_doctor_fails_with_a_broken_setting(sandbox: Path) -> None:
    # A store URL where nothing listens: the token check cannot pass.
    env = {**environment(sandbox), "SHOPIFY_STORE": "http://127.0.0.1:9", "SHOPIFY_ACCESS_TOKEN": "shpat_x"}
    doctor = cli(sandbox, "doctor", "--timeout", "2", env=env)
    assert doctor.returncode == 1 and "✗ Shopify token" in doctor.stdout


@pytest.mark.anyio
async def test_serve_answers_chat_and_stops_on_sigterm(sandbox: Path) -> None:
    import anyio
    import httpx

    from tests.processes import free_port

    port = free_port()
    env = {**environment(sandbox), "SUPPORT_AGENT_SECRET": "a-long-enough-test-secret"}
    process = subprocess.Popen(  # noqa: ASYNC220 (start-up only; the waits below are async)
        [sys.executable, "-m", "orchestrator", "serve", "--port", str(port)], env=env, cwd=sandbox,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            with anyio.fail_after(60):
                while True:
                    assert process.poll() is None, "serve exited during start-up"
                    try:
                        if (await http.get(f"{base}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.1)
            body = {"message": "Where is my order #1021?", "customer_email": "maria.garcia@example.com"}
            denied = await http.post(f"{base}/chat", json=body)
            assert denied.status_code == 401
            answer = await http.post(f"{base}/chat", json=body, headers={"X-Secret": "a-long-enough-test-secret"})
            assert answer.status_code == 200 and "6219473050" in answer.json()["response"]
            assert "support_agent_chat_requests_total" in (await http.get(f"{base}/metrics")).text
    finally:
        process.send_signal(signal.SIGTERM)
        code = await anyio.to_thread.run_sync(lambda: process.wait(timeout=30))
        if process.stderr:
            process.stderr.close()
    assert code == 0


def test_once_names_its_mailbox_and_json_gives_one_object_per_message(processed: Processed) -> None:
    sandbox, table_run = processed.folder, processed.first
    assert table_run.returncode == 0, table_run.stderr
    assert f"Read mailbox default: {MAILBOX} (maildir)." in table_run.stdout
    again = cli(sandbox, "once", "--json")  # nothing new: no objects, and no table either
    assert again.returncode == 0 and again.stdout == ""

    fresh = sandbox / "fresh"  # a customer's question and a newsletter: one object each
    deliver_message(fresh / "maildir", customer_mail(make_msgid(domain="example.net")))
    deliver_message(fresh / "maildir", newsletter())
    run = cli(fresh, "once", "--json", env=environment(fresh))
    assert run.returncode == 0, run.stderr
    objects = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(objects) == 2 and all(list(o) == list(JSON_FIELDS) for o in objects)
    assert sorted(o["state"] for o in objects) == ["done", "ignored"]
    drafted = [o for o in objects if o["draft_id"]]
    assert drafted and all(o["verdict"] == "PROCESS" and o["sender"] and o["rfc822_message_id"] for o in drafted)
    assert all(o["mailbox"] == "default" for o in objects)


def test_stats_reads_the_ledger_named_by_flag_and_says_where_to_look_otherwise(processed: Processed) -> None:
    sandbox = processed.folder
    assert processed.first.returncode == 0
    elsewhere = {**environment(sandbox), "SUPPORT_AGENT_LEDGER": str(sandbox / "absent.sqlite3")}
    missing = cli(sandbox, "stats", env=elsewhere)
    assert missing.returncode == 2 and "--ledger PATH" in missing.stderr and len(missing.stderr.splitlines()) == 1
    found = cli(sandbox, "stats", "--since", "all", "--ledger", str(sandbox / "ledger.sqlite3"), env=elsewhere)
    assert found.returncode == 0 and "Gatekeeper verdicts" in found.stdout
    unwritable = cli(sandbox, "stats", "--html", str(sandbox / "no" / "such" / "dir" / "r.html"))
    assert unwritable.returncode == 2 and len(unwritable.stderr.splitlines()) == 1
    assert "Cannot write the HTML report" in unwritable.stderr


@pytest.mark.parametrize(
    ("module", "prog"), [("orchestrator", "support-agent"), ("shopify_mcp", "shopify-mcp"), ("gmail_mcp", "gmail-mcp")]
)
def test_every_command_prints_its_version(module: str, prog: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == f"{prog} {__version__}"
