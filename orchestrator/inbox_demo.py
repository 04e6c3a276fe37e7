"""`support-agent demo`: the whole pipeline on a sandbox inbox and store, offline, with a table of what it did."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TextIO

from orchestrator.config import AgentConfig, load_config
from orchestrator.daemon import Daemon
from orchestrator.ledger import Ledger
from orchestrator.pipeline import Outcome
from orchestrator.servers import ServerSpec, ToolServers

MARKER = ".support-agent-demo"
MAILBOX = "support@aurora-activewear.example"
DRAFTS = "drafts"
"""The folder (in the demo's) with a readable `.eml` copy of each draft."""


def prepare(folder: Path) -> Path:
    """A fresh demo folder (an old one is replaced only if the demo made it) with the sandbox inbox installed."""
    if folder.exists():
        if not (folder / MARKER).exists():
            raise SystemExit(f"{folder} exists and was not made by the demo: choose another folder with --dir.")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by support-agent demo; safe to delete\n")
    install_sandbox(folder / "maildir")
    return folder


def install_sandbox(maildir: Path) -> None:
    """The demo mailbox, installed by gmail-mcp itself (`gmail-mcp sandbox DIR`): the orchestrator never imports
    the Gmail server, it runs it."""
    command = [sys.executable, "-m", "gmail_mcp", "sandbox", str(maildir)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(maildir.parent))}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise SystemExit(f"Could not install the sandbox mailbox in {maildir}: {result.stderr.strip()[-500:]}")


SANDBOX_AUTHSERV_ID = "mx.aurora-activewear.example"


def specs(folder: Path) -> tuple[ServerSpec, ServerSpec]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder)}
    shopify = ServerSpec(
        "shopify", module="shopify_mcp", env={**base, "SHOPIFY_TICKET_DB": str(folder / "tickets.sqlite3")}
    )
    gmail = ServerSpec(
        "gmail",
        module="gmail_mcp",
        env={
            **base,
            "GMAIL_BACKEND": "maildir",
            "GMAIL_MAILDIR": str(folder / "maildir"),
            "GMAIL_ADDRESS": MAILBOX,
            # the sandbox mail server's Authentication-Results are the ones to trust (the contact form's proof)
            "GMAIL_AUTHSERV_IDS": SANDBOX_AUTHSERV_ID,
        },
    )
    return shopify, gmail


def draft_file(folder: Path, draft_id: str | None) -> str:
    """The draft's file in the demo mailbox (relative to `folder`), as the Maildir backend stored it."""
    if not draft_id:
        return ""
    found = sorted((folder / "maildir" / ".Drafts" / "cur").glob(f"{draft_id}*"))
    return str(found[0].relative_to(folder)) if found else draft_id


def export_drafts(folder: Path, outcomes: list[Outcome]) -> dict[str, str]:
    """A readable copy of each draft in `folder/drafts/NN-sender.eml`: the Maildir file (what a mail client
    sees) with its text parts re-encoded as 8-bit UTF-8, so a text viewer shows the reply instead of
    quoted-printable. The mailbox's own drafts are left as they are. Returns draft id -> file (relative)."""
    target = folder / DRAFTS
    target.mkdir(exist_ok=True)
    exported: dict[str, str] = {}
    for number, outcome in enumerate(sorted(outcomes, key=lambda o: o.message_id), 1):
        stored = folder / draft_file(folder, outcome.draft_id)
        if not outcome.draft_id or not stored.is_file():
            continue
        message = BytesParser(policy=policy.default).parsebytes(stored.read_bytes())
        for part in message.walk():
            if part.get_content_maintype() == "text" and not part.is_multipart() and isinstance(part, EmailMessage):
                part.set_content(part.get_content(), subtype=part.get_content_subtype(), charset="utf-8", cte="8bit")
        who = outcome.recipient or outcome.sender or "customer"
        sender = re.sub(r"[^a-z0-9]+", "-", who.split("@")[0].lower()).strip("-")
        name = f"{number:02d}-{sender or 'sender'}.eml"
        (target / name).write_bytes(message.as_bytes(policy=policy.default.clone(linesep="\n")))
        exported[outcome.draft_id] = f"{DRAFTS}/{name}"
    return exported


def table(outcomes: list[Outcome], files: dict[str, str]) -> list[str]:
    rows = [("sender", "verdict", "category", "lang", "tools", "draft file")]
    for o in sorted(outcomes, key=lambda o: o.message_id):
        verdict = f"{o.verdict.value if o.verdict else '?'} ({o.reason})"
        tools = ",".join(dict.fromkeys(o.tools)) + (" +review" if o.flagged else "")
        rows.append(
            (
                (o.sender or "?")[:34],
                verdict[:34],
                o.category or "",
                o.language or "",
                tools[:46],
                files.get(o.draft_id or "", o.draft_id or ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


async def run_inbox_demo(folder: Path, out: TextIO = sys.stdout, config: AgentConfig | None = None) -> list[Outcome]:
    folder = prepare(folder)
    config = config or load_config()
    out.write(f"Sandbox inbox installed in {folder / 'maildir'}; store: the sandbox store; engine: offline.\n")
    async with ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
        daemon = Daemon(servers, ledger, config, own_address=MAILBOX, worker="demo")
        outcomes = await daemon.run_once()
        counts = await ledger.counts_by_state(daemon.mailbox)
    files = export_drafts(folder, outcomes)
    out.write("\n".join(table(outcomes, files)) + "\n\n")
    drafted = sum(1 for o in outcomes if o.draft_id)
    summary = ", ".join(f"{state} {n}" for state, n in counts.items() if n)
    out.write(f"{len(outcomes)} messages: {summary}; {drafted} reply drafts, none sent.\n")
    out.write(
        f"Drafts, readable in any text viewer or mail program: {folder / DRAFTS}/*.eml (copies of the drafts in the "
        f"mailbox, {folder / 'maildir' / '.Drafts' / 'cur'});\n"
    )
    out.write(f"escalation tickets are in {folder / 'tickets.sqlite3'}, the ledger in {folder / 'ledger.sqlite3'}.\n")
    out.write(f"What the ledger says: support-agent stats --ledger {folder / 'ledger.sqlite3'} --since all\n")
    return outcomes
