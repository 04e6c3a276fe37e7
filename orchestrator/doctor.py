"""`support-agent doctor`: check a configuration end to end and say what to fix, one line per check.

The orchestrator checks its own part: the configuration file, the OpenAI-compatible endpoint (reachable, key
accepted, models offered) and the ledger folder. The tool servers check theirs: doctor starts them exactly as the
daemon does (each `[[mailboxes]]` entry's servers, or those the environment describes: the same command and
environment over stdio, or the servers at their URLs) and calls each one's `diagnose` tool over MCP, so it checks
the settings, tokens and folders the daemon will use. A server that cannot start is one failed line quoting the
error it wrote. Each network call is bounded by `call_timeout` seconds; nothing is retried, and nothing is written
except temporary files deleted at once.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

import anyio
import httpx
from pydantic import ValidationError

from support_core.diagnosis import (
    Check,
    Diagnosis,
    bounded,
    failed,
    folder_check,
    passed,
    problems,
    render,
    skipped,
)
from support_core.mail import MailboxInfo

if TYPE_CHECKING:
    from orchestrator.config import AgentConfig, MailboxConfig, Secrets
    from orchestrator.servers import ServerSpec
    from orchestrator.stats_command import AddParser

DEFAULT_TIMEOUT = 15.0
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
STARTUP_TIMEOUT = 30.0
"""Seconds a tool server may take to start and answer the MCP handshake."""
SERVER_CALLS = 4
"""Network calls a server's `diagnose` makes one after the other at most (each bounded by `call_timeout`)."""
SERVER_LABELS = {"shopify": "Shopify", "gmail": "Gmail"}
START_FIXES = {
    "shopify": "correct the SHOPIFY_* setting it names (environment or .env)",
    "gmail": "correct the GMAIL_* setting it names (environment or .env), or run `gmail-mcp auth` for a token",
}
SHOP_SETTINGS = ("shop.name", "shop.domains", "shop.timezone", "tone.persona_name", "tone.signature")
"""The settings that make the shop the merchant's own; doctor names those still left to the defaults."""


# --- the whole diagnosis -------------------------------------------------------------------------------------------


async def diagnose(
    *,
    secrets: Secrets,
    config: AgentConfig | Exception,
    call_timeout: float = DEFAULT_TIMEOUT,
    config_path: Path | None = None,
) -> list[Check]:
    """Run every check. A config that failed to load is passed as the exception and reported as a failed line;
    `config_path` is the file it came from (default SUPPORT_AGENT_CONFIG; None: the bundled defaults alone).
    The tool servers asked are the daemon's own: each `[[mailboxes]]` entry's (`runner.mailbox_specs`), or the
    one mailbox the environment describes; with several mailboxes each line names its mailbox."""
    from orchestrator.runner import mailbox_specs, mailboxes, server_specs

    config_path = config_path or secrets.config
    if isinstance(config, Exception):
        named: list[tuple[str, MailboxConfig | None, tuple[ServerSpec, ...]]] = [("", None, server_specs(secrets))]
    else:
        configured = mailboxes(secrets, config)
        several = len(configured) > 1
        named = [(f"[{mb.name}] " if several else "", mb, mailbox_specs(mb)) for mb in configured]
    checks = [_config_check(config, config_path)]
    answers: dict[tuple[str, str], list[Check]] = {}
    async with anyio.create_task_group() as tg:  # every server starts side by side
        for prefix, _, specs in named:
            for spec in specs:
                tg.start_soon(_collect, answers, prefix, spec, call_timeout)
    for prefix, mailbox, _ in named:
        if mailbox is not None and not isinstance(config, Exception):
            said = answers.get((prefix, "shopify"), []) + answers.get((prefix, "gmail"), [])
            own = config.for_mailbox(mailbox) if config.mailboxes else config
            check = settings_check(own, config_path, mailbox, said)
            checks.append(check.model_copy(update={"name": prefix + check.name}))
    for prefix, _, specs in named:
        for spec in specs:
            checks += [c.model_copy(update={"name": prefix + c.name}) for c in answers[prefix, spec.name]]
    checks += await llm_checks(secrets, config, call_timeout)
    checks.append(await ledger_check(secrets.ledger, call_timeout))
    return checks


