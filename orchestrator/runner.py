"""The daemon at runtime: the ledger, each mailbox's tool servers and daemon, the poll loops, signals and drain."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import anyio.to_thread
from pydantic import ValidationError

from orchestrator import language
from orchestrator.config import (
    SANDBOX_MAILBOX,
    AgentConfig,
    MailboxConfig,
    Secrets,
    ServerConfig,
    demo_shop,
    demo_traits,
    server_environment,
)
from orchestrator.daemon import DEFAULT_MAILBOX, Daemon, Hooks, worker_name
from orchestrator.errors import ConfigError, LedgerError, ServerUnavailableError, ToolCallError
from orchestrator.ledger import Ledger
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ServerSpec, ToolServers
from support_core.addresses import AddressError, normalise_address
from support_core.mail import MailboxInfo

if TYPE_CHECKING:  # the openai client is imported only when an LLM is configured
    from orchestrator.llm import LLM

logger = logging.getLogger(__name__)

POLL_ERRORS: tuple[type[Exception], ...] = (ToolCallError, ServerUnavailableError, TimeoutError)
WATCHED_PAUSE = 1.0
"""Seconds between the cycles of a mailbox that watches its inbox: a server answering at once every time costs at
most one listing a second."""
IDLE_WAIT = 25.0
"""Seconds `run` lets a mailbox that can watch its inbox (IMAP IDLE) wait for new mail in one poll: under the 29
minutes after which RFC 2177 says to re-issue IDLE, and under the idle timeouts of the NAT boxes between."""
"""A poll that fails with one of these is logged and tried again at the next interval."""


def mailbox_address(secrets: Secrets) -> str:
    """The inbox's own address (the gatekeeper ignores our own mail) when SUPPORT_AGENT_MAILBOX sets it, else ""
    (`open_runtime` then asks the Gmail server, local or at `secrets.gmail_url`, with `mailbox_info`).
    `ConfigError` when the variable is malformed."""
    return secrets.mailbox or ""


async def ask_mailbox_address(servers: ToolServers) -> str:
    """The inbox's own address as the Gmail server reports it (`mailbox_info`: GMAIL_ADDRESS for a Maildir, the
    Gmail account's address for the Gmail API); `ConfigError` when it cannot say."""
    try:
        info = await servers.gmail.call("mailbox_info", {})
    except (ToolCallError, ServerUnavailableError) as exc:
        raise ConfigError(
            f"The Gmail server could not tell the mailbox's address: {exc} (`support-agent doctor` checks the "
            "server; SUPPORT_AGENT_MAILBOX or the mailbox's `address` sets it without asking)"
        ) from None
    try:
        return normalise_address(MailboxInfo.model_validate(info).address)
    except (ValidationError, AddressError):
        raise ConfigError(
            f"The Gmail server reported no usable mailbox address ({info.get('address')!r}): set SUPPORT_AGENT_MAILBOX."
        ) from None


async def refuse_demo_identity(config: AgentConfig, address: str, servers: ToolServers) -> None:
    """`ConfigError` when `config` still describes the demo shop (`demo_traits`) but the mailbox is a real one: any
    but the sandbox's, as configured and as its Gmail server reports it (the Gmail API reports the account's own
    address, which is never the sandbox's). An address under the reserved `.invalid` domain reads no mail (`serve`
    without the worker) and is let through."""
    traits = demo_traits(config)
    if not traits or address.rpartition("@")[2].rsplit(".", 1)[-1] == "invalid":
        return
    if address == SANDBOX_MAILBOX:  # as configured; the server may know better (a real account behind it)
        with contextlib.suppress(ToolCallError, ServerUnavailableError, ValidationError, AddressError):
            info = MailboxInfo.model_validate(await servers.gmail.call("mailbox_info", {}))
            address = normalise_address(info.address)
    if address != SANDBOX_MAILBOX:
        raise ConfigError(
            f"the configuration still describes the demo shop ({demo_shop()[0]}: {', '.join(traits)}) but the "
            f"mailbox {address} is a real one: run `support-agent init` (or give --config) first."
        )


def server_specs(secrets: Secrets) -> tuple[ServerSpec, ServerSpec]:
    """Shopify and Gmail servers: the URLs from the secrets, else stdio subprocesses with an explicit environment."""
    default = MailboxConfig(
        name=DEFAULT_MAILBOX,
        shopify=ServerConfig(url=secrets.shopify_url),
        gmail=ServerConfig(url=secrets.gmail_url),
    )
    return mailbox_specs(default)


