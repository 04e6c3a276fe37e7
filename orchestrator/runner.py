"""The daemon at runtime: tool servers, ledger and mailbox wired together, the poll loop, signals and graceful drain."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread

from orchestrator import language
from orchestrator.config import AgentConfig, Secrets, server_environment
from orchestrator.daemon import Daemon, worker_name
from orchestrator.errors import ConfigError, ServerUnavailableError, ToolCallError
from orchestrator.ledger import Claim, Ledger
from orchestrator.llm import LLM
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ServerSpec, ToolServers

logger = logging.getLogger(__name__)

POLL_ERRORS: tuple[type[Exception], ...] = (ToolCallError, ServerUnavailableError, TimeoutError)
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
            "server; SUPPORT_AGENT_MAILBOX sets the address without asking)"
        ) from None
    address = str(info.get("address") or "").strip().lower()
    if "@" not in address:
        raise ConfigError(
            f"The Gmail server reported no usable mailbox address ({address!r}): set SUPPORT_AGENT_MAILBOX."
        )
    return address


def server_specs(secrets: Secrets) -> tuple[ServerSpec, ServerSpec]:
    """Shopify and Gmail servers: the URLs from the secrets, else stdio subprocesses with an explicit environment."""
    env = server_environment()
    shopify = ServerSpec("shopify", url=secrets.shopify_url) if secrets.shopify_url else None
    gmail = ServerSpec("gmail", url=secrets.gmail_url) if secrets.gmail_url else None
    return (
        shopify or ServerSpec("shopify", module="shopify_mcp", env=env),
        gmail or ServerSpec("gmail", module="gmail_mcp", env=env),
    )


class DrainableLedger(Ledger):
    """A ledger that hands out no more claims once `drain()` is called: the daemon's work loop then ends."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.draining = False

    def drain(self) -> None:
        self.draining = True

    async def claim(self, worker: str, *, limit: int) -> list[Claim]:
        return [] if self.draining else await super().claim(worker, limit=limit)

    async def claim_drafted(self, worker: str, *, limit: int) -> list[Claim]:
        return [] if self.draining else await super().claim_drafted(worker, limit=limit)


@asynccontextmanager
async def open_runtime(
    secrets: Secrets, config: AgentConfig, *, own_address: str | None = None, worker: str | None = None
) -> AsyncIterator[Daemon]:
    """Both tool servers and the ledger opened, and a `Daemon` over them; all closed on exit. Without `own_address`
    (or SUPPORT_AGENT_MAILBOX) the Gmail server is asked for the mailbox's address."""
    address = own_address or mailbox_address(secrets)
    worker = worker or worker_name()
    llm = build_llm(secrets, config)
    async with (
        llm if llm is not None else contextlib.nullcontext(),
        ToolServers(*server_specs(secrets)) as servers,
        DrainableLedger(secrets.ledger) as ledger,
    ):
        address = address or await ask_mailbox_address(servers)
        await anyio.to_thread.run_sync(language.warm_up)  # the identifier's model loads off the event loop
        pipeline = Pipeline(servers, ledger, config, own_address=address, worker=worker, llm=llm)
        yield Daemon(servers, ledger, config, own_address=address, worker=worker, pipeline=pipeline)


def build_llm(secrets: Secrets, config: AgentConfig) -> LLM | None:
    """The LLM engine when configured ("auto": an API key or a base URL is set), else None (offline engine)."""
    key = secrets.openai_api_key.get_secret_value() if secrets.openai_api_key else None
    wanted = config.engine.mode == "llm" or (config.engine.mode == "auto" and (key or secrets.openai_base_url))
    if not wanted:
        return None
    if not key and not secrets.openai_base_url:
        raise ConfigError("engine.mode is 'llm' but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set.")
    return LLM(
        api_key=key or "no-key-needed",  # local OpenAI-compatible servers (Ollama, vLLM) accept any key
        base_url=secrets.openai_base_url,
        timeout=secrets.llm_timeout,
        router_model=config.engine.router_model,
        agent_model=config.engine.agent_model,
    )


async def drain(
    daemon: Daemon, *, grace_period: float, stop: anyio.Event, force: anyio.Event | None = None, poll: bool = True
) -> None:
    """One cycle: poll, then process everything claimable. Shielded from cancellation; once `stop` is set no new
    message is claimed and the ones in flight get `grace_period` seconds to finish (all at once when `force` is
    set). What is cut off stays claimed in the ledger until its lease ends, then is processed again."""
    error: Exception | None = None
    with anyio.CancelScope(shield=True) as scope:
        async with anyio.create_task_group() as tg:

            async def deadline() -> None:
                await stop.wait()
                if isinstance(daemon.ledger, DrainableLedger):
                    daemon.ledger.drain()
                scope.deadline = min(scope.deadline, anyio.current_time() + grace_period)
                if force is not None:
                    await force.wait()
                    scope.cancel()

            tg.start_soon(deadline)
            try:
                if poll and not stop.is_set():
                    await daemon.poll()
                await daemon.work()
            except Exception as exc:  # not caught: taken out of the task group's wrapping, re-raised below
                error = exc
            finally:
                tg.cancel_scope.cancel()
    if scope.cancelled_caught:
        logger.warning("Shutdown: messages still in flight were cut off; they are retried when their lease ends")
    if error is not None:
        raise error


async def run_forever(
    daemon: Daemon,
    *,
    poll_interval: float,
    grace_period: float,
    stop: anyio.Event,
    force: anyio.Event | None = None,
    report: Callable[[Outcome], None] | None = None,
) -> None:
    """Poll and work every `poll_interval` seconds until `stop`; then drain (see `drain`) and return."""
    while not stop.is_set():
        try:
            await drain(daemon, grace_period=grace_period, stop=stop, force=force)
        except POLL_ERRORS as exc:
            logger.warning("Polling the mailbox failed (%s); trying again in %g s", exc, poll_interval)
        outcomes, daemon.outcomes = daemon.outcomes, []  # the daemon keeps every outcome; a long run must not
        for outcome in outcomes:
            if report is not None:
                report(outcome)
        with anyio.move_on_after(poll_interval):
            await stop.wait()


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