def _folder_of(path: str) -> Path:
    return Path(path).expanduser().parent


async def ledger_check(location: str, call_timeout: float) -> Check:
    """A SQLite ledger: its folder must be writable. A PostgreSQL one: it must open (connect, schema up to date)."""
    from orchestrator.errors import ConfigError, LedgerError
    from orchestrator.ledger import Ledger

    if "://" not in location:
        return folder_check(
            "Ledger folder", _folder_of(location), "make it a writable folder or set SUPPORT_AGENT_LEDGER"
        )
    ledger = Ledger(location)
    try:
        with anyio.fail_after(call_timeout):
            async with ledger:
                counts = await ledger.counts_by_state()
    except (LedgerError, ConfigError, TimeoutError) as exc:
        return failed("Ledger", str(exc) or "no answer in time", "check SUPPORT_AGENT_LEDGER and that the server runs")
    return passed("Ledger", f"{ledger.description}: {sum(counts.values())} messages")


# --- configuration ------------------------------------------------------------------------------------------------


def _config_check(config: AgentConfig | Exception, path: Path | None) -> Check:
    if isinstance(config, Exception):
        return failed("Config file", str(config), "correct the TOML file named above (or unset SUPPORT_AGENT_CONFIG)")
    source = f"{path} over the defaults" if path else "none given (SUPPORT_AGENT_CONFIG, --config), the defaults"
    return passed("Config file", f"{source}, valid (shop {config.shop.name!r}, engine.mode = {config.engine.mode})")


def settings_check(
    config: AgentConfig,
    path: Path | None,
    mailbox: MailboxConfig,
    said: list[Check],
) -> Check:
    """Which of the shop's settings (`SHOP_SETTINGS`) still come from the defaults, and what a real shop still
    lacks: its own identity, GMAIL_ADDRESS for a Maildir, SHOPIFY_STORE; the last two as the tool servers `said`
    in their own diagnosis (no call of their own). A warning, as the sandbox needs none of them; a failure when a
    real mailbox (any but the sandbox's) would be answered as the demo shop, which the daemon refuses to do."""
    from orchestrator.config import SANDBOX_MAILBOX, demo_shop, demo_traits, settings_given

    given = settings_given(path) | {f"shop.{key}" for key in mailbox.shop} | {f"tone.{key}" for key in mailbox.tone}
    defaults = [key for key in SHOP_SETTINGS if key not in given]
    traits = demo_traits(config)
    missing = [f"your shop's identity ({', '.join(traits)} are {demo_shop()[0]}'s)"] if traits else []
    variables = []
    info = _mailbox_seen(said)
    if info is not None and info.backend == "maildir" and info.address == SANDBOX_MAILBOX:
        missing.append(f"GMAIL_ADDRESS (the Maildir is {SANDBOX_MAILBOX}, the default)")
        variables.append("GMAIL_ADDRESS")
    if any(check.name == "Shopify mode" and check.detail.startswith("sandbox") for check in said):
        missing.append("SHOPIFY_STORE (the sandbox store answers)")
        variables.append("SHOPIFY_STORE and its token")
    addresses = {mailbox.address, info.address if info else None} - {None}
    real = sorted(str(address) for address in addresses if address != SANDBOX_MAILBOX)
    if not defaults and not missing:
        return passed("Settings", f"the shop's own: {config.shop.name}, {', '.join(sorted(map(str, addresses)))}")
    seen = [f"defaults: {', '.join(defaults)} ({f'not in {path}' if path else 'no config file'})"] if defaults else []
    seen += [f"missing for a real shop: {'; '.join(missing)}"] if missing else []
    if traits and real:
        fix = (
            f"the daemon refuses to answer {real[0]} as the demo shop: run `support-agent init` and point "
            "SUPPORT_AGENT_CONFIG (or --config) at the file it writes"
        )
        return failed("Settings", "; ".join(seen), fix)
    steps = ["run `support-agent init` and use the file it writes"] if traits or defaults else []
    steps += [f"set {' and '.join(variables)}"] if variables else []
    return failed(
        "Settings", "; ".join(seen), f"fine for the sandbox; for your shop {', then '.join(steps)}", warning=True
    )