def mailbox_specs(mailbox: MailboxConfig) -> tuple[ServerSpec, ServerSpec]:
    """A mailbox's two servers: its URLs, else stdio subprocesses with this process's SHOPIFY_*/GMAIL_* variables
    and the mailbox's env file and `env` on top."""
    base = server_environment()

    def spec(name: str, module: str, server: ServerConfig) -> ServerSpec:
        if server.url:
            return ServerSpec(name, url=server.url)
        return ServerSpec(name, module=module, env=server.environment(base))

    return spec("shopify", "shopify_mcp", mailbox.shopify), spec("gmail", "gmail_mcp", mailbox.gmail)


def mailboxes(secrets: Secrets, config: AgentConfig) -> list[MailboxConfig]:
    """The configured `[[mailboxes]]`, or the one mailbox ("default") that the environment describes."""
    if config.mailboxes:
        return list(config.mailboxes)
    return [
        MailboxConfig(
            name=DEFAULT_MAILBOX,
            address=secrets.mailbox,
            shopify=ServerConfig(url=secrets.shopify_url),
            gmail=ServerConfig(url=secrets.gmail_url),
        )
    ]


@dataclass
class Runtime:
    """What `open_runtime` opened: the ledger, the LLM (or None) and one `Daemon` per mailbox that started.
    `unavailable` names the mailboxes whose servers did not start (with why); the others run without them."""

    ledger: Ledger
    llm: LLM | None
    daemons: list[Daemon]
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def daemon(self) -> Daemon:
        """The first mailbox's daemon (the only one without `[[mailboxes]]`)."""
        return self.daemons[0]

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for daemon in self.daemons for outcome in daemon.outcomes]

    @property
    def failures(self) -> int:
        return sum(daemon.failures for daemon in self.daemons)

    def set_hooks(self, hooks: Hooks) -> None:
        for daemon in self.daemons:
            daemon.hooks = hooks


@asynccontextmanager
async def open_runtime(
    secrets: Secrets, config: AgentConfig, *, own_address: str | None = None, worker: str | None = None
) -> AsyncIterator[Runtime]:
    """The ledger and, per mailbox, both tool servers and a `Daemon`; all closed on exit. A mailbox without an
    address (`address`, SUPPORT_AGENT_MAILBOX or `own_address`) asks its Gmail server. With several mailboxes, one
    whose servers cannot start, or that would answer a real mailbox as the demo shop (`refuse_demo_identity`), is left
    out (logged, in `unavailable`); when none starts, the first error is raised."""
    worker = worker or worker_name()
    llm = build_llm(secrets, config)
    wanted = mailboxes(secrets, config)
    async with (
        llm if llm is not None else contextlib.nullcontext(),
        Ledger(secrets.ledger) as ledger,
        AsyncExitStack() as stack,
    ):
        await anyio.to_thread.run_sync(language.warm_up)  # the identifier's model loads off the event loop
        runtime = Runtime(ledger=ledger, llm=llm, daemons=[])
        errors: list[Exception] = []
        for mailbox in wanted:
            mailbox_config = config.for_mailbox(mailbox) if config.mailboxes else config
            try:
                servers = await stack.enter_async_context(ToolServers(*mailbox_specs(mailbox)))
                address = mailbox.address or own_address or await ask_mailbox_address(servers)
                await refuse_demo_identity(mailbox_config, address, servers)
            except (ServerUnavailableError, ConfigError) as exc:
                if len(wanted) == 1:
                    raise
                logger.error("Mailbox %s is left out: %s", mailbox.name, exc)
                runtime.unavailable[mailbox.name] = str(exc)
                errors.append(exc)
                continue
            pipeline = Pipeline(servers, ledger, mailbox_config, own_address=address, worker=worker, llm=llm)
            runtime.daemons.append(
                Daemon(
                    servers,
                    ledger,
                    mailbox_config,
                    own_address=address,
                    mailbox=mailbox.name,
                    worker=worker,
                    pipeline=pipeline,
                )
            )
        if not runtime.daemons:
            raise errors[0]
        yield runtime


def build_llm(secrets: Secrets, config: AgentConfig) -> LLM | None:
    """The LLM engine when configured ("auto": an API key or a base URL is set), else None (offline engine)."""
    key = secrets.openai_api_key.get_secret_value() if secrets.openai_api_key else None
    wanted = config.engine.mode == "llm" or (config.engine.mode == "auto" and (key or secrets.openai_base_url))
    if not wanted:
        return None
    if not key and not secrets.openai_base_url:
        raise ConfigError("engine.mode is 'llm' but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set.")
    from orchestrator.llm import LLM  # here: the offline engine never imports the openai client

    return LLM(
        api_key=key or "no-key-needed",  # local OpenAI-compatible servers (Ollama, vLLM) accept any key
        base_url=secrets.openai_base_url,
        timeout=secrets.llm_timeout,
        router_model=config.engine.router_model,
        agent_model=config.engine.agent_model,
        outage_pause=config.engine.outage_pause_seconds,
    )


