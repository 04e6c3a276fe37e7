"""One mailbox's daemon: poll new mail into the ledger, and a continuously refilled pool of workers on its claims."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from orchestrator.config import AgentConfig
from orchestrator.errors import LostClaimError
from orchestrator.ledger import Claim, Ledger, Record
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ToolServers

logger = logging.getLogger(__name__)

DEFAULT_MAILBOX = "default"
PAGE = 200
"""Messages asked of the Gmail server per `list_new_messages` call."""


def retry_delay(attempt: int) -> float:
    """Seconds before a failed message is tried again: 30 s, 1 min, 2 min ... capped at 30 min."""
    return float(min(30 * 2 ** (attempt - 1), 1800))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Hooks:
    """What callers (the HTTP server's health and metrics, the CLI's report, tests) learn from a running daemon.

    `on_message_start(claim)` runs before a claimed message is processed; `on_message_end(claim, outcome)` after
    its attempt ended (`outcome` None when it failed or was taken over); `on_poll(new, error)` after each poll
    (`error` set when it failed). A hook that raises is logged and does not stop the daemon.
    """

    on_message_start: Callable[[Claim], Awaitable[None]] | None = None
    on_message_end: Callable[[Claim, Outcome | None], Awaitable[None]] | None = None
    on_poll: Callable[[int, Exception | None], Awaitable[None]] | None = None


class Daemon:
    """One mailbox: `poll()` records new mail, `work()` processes what can be claimed until nothing is left (or
    `should_exit` is set), `run_once()` does both. Work runs `concurrency` messages at a time in a pool refilled as
    soon as a slot frees: a slow message never holds the others back."""

    def __init__(
        self,
        servers: ToolServers,
        ledger: Ledger,
        config: AgentConfig,
        *,
        own_address: str,
        mailbox: str = DEFAULT_MAILBOX,
        worker: str | None = None,
        pipeline: Pipeline | None = None,
        on_stage: Callable[[str, str], None] | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self.servers = servers
        self.ledger = ledger
        self.config = config
        self.mailbox = mailbox
        self.worker = worker or worker_name()
        self.pipeline = pipeline or Pipeline(
            servers, ledger, config, own_address=own_address, worker=self.worker, on_stage=on_stage
        )
        self.hooks = hooks or Hooks()
        self.should_exit = False
        """Set it to stop claiming: `work()` returns once the messages in flight are done."""
        self.outcomes: list[Outcome] = []
        self.failures = 0
        self.idle_wait = 0.0
        """Seconds a poll that finds nothing new may let the mailbox watch for mail (IMAP IDLE); `run` sets it."""
        self.watches: bool | None = None
        """Whether the mailbox watched for mail the last time a quiet poll let it (IMAP IDLE); None until then."""
        self._watch: anyio.CancelScope | None = None

    async def poll(self) -> int:
        """Record new inbox mail (and the cursor, in the same transaction); return how many were new."""
        total = 0
        first = True
        try:
            while True:
                cursor = await self.ledger.get_cursor(self.mailbox)
                arguments: dict[str, object] = {"limit": PAGE}
                if cursor:
                    arguments["cursor"] = cursor
                if cursor and first and self.idle_wait > 0 and not self.should_exit:
                    arguments["wait_seconds"] = self.idle_wait
                    new: dict[str, Any] = {}
                    with anyio.CancelScope() as self._watch:
                        new = await self.servers.gmail.call("list_new_messages", arguments)
                    self._watch = None
                    if not new:  # stop_watching() cut the watch short: nothing was listed
                        break
                    if new.get("waited"):
                        self.watches = True
                    elif not new.get("messages"):  # quiet, and it answered at once: this mailbox cannot watch now
                        self.watches = False
                else:
                    new = await self.servers.gmail.call("list_new_messages", arguments)
                first = False
                messages = new.get("messages", [])
                added = await self.ledger.record_seen(
                    self.mailbox,
                    [m["id"] for m in messages],
                    [m["thread_id"] for m in messages],
                    cursor=str(new["cursor"]),
                )
                total += len(added)
                if len(messages) < PAGE:
                    break
        except Exception as exc:
            await self._hook(self.hooks.on_poll, total, exc)
            raise
        await self._hook(self.hooks.on_poll, total, None)
        return total

    @property
    def watching(self) -> bool:
        """Whether a poll is waiting for mail now (`list_new_messages` with `wait_seconds` under way)."""
        return self._watch is not None

    def stop_watching(self) -> None:
        """End a poll's watch for new mail now (on shutdown); the poll then returns with nothing new."""
        if self._watch is not None:
            self._watch.cancel()

    async def work(self) -> int:
        """Process every claimable message, `concurrency` at a time; return how many were handled."""
        limit = self.config.daemon.concurrency
        handled = 0
        in_flight = 0
        freed = anyio.Event()

        async def run(claim: Claim) -> None:
            nonlocal in_flight, freed
            try:
                await self._process(claim)
            finally:
                in_flight -= 1
                freed.set()
                freed = anyio.Event()

        async with anyio.create_task_group() as tg:
            while not self.should_exit:
                if in_flight >= limit:
                    await freed.wait()
                    continue
                claims = await self.ledger.claim(self.mailbox, self.worker, limit=limit - in_flight)
                if not claims:
                    if in_flight == 0:
                        break
                    await freed.wait()  # a retry may come due, or a takeover: look again when a slot frees
                    continue
                for claim in claims:
                    in_flight += 1
                    handled += 1
                    tg.start_soon(run, claim)
        return handled

    async def run_once(self) -> list[Outcome]:
        await self.poll()
        await self.work()
        return self.outcomes

    async def _process(self, claim: Claim) -> None:
        record = Record()
        outcome: Outcome | None = None
        await self._hook(self.hooks.on_message_start, claim)
        try:
            outcome = await self.pipeline.process(claim, record)
            self.outcomes.append(outcome)
        except LostClaimError:
            logger.warning("Message %s was taken over by another worker (lease expired); leaving it", claim.message_id)
        except Exception as exc:  # the one broad catch: record the failure, keep the message, move on
            await self._failed(claim, record, exc)
        finally:
            await self._hook(self.hooks.on_message_end, claim, outcome)

    async def _failed(self, claim: Claim, record: Record, exc: Exception) -> None:
        self.failures += 1
        logger.warning("Message %s failed (attempt %d): %s", claim.message_id, claim.attempts, type(exc).__name__)
        try:
            state = await self.ledger.fail(
                claim,
                error=f"{type(exc).__name__}: {exc}",
                max_attempts=self.config.daemon.max_attempts,
                backoff=retry_delay,
                record=record,
            )
        except LostClaimError:
            return  # another worker owns it now and will record its own outcome
        if state == "needs_human":
            await self.servers.gmail.call(
                "modify_labels", {"message_ids": [claim.message_id], "add": [self.config.labels.needs_human]}
            )

    @staticmethod
    async def _hook(hook: Callable[..., Awaitable[None]] | None, *args: object) -> None:
        if hook is None:
            return
        try:
            await hook(*args)
        except Exception:
            logger.exception("A daemon hook failed; the daemon goes on")