def _mailbox_seen(said: list[Check]) -> MailboxInfo | None:
    """The mailbox the Gmail server's diagnosis names (its "Gmail mailbox" line starts with the address), or None."""
    backend = next((check for check in said if check.name == "Gmail backend"), None)
    named = next((check for check in said if check.name == "Gmail mailbox" and check.ok and check.detail), None)
    if backend is None or named is None:
        return None
    kinds = {"Maildir": "maildir", "IMAP": "imap"}
    kind = next((name for prefix, name in kinds.items() if backend.detail.startswith(prefix)), "gmail")
    return MailboxInfo(address=named.detail.split(" ", 1)[0], backend=kind)


# --- the tool servers ---------------------------------------------------------------------------------------------


async def _collect(
    answers: dict[tuple[str, str], list[Check]], prefix: str, spec: ServerSpec, call_timeout: float
) -> None:
    answers[prefix, spec.name] = await server_checks(spec, call_timeout)


async def server_checks(spec: ServerSpec, call_timeout: float) -> list[Check]:
    """A line saying the server runs, then its own `diagnose` answer; one failed line when it cannot start.

    The server is started from the daemon's `ServerSpec` (same command, arguments and environment); only its
    stderr is kept, so that the one-line error of a server that exits at start-up can be quoted.
    """
    from mcp import Client, StdioServerParameters  # not at the top: the other commands need no MCP client
    from mcp.client.stdio import stdio_client

    label = f"{SERVER_LABELS.get(spec.name, spec.name.title())} server"
    how = f"reached at {_shown(spec.url)}" if spec.url else f"started over stdio (python -m {spec.module})"
    started = False
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        target = spec.target()
        transport = stdio_client(target, errlog=errlog) if isinstance(target, StdioServerParameters) else target
        try:
            with anyio.fail_after(STARTUP_TIMEOUT + SERVER_CALLS * (call_timeout + 1)):
                async with Client(transport) as client:
                    started = True
                    result = await client.call_tool("diagnose", {"call_timeout": call_timeout})
        except Exception as exc:  # whatever keeps a server from starting or answering is one readable line
            errlog.seek(0)
            return [_unavailable(label, spec, exc, errlog.read(), started=started)]
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content).strip() or "no reason given"
        fix = "run the same version of the tool server as support-agent (older ones have no diagnose tool)"
        return [failed(label, f"{how}, but its diagnose tool failed: {text}", fix)]
    try:
        diagnosis = Diagnosis.model_validate(result.structured_content or {})
    except ValidationError:
        fix = "run the same version of the tool server as support-agent"
        return [failed(label, f"{how}, but its diagnose tool answered something else than a diagnosis", fix)]
    return [passed(label, how), *diagnosis.checks]


def _unavailable(label: str, spec: ServerSpec, exc: Exception, stderr: str, *, started: bool) -> Check:
    """The failed line of a server that did not start (or stopped before answering): its own last words when it
    wrote any, else what the client saw."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:  # the SDK's task groups wrap the real error
        first = exc.exceptions[0]
        if not isinstance(first, Exception):
            break
        exc = first
    if spec.url:
        reason = "no answer in time" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        fix = f"check SUPPORT_AGENT_{spec.name.upper()}_URL and that the server is running"
        return failed(label, f"cannot reach {_shown(spec.url)} ({reason})", fix)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    when = "while diagnosing" if started else "at start-up"
    if lines:
        detail = f"exited {when}: {lines[-1]}"
    elif isinstance(exc, TimeoutError):
        detail = "did not finish its diagnosis in time" if started else f"did not start within {STARTUP_TIMEOUT:g}s"
    else:
        detail = f"stopped {when} ({type(exc).__name__}: {exc})"
    return failed(label, detail, START_FIXES.get(spec.name, "correct the server's settings"))


def _shown(url: str | None) -> str:
    """A server URL for the report, without user:password@ or a query (either may carry a secret)."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


# --- OpenAI-compatible endpoint -----------------------------------------------------------------------------------


