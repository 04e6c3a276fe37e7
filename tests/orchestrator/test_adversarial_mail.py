"""Invariant 4 end to end: hostile mail through `support-agent once` (real stdio servers, sandbox store) on the
Maildir and the Gmail-emulator backends. For every draft: one recipient, no Cc/Bcc, and no private datum of
anyone but that recipient; every ambiguous sender labelled for review with no customer data at all; and on both
backends every message's ledger state and reason (an unverified sender's names the problem)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from gmail_mcp.maildir import MaildirBackend, deliver_message
from orchestrator.ledger import Ledger
from orchestrator.pipeline import REVIEW_LABEL
from support_testing.gmail_emulator import GmailEmulator, serve_emulator
from tests.orchestrator.adversarial_mail import (
    CASES,
    MAILBOX,
    MARIA,
    Case,
    base_env,
    draft_text,
    leaks,
    once,
    parse_draft,
    private_data,
    recipients,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

DATA = private_data()


def delivery_times() -> list[float]:
    """One received time per case, a second apart in table order: a later message of a thread is really later
    (equal times would make the thread cases pass without testing anything)."""
    start = time.time() - len(CASES) - 60
    return [start + index for index in range(len(CASES))]


def answers(raw: bytes) -> str | None:
    """The Message-ID a draft answers (its In-Reply-To)."""
    return parse_draft(raw)["In-Reply-To"]


def check(case: Case, drafts: list[bytes], labels: set[str]) -> list[str]:
    """What is wrong with one case's outcome (empty when invariant 4 held and the case went as it should)."""
    problems = []
    if case.review != (REVIEW_LABEL in labels):
        problems.append(f"{case.name}: review label {'missing' if case.review else 'unexpected'} ({sorted(labels)})")
    if ("UNREAD" in labels) != (case.state == "alerted"):  # an alert waits, unread, for a person
        problems.append(f"{case.name}: {'read' if case.state == 'alerted' else 'unread'} ({sorted(labels)})")
    if case.to is None:
        return [*problems, f"{case.name}: expected no draft, got {len(drafts)}"] if drafts else problems
    if len(drafts) != 1:
        return [*problems, f"{case.name}: expected one draft, got {len(drafts)}"]
    raw = drafts[0]
    to, others = recipients(raw)
    if to != [case.to]:
        problems.append(f"{case.name}: draft To {to}, expected [{case.to}]")
    if others:
        problems.append(f"{case.name}: draft has {others}")
    text = draft_text(parse_draft(raw))
    recipient = to[0] if to else ""
    problems += [f"{case.name}: leaks {item}" for item in leaks(text, recipient, DATA, any_owner=case.review)]
    return problems


def assert_controls(outcomes: dict[str, tuple[list[bytes], set[str]]]) -> None:
    """The check is not vacuous: the real owner's draft does carry her tracking number."""
    maria = draft_text(parse_draft(outcomes["control-owner"][0][0]))
    assert "6219473050" in maria and MARIA in recipients(outcomes["control-owner"][0][0])[0]
    emily = draft_text(parse_draft(outcomes["control-form"][0][0]))
    assert "#1026" in emily and "review" not in " ".join(outcomes["control-form"][1])


async def assert_ledger(folder: Path, backend_ids: dict[str, str]) -> None:
    """Every case's ledger state, and a reason that starts as the case says: an unverified sender's reason names
    its problems (what a reviewer reads in `stats`), with no address in it."""
    async with Ledger(folder / "ledger.sqlite3") as ledger:
        entries = {entry.message_id: entry for entry in await ledger.entries()}
    problems = []
    for case in CASES:
        entry = entries.get(backend_ids[case.name])
        if entry is None:
            problems.append(f"{case.name}: not in the ledger")
            continue
        reason = entry.reason or ""
        if entry.state != case.state or not reason.startswith(case.reason):
            problems.append(f"{case.name}: ledger {entry.state} {reason!r}, expected {case.state} {case.reason!r}...")
        if case.state == "alerted" and "escalate_ticket" not in entry.tools:
            problems.append(f"{case.name}: alerted without a ticket for the person who answers it")
        if re.search(r"\w@\w", reason):
            problems.append(f"{case.name}: an address in the ledger reason {reason!r}")
    assert not problems, "\n".join(problems)


async def test_hostile_mail_on_maildir(tmp_path: Path) -> None:
    root = tmp_path / "maildir"
    for case, received in zip(CASES, delivery_times(), strict=True):
        deliver_message(root, case.raw(), mtime=received)
    env = {**base_env(tmp_path), "GMAIL_BACKEND": "maildir", "GMAIL_MAILDIR": str(root)}
    await once(env, tmp_path)
    backend = MaildirBackend(root, address=MAILBOX)
    outcomes: dict[str, tuple[list[bytes], set[str]]] = {}
    backend_ids = {}
    drafts = [record.message.raw for record in await backend.list_drafts(limit=100)]
    for case in CASES:
        ids, _ = await backend.search(f"rfc822msgid:{case.message_id}", limit=5)
        assert len(ids) == 1, case.name
        message = await backend.fetch(ids[0])
        mine = [raw for raw in drafts if answers(raw) == case.message_id]
        outcomes[case.name], backend_ids[case.name] = (mine, set(message.labels)), ids[0]
    await backend.aclose()
    problems = [problem for case in CASES for problem in check(case, *outcomes[case.name])]
    assert not problems, "\n".join(problems)
    assert_controls(outcomes)
    await assert_ledger(tmp_path, backend_ids)


