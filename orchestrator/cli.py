"""The `run`, `once` and `chat` commands of `support-agent`: flags, readable errors, and what they print."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import anyio
import anyio.to_thread
from pydantic import ValidationError

from orchestrator.config import AgentConfig, Secrets, check_env_file, load_config
from orchestrator.doctor import add_doctor_parser, run_doctor
from orchestrator.errors import ConfigError, LedgerError, ServerUnavailableError, ToolCallError
from orchestrator.init_command import add_init_parser, run_init
from orchestrator.mcp_config import add_mcp_config_parser, run_mcp_config
from orchestrator.reports import message_json, outcome_cells, table
from orchestrator.serve import add_serve_parser, run_serve
from orchestrator.stats_command import AddParser, add_stats_parser, run_stats
from support_core.errors import ConfigError as CoreConfigError
from support_core.mail import MailboxInfo
from support_core.settings_errors import setting_problems

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon
    from orchestrator.pipeline import Outcome

READABLE = (CoreConfigError, LedgerError, ServerUnavailableError, ToolCallError)
"""Errors whose message tells the user what to fix (a tool server's refusal at the first poll included): one line."""
COMMANDS = ("run", "once", "chat", "serve", "stats", "doctor", "mcp-config", "init")
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def add_commands(add_parser: AddParser) -> None:
    """Add `run`, `once`, `chat`, `stats`, `doctor`, `serve` and `mcp-config` (with the common flags, also accepted
    after the command), and `init`, with `add_parser`, the sub-command factory of the main parser."""
    common = argparse.ArgumentParser(add_help=False)
    add_common_flags(common, suppress=True)
    run = add_parser("run", parents=[common], help="watch the inbox and write reply drafts until stopped")
    run.add_argument("--interval", type=float, help="seconds between polls (overrides daemon.poll_interval)")
    run.add_argument("--concurrency", type=int, help="messages processed at once (overrides daemon.concurrency)")
    once = add_parser(
        "once", parents=[common], help="process the inbox's backlog, print what was done, exit (1 if any failed)"
    )
    for command in (run, once):
        command.add_argument(
            "--json", action="store_true", help="print one JSON object per message (for scripts) instead of a table"
        )
    chat = add_parser(
        "chat", parents=[common], help="answer one customer message (or lines from stdin) without the mailbox"
    )
    add_stats_parser(add_parser, common)
    add_doctor_parser(add_parser, common)
    add_serve_parser(add_parser, common)
    add_mcp_config_parser(add_parser, common)
    add_init_parser(add_parser)
    chat.add_argument("message", nargs="?", help="the customer's message; without it, read one per line until EOF")
    chat.add_argument(
        "--email", help="the customer's verified address; without it order tools disclose nothing", default=None
    )


def add_common_flags(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """`--config` and `--log-level`; `suppress` keeps a subcommand from overwriting values given before it."""
    parser.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS if suppress else None,
        help="TOML configuration (default: $SUPPORT_AGENT_CONFIG, else the bundled defaults)",
    )
    parser.add_argument(
        "--log-level",
        default=argparse.SUPPRESS if suppress else "WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="show the full traceback of an unexpected error (and log at DEBUG)",
    )


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run `args.command`; the exit code (2 for a configuration problem, said in one line on `err`)."""
    try:
        if args.command == "mcp-config":
            return run_mcp_config(args, out, err)
        if args.command == "init":
            return run_init(args, sys.stdin, out)
        check_env_file()
        secrets = Secrets()
        config = _config(args, secrets)
        if args.command == "chat":
            return anyio.run(_chat, secrets, config, args.message, args.email, out, err)
        if args.command == "serve":
            return run_serve(args, secrets, config, err)
        if args.command == "stats":
            return anyio.run(run_stats, args, args.ledger or secrets.ledger, out)
        if args.command == "doctor":
            return anyio.run(run_doctor, args, secrets, config, out)
        from orchestrator.runner import mailbox_address

        mailbox = mailbox_address(secrets)
        as_json = bool(getattr(args, "json", False))
        if args.command == "once":
            return anyio.run(_once, secrets, config, mailbox, out, as_json)
        return anyio.run(_run, secrets, config, mailbox, out, err, as_json)
    except ValidationError as exc:
        err.write(f"support-agent: invalid setting: {setting_problems(Secrets, exc)}\n")
        return EXIT_CONFIG
    except READABLE as exc:
        err.write(f"support-agent: {exc}\n")
        return EXIT_CONFIG
    except ExceptionGroup as group:  # a task group (the tool servers, the worker pool) wrapped it: one line still
        found = _readable(group)
        if found is None:
            raise
        err.write(f"support-agent: {found}\n")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _readable(group: BaseExceptionGroup[BaseException]) -> Exception | None:
    """The configuration or ledger error inside a group of exceptions that holds nothing else, or None."""
    matched, rest = group.split(READABLE)
    if matched is None or rest is not None:
        return None
    leaves = list(_leaves(matched))
    return leaves[0] if len(leaves) == 1 and isinstance(leaves[0], READABLE) else None


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()[:5])


def _config(args: argparse.Namespace, secrets: Secrets) -> AgentConfig:
    config = load_config(getattr(args, "config", None) or secrets.config)
    overrides = {
        key: value
        for key, value in (
            ("poll_interval", getattr(args, "interval", None)),
            ("concurrency", getattr(args, "concurrency", None)),
        )
        if value is not None
    }
    if not overrides:
        return config
    try:
        daemon = type(config.daemon).model_validate({**config.daemon.model_dump(), **overrides})
    except ValidationError as exc:
        flags = {"poll_interval": "--interval", "concurrency": "--concurrency"}
        problems = "; ".join(f"{flags.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()[:2])
        raise ConfigError(problems) from None
    return config.model_copy(update={"daemon": daemon})


# --- once and run ----------------------------------------------------------------------------------------------


async def _once(secrets: Secrets, config: AgentConfig, mailbox: str, out: TextIO, as_json: bool = False) -> int:
    from orchestrator.runner import drain, open_runtime, watch_signals

    started = datetime.now(UTC)
    stop, force = anyio.Event(), anyio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(watch_signals, stop, force)
        async with open_runtime(secrets, config, own_address=mailbox) as runtime:
            read = [await _mailbox_line(daemon) for daemon in runtime.daemons]
            await drain(runtime, grace_period=config.daemon.grace_period, stop=stop, force=force)
            entries = await runtime.ledger.entries(since=started)
        tg.cancel_scope.cancel()
    if as_json:
        outcomes = {(o.mailbox, o.message_id): o for o in runtime.outcomes}
        for entry in sorted(entries, key=lambda e: (e.mailbox, e.message_id)):
            out.write(message_json(outcomes.get((entry.mailbox, entry.message_id)), entry) + "\n")
    else:
        out.write("".join(f"Read {line}.\n" for line in read))
        rows: list[tuple[str, ...]] = [("sender", "verdict", "category", "lang", "tools", "draft")]
        rows += [outcome_cells(o, sender=True) for o in sorted(runtime.outcomes, key=lambda o: o.message_id)]
        failed = [e for e in entries if e.state in ("failed", "needs_human")]
        rows += [(e.message_id[:34], e.state.upper(), "", "", "", (e.error or "")[:80]) for e in failed]
        if len(rows) > 1:
            out.write("\n".join(table(rows)) + "\n")
        states: dict[str, int] = {}
        for entry in entries:
            states[entry.state] = states.get(entry.state, 0) + 1
        summary = ", ".join(f"{state} {n}" for state, n in sorted(states.items())) or "nothing new"
        drafted = sum(1 for o in runtime.outcomes if o.draft_id)
        failures = runtime.failures
        out.write(f"{len(entries)} messages: {summary}; {drafted} reply drafts, {failures} failures, none sent.\n")
    if force.is_set():
        return EXIT_INTERRUPTED
    return 1 if runtime.failures or runtime.unavailable else 0


async def _mailbox_line(daemon: Daemon) -> str:
    """ "mailbox default: support@shop.example (maildir)", from the Gmail server's `mailbox_info`."""
    try:
        info = MailboxInfo.model_validate(await daemon.servers.gmail.call("mailbox_info", {}))
    except (ToolCallError, ServerUnavailableError, ValidationError):
        return f"mailbox {daemon.mailbox}: address unknown (backend unknown)"
    return f"mailbox {daemon.mailbox}: {info.address} ({info.backend})"


async def _run(
    secrets: Secrets, config: AgentConfig, mailbox: str, out: TextIO, err: TextIO, as_json: bool = False
) -> int:
    from orchestrator.runner import open_runtime, run_forever, watch_signals

    def report(outcome: Outcome) -> None:
        line = message_json(outcome) if as_json else "  ".join(outcome_cells(outcome, sender=False)).rstrip()
        out.write(line + "\n")
        out.flush()

    stop, force = anyio.Event(), anyio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(watch_signals, stop, force)
        async with open_runtime(secrets, config, own_address=mailbox) as runtime:
            names = ", ".join(daemon.mailbox for daemon in runtime.daemons)
            err.write(
                f"support-agent: watching {'the inbox' if len(runtime.daemons) == 1 else 'the mailboxes ' + names} "
                f"every {config.daemon.poll_interval:g} s, {config.daemon.concurrency} at a time; "
                "Ctrl-C or SIGTERM to stop.\n"
            )
            err.flush()
            await run_forever(
                runtime,
                poll_interval=config.daemon.poll_interval,
                grace_period=config.daemon.grace_period,
                stop=stop,
                force=force,
                report=report,
            )
        tg.cancel_scope.cancel()
    err.write("support-agent: stopped.\n" if not force.is_set() else "support-agent: stopped without draining.\n")
    return EXIT_INTERRUPTED if force.is_set() else 0


# --- chat ------------------------------------------------------------------------------------------------------


async def _chat(
    secrets: Secrets, config: AgentConfig, message: str | None, email: str | None, out: TextIO, err: TextIO
) -> int:
    from support_core.addresses import AddressError, normalise_address

    if email is not None:
        try:
            email = normalise_address(email)
        except AddressError as exc:
            err.write(f"support-agent: --email: {exc}\n")
            return 2
    from orchestrator.chat import ChatAnswer, ChatTurn, answer, router  # after the check: a refused address needs none
    from orchestrator.runner import build_llm, server_specs
    from orchestrator.servers import ToolServers

    def show(reply: ChatAnswer) -> None:
        out.write(reply.response.rstrip() + "\n\n")
        out.flush()
        notes = [reply.category, reply.language, ", ".join(reply.tools_used) or "no tools"]
        if reply.handover:
            notes.append("a person should take over (chat escalates nothing)")
        if reply.removed:
            notes.append(f"the guard stopped the reply ({', '.join(reply.removed)}); a holding reply was given")
        err.write(f"[{' · '.join(notes)}]\n")
        err.flush()

    llm = build_llm(secrets, config)
    async with llm if llm is not None else contextlib.nullcontext(), ToolServers(*server_specs(secrets)) as servers:
        pipeline = router(servers, config, llm)
        if message is not None:
            show(await answer(servers, config, message, customer_email=email, pipeline=pipeline))
            return 0
        history: list[ChatTurn] = []
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                err.write("> ")
                err.flush()
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                return 0
            if not line.strip():
                continue
            reply = await answer(
                servers, config, line.strip(), customer_email=email, history=history, pipeline=pipeline
            )
            show(reply)
            history += [ChatTurn("customer", line.strip()), ChatTurn("agent", reply.response)]
