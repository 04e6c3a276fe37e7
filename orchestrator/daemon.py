"""The inbox daemon: poll new mail into the ledger, claim it, run the pipeline with bounded concurrency, retry."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable

import anyio

from orchestrator.config import AgentConfig
from orchestrator.errors import LostClaimError
from orchestrator.ledger import Claim, Ledger
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ToolServers

logger = logging.getLogger(__name__)


def retry_delay(attempt: int) -> float:
    """Seconds before a failed message is tried again: 30 s, 1 min, 2 min ... capped at 30 min."""
    return float(min(30 * 2 ** (attempt - 1), 1800))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Daemon:
    """`run_once()` drains the backlog: poll, then process everything claimable (cron, the demo, tests)."""

    def __init__(
        self,
        servers: ToolServers,
        ledger: Ledger,
        config: AgentConfig,
        *,
        own_address: str,
        worker: str | None = None,
        pipeline: Pipeline | None = None,
        on_stage: Callable[[str, str], None] | None = None,
        after_message: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.servers = servers
        self.ledger = ledger
        self.config = config
        self.worker = worker or worker_name()
        self.pipeline = pipeline or Pipeline(
            servers, ledger, config, own_address=own_address, worker=self.worker, on_stage=on_stage
        )
        self.after_message = after_message
        """Awaited with each message id once it is processed or has failed (metrics read the ledger entry)."""
        self.outcomes: list[Outcome] = []
        self.failures = 0

    async def poll(self) -> int:
        """Record new inbox mail (and the cursor, in the same transaction); return how many were new."""
        total = 0
        while True:
            cursor = await self.ledger.get_cursor()
            arguments: dict[str, object] = {"limit": 200}
            if cursor:
                arguments["cursor"] = cursor
            new = await self.servers.gmail.call("list_new_messages", arguments)
            messages = new.get("messages", [])
            added = await self.ledger.record_seen(
                [m["id"] for m in messages], [m["thread_id"] for m in messages], cursor=str(new["cursor"])
            )
            total += len(added)
            if len(messages) < 200:
                return total

    async def _process(self, claim: Claim) -> None:
        try:
            self.outcomes.append(await self.pipeline.process(claim))
        except LostClaimError:
            logger.warning("Message %s was taken over by another worker (lease expired); leaving it", claim.message_id)
        except Exception as exc:  # the one broad catch: record the failure, keep the message, move on
            self.failures += 1
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("Message %s failed (attempt %d): %s", claim.message_id, claim.attempts, type(exc).__name__)
            try:
                state = await self.ledger.fail(
                    claim.message_id,
                    self.worker,
                    error=error,
                    max_attempts=self.config.daemon.max_attempts,
                    backoff=retry_delay,
                )
            except LostClaimError:
                return  # another worker owns it now and will record its own outcome
            if state == "needs_human":
                await self.servers.gmail.call(
                    "modify_labels", {"message_ids": [claim.message_id], "add": [self.config.labels.needs_human]}
                )
        finally:
            if self.after_message is not None:
                await self.after_message(claim.message_id)

    async def work(self) -> int:
        """Process every claimable message, `concurrency` at a time; return how many were handled."""
        handled = 0
        limit = self.config.daemon.concurrency
        while True:
            claims = await self.ledger.claim_drafted(self.worker, limit=limit)
            claims += await self.ledger.claim(self.worker, limit=limit - len(claims) or 1)
            if not claims:
                return handled
            async with anyio.create_task_group() as tg:
                for claim in claims:
                    tg.start_soon(self._process, claim)
            handled += len(claims)

    async def run_once(self) -> list[Outcome]:
        await self.poll()
        await self.work()
        return self.outcomes