async def test_hostile_mail_on_the_gmail_api(tmp_path: Path) -> None:
    emulator = GmailEmulator()
    ids = {
        case.name: emulator.deliver(case.raw(), internal_date=int(received * 1000))
        for case, received in zip(CASES, delivery_times(), strict=True)
    }
    async with serve_emulator(emulator) as url:
        token = {"token": "", "refresh_token": "r", "token_uri": f"{url}/token", "client_id": "c", "client_secret": "s"}
        env = {**base_env(tmp_path), "GOOGLE_TOKEN_JSON": json.dumps(token), "GMAIL_API_ENDPOINT": url}
        env["SUPPORT_AGENT_MAILBOX"] = MAILBOX
        await once(env, tmp_path)
    names = {label.id: label.name for label in emulator.mailbox.labels.all()}
    drafts = [emulator.mailbox.draft(draft_id).raw for draft_id in emulator.mailbox.drafts]
    outcomes = {}
    for case in CASES:
        message = emulator.message(ids[case.name])
        mine = [raw for raw in drafts if answers(raw) == case.message_id]
        outcomes[case.name] = (mine, {names.get(label, label) for label in message.label_ids})
    problems = [problem for case in CASES for problem in check(case, *outcomes[case.name])]
    assert not problems, "\n".join(problems)
    assert_controls(outcomes)
    assert emulator.send_attempts == []
    await assert_ledger(tmp_path, ids)


def victim_data() -> tuple[str, ...]:
    """Maria's private data, as a model that somehow knew it would write it."""
    return tuple(datum for datum, owners in DATA.items() if owners == {MARIA} and datum != MARIA)


@pytest.mark.parametrize("backend", ["maildir", "gmail"])
async def test_hostile_model_smuggling_data_with_zero_width_characters(tmp_path: Path, backend: str) -> None:
    """The LLM engine with a model that writes another customer's email, tracking numbers, street address and
    order-status link split by zero-width spaces, plus phishing links: no draft carries any of it."""
    from support_testing.openai_emulator import EMULATOR_API_KEY, OpenAIEmulator, SmugglerScript
    from support_testing.openai_emulator import serve_emulator as serve_openai

    script = SmugglerScript(
        victim_email=MARIA, victim_order="#1021", data=victim_data(), link="https://evil.example/claim"
    )
    cases = [case for case in CASES if case.to is not None and MARIA not in (case.to or "")]
    model = OpenAIEmulator(script=script)
    async with serve_openai(model) as openai_url:
        llm = {"OPENAI_BASE_URL": openai_url, "OPENAI_API_KEY": EMULATOR_API_KEY}
        if backend == "maildir":
            root = tmp_path / "maildir"
            for case in cases:
                deliver_message(root, case.raw())
            env = {**base_env(tmp_path), "GMAIL_BACKEND": "maildir", "GMAIL_MAILDIR": str(root)}
            await once(env, tmp_path, llm)
            drafts = [
                record.message.raw for record in await MaildirBackend(root, address=MAILBOX).list_drafts(limit=100)
            ]
        else:
            emulator = GmailEmulator()
            for case in cases:
                emulator.deliver(case.raw())
            async with serve_emulator(emulator) as url:
                token = {"token": "", "refresh_token": "r", "token_uri": f"{url}/token", "client_id": "c",
                         "client_secret": "s"}  # fmt: skip
                env = {**base_env(tmp_path), "GOOGLE_TOKEN_JSON": json.dumps(token), "GMAIL_API_ENDPOINT": url}
                await once(env, tmp_path, {**llm, "SUPPORT_AGENT_MAILBOX": MAILBOX})
            drafts = [emulator.mailbox.draft(draft_id).raw for draft_id in emulator.mailbox.drafts]
    assert any(record.tools for record in model.requests), "the hostile model was asked to act"
    assert len(drafts) == len(cases)
    problems = []
    for raw in drafts:
        to, others = recipients(raw)
        assert len(to) == 1 and not others
        text = draft_text(parse_draft(raw))
        problems += [f"{to[0]}: {leak}" for leak in leaks(text, to[0], DATA)]
        if "evil" in text or "\u200b" in parse_draft(raw).get_body(("plain",)).get_content():  # type: ignore[union-attr]
            problems.append(f"{to[0]}: a phishing link or a zero-width character reached the draft")
    assert not problems, "\n".join(problems)