async def llm_checks(secrets: Secrets, config: AgentConfig | Exception, call_timeout: float) -> list[Check]:
    from orchestrator.config import Engine

    engine = Engine() if isinstance(config, Exception) else config.engine
    key = secrets.openai_api_key.get_secret_value() if secrets.openai_api_key else None
    if engine.mode == "offline":
        return [
            skipped("LLM endpoint", "engine.mode = offline: the offline engine is used"),
            skipped("LLM models", "not used"),
        ]
    if not key and not secrets.openai_base_url:
        if engine.mode == "llm":
            return [
                failed(
                    "LLM endpoint",
                    "engine.mode = llm but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set",
                    "set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), or engine.mode = auto",
                ),
                skipped("LLM models", "skipped: no endpoint"),
            ]
        return [
            skipped("LLM endpoint", "not configured (no OPENAI_API_KEY): the offline engine will be used"),
            skipped("LLM models", "not used"),
        ]
    base = (secrets.openai_base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
    url = f"{base}/models"
    shown = _shown(base)
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(call_timeout)) as http:
            response = await bounded(
                call_timeout + 1, http.get(url, headers={"Authorization": f"Bearer {key or 'no-key-needed'}"})
            )
    except (httpx.TimeoutException, TimeoutError):
        fix = "check OPENAI_BASE_URL and that the server is running"
        return [failed("LLM endpoint", f"{shown} did not answer within {call_timeout:g}s", fix), _no_models()]
    except httpx.HTTPError as exc:
        fix = "check OPENAI_BASE_URL and that the server is running"
        return [failed("LLM endpoint", f"cannot connect to {shown} ({type(exc).__name__})", fix), _no_models()]
    if response.status_code in (401, 403):
        return [
            failed(
                "LLM endpoint",
                f"{shown} rejected the API key (HTTP {response.status_code})",
                "check OPENAI_API_KEY (a key for this endpoint, not revoked)",
            ),
            _no_models(),
        ]
    if response.status_code >= 400:
        fix = "check OPENAI_BASE_URL (it should end with /v1 for most servers)"
        return [failed("LLM endpoint", f"GET {shown}/models answered HTTP {response.status_code}", fix), _no_models()]
    try:
        offered = {str(model["id"]) for model in response.json()["data"]}
    except (ValueError, KeyError, TypeError):
        fix = "check OPENAI_BASE_URL points to an OpenAI-compatible API"
        return [failed("LLM endpoint", f"GET {shown}/models did not answer a model list", fix), _no_models()]
    checks = [passed("LLM endpoint", f"{shown} reachable, key accepted")]
    wanted = {"engine.router_model": engine.router_model, "engine.agent_model": engine.agent_model}
    missing = {setting: model for setting, model in wanted.items() if model not in offered}
    if missing:
        listed = ", ".join(f"{model} ({setting})" for setting, model in missing.items())
        sample = ", ".join(sorted(offered)[:8]) or "none"
        checks.append(
            failed(
                "LLM models",
                f"not offered by the endpoint: {listed}",
                f"set {' and '.join(missing)} in the config to one of: {sample}",
            )
        )
    else:
        models = sorted(set(wanted.values()))
        checks.append(passed("LLM models", f"{', '.join(models)} available"))
    return checks


def _no_models() -> Check:
    return skipped("LLM models", "skipped: endpoint not usable")


# --- command line -------------------------------------------------------------------------------------------------


def add_doctor_parser(add_parser: AddParser, common_parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `doctor` (with the common flags) with `add_parser`."""
    doctor = add_parser(
        "doctor",
        parents=[common_parent],
        help="check the configuration end to end (tool servers as the daemon runs them, LLM endpoint, files)",
    )
    doctor.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each network check may take (default {DEFAULT_TIMEOUT:g})",
    )
    return doctor


async def run_doctor(args: argparse.Namespace, secrets: Secrets, config: AgentConfig, out: TextIO) -> int:
    """Run every check and print the report; 0 when nothing failed (warnings aside), else 1."""
    call_timeout = float(getattr(args, "timeout", None) or DEFAULT_TIMEOUT)
    path = getattr(args, "config", None) or secrets.config
    checks = await diagnose(secrets=secrets, config=config, call_timeout=call_timeout, config_path=path)
    out.write(render(checks))
    return 1 if problems(checks) else 0