async def drain(
    runtime: Runtime | Daemon,
    *,
    grace_period: float,
    stop: anyio.Event,
    force: anyio.Event | None = None,
    poll: bool = True,
) -> None:
    """One cycle for every mailbox at once: poll, then process everything claimable. Shielded from cancellation;
    once `stop` is set no new message is claimed and the ones in flight get `grace_period` seconds to finish (all
    at once when `force` is set). What is cut off stays claimed in the ledger until its lease ends, then is
    processed again. A mailbox whose poll or work fails does not stop the others; with one mailbox its error is
    raised."""
    daemons = runtime.daemons if isinstance(runtime, Runtime) else [runtime]
    errors: list[Exception] = []
    with anyio.CancelScope(shield=True) as scope:
        async with anyio.create_task_group() as tg:

            async def deadline() -> None:
                await stop.wait()
                for daemon in daemons:
                    daemon.should_exit = True
                    daemon.stop_watching()
                scope.deadline = min(scope.deadline, anyio.current_time() + grace_period)
                if force is not None:
                    await force.wait()
                    scope.cancel()

            async def cycle(daemon: Daemon) -> None:
                try:
                    if poll and not stop.is_set():
                        await daemon.poll()
                    await daemon.work()
                except Exception as exc:  # kept apart so one mailbox's failure leaves the others running
                    if len(daemons) > 1:
                        level = logging.WARNING if isinstance(exc, POLL_ERRORS) else logging.ERROR
                        logger.log(level, "Mailbox %s: %s: %s", daemon.mailbox, type(exc).__name__, exc)
                    errors.append(exc)

            tg.start_soon(deadline)
            async with anyio.create_task_group() as cycles:
                for daemon in daemons:
                    cycles.start_soon(cycle, daemon)
            tg.cancel_scope.cancel()
    if scope.cancelled_caught:
        logger.warning("Shutdown: messages still in flight were cut off; they are retried when their lease ends")
    if errors and len(daemons) == 1:
        raise errors[0]


async def run_forever(
    runtime: Runtime | Daemon,
    *,
    poll_interval: float,
    grace_period: float,
    stop: anyio.Event,
    force: anyio.Event | None = None,
    report: Callable[[Outcome], None] | None = None,
    idle_wait: float = IDLE_WAIT,
) -> None:
    """Poll and work until `stop`, each mailbox on its own; then drain (see `drain`) and return.

    After a cycle a mailbox pauses `poll_interval` seconds, unless its server can watch the inbox (IMAP IDLE): then
    each poll that finds nothing new waits there up to `idle_wait` seconds and answers as soon as mail arrives, so
    the watch is the pause (cycles stay `WATCHED_PAUSE` apart). Until a quiet poll has shown whether the mailbox can
    watch (a first listing, or polls that keep finding mail), the pause is the short one too: mail is flowing, or the
    next quiet poll tells. A failed cycle pauses `poll_interval`. `stop` ends a watch at once."""
    daemons = runtime.daemons if isinstance(runtime, Runtime) else [runtime]

    def polling(daemon: Daemon) -> str:
        return f"Polling mailbox {daemon.mailbox}" if len(daemons) > 1 else "Polling the mailbox"

    async def loop(daemon: Daemon) -> None:
        daemon.idle_wait = idle_wait
        while not stop.is_set():
            pause = poll_interval
            try:
                await drain(daemon, grace_period=grace_period, stop=stop, force=force)
                if idle_wait > 0 and daemon.watches is not False:
                    pause = min(WATCHED_PAUSE, poll_interval)
            except POLL_ERRORS as exc:
                logger.warning("%s failed (%s); trying again in %g s", polling(daemon), exc, poll_interval)
            except LedgerError as exc:
                logger.error("The ledger failed (%s); trying again in %g s", exc, poll_interval)
            except Exception as exc:  # one mailbox's failure leaves the others running; alone, it is raised
                if len(daemons) == 1:
                    raise
                logger.error("Mailbox %s: %s: %s", daemon.mailbox, type(exc).__name__, exc)
            outcomes, daemon.outcomes = daemon.outcomes, []  # the daemon keeps every outcome; a long run must not
            for outcome in outcomes:
                if report is not None:
                    report(outcome)
            with anyio.move_on_after(pause):
                await stop.wait()

    async with anyio.create_task_group() as tg:
        for daemon in daemons:
            tg.start_soon(loop, daemon)


async def watch_signals(
    stop: anyio.Event, force: anyio.Event, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    """SIGINT/SIGTERM set `stop` (finish what is in flight, then exit); a second one sets `force` (exit now)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            if stop.is_set():
                logger.warning("Second %s: stopping now", signal.Signals(signum).name)
                force.set()
                return
            logger.warning("%s: finishing the messages in progress, then exiting", signal.Signals(signum).name)
            stop.set()
