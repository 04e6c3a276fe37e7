"""`run_forever` on an IMAP mailbox (real Dovecot, real gmail-mcp and shopify-mcp over stdio): the daemon learns
that the mailbox can watch for mail and goes back to IDLE after a busy poll, instead of sleeping its poll interval.

The order that broke it: the first listing is empty, mail arrives before the next poll, so that poll finds mail
(no watch) while the daemon does not yet know the mailbox can watch; it then slept the whole poll interval."""

from __future__ import annotations

import os
from collections.abc import Callable
from email.utils import make_msgid
from pathlib import Path

import anyio
import pytest

from orchestrator.config import load_config
from orchestrator.daemon import Daemon, Hooks
from orchestrator.inbox_demo import MAILBOX
from orchestrator.ledger import Ledger
from orchestrator.runner import run_forever
from orchestrator.servers import ServerSpec, ToolServers
from support_testing.dovecot import DovecotServer
from tests.orchestrator.test_cli import customer_mail
from tests.orchestrator.test_imap_backend import base_env, imap_env, replied

pytestmark = pytest.mark.integration

POLL_INTERVAL = 600.0
"""Far longer than the test may take: a daemon that sleeps it instead of watching fails the test."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_after_a_poll_that_found_mail_the_daemon_watches_instead_of_sleeping(
    dovecot: DovecotServer, tmp_path: Path
) -> None:
    user = dovecot.new_user("watch")
    env = {**base_env(tmp_path), **imap_env(dovecot, user)}
    env["PATH"] = os.environ.get("PATH", "")
    first, second = make_msgid(domain="example.net"), make_msgid(domain="example.net")
    polls: list[int] = []
    stop = anyio.Event()

    async def on_poll(new: int, error: Exception | None) -> None:
        assert error is None, error
        polls.append(new)
        if len(polls) == 1:  # the first listing was empty: mail arrives before the next poll, which then finds it
            await anyio.to_thread.run_sync(lambda: dovecot.deliver(user, customer_mail(first)))

    shopify_env = {key: env[key] for key in ("HOME", "PATH", "SHOPIFY_TICKET_DB")}
    specs = (
        ServerSpec("shopify", module="shopify_mcp", env=shopify_env),
        ServerSpec("gmail", module="gmail_mcp", env=env),
    )
    async with ToolServers(*specs) as servers, Ledger(tmp_path / "ledger.sqlite3") as ledger:
        daemon = Daemon(servers, ledger, load_config(), own_address=MAILBOX, hooks=Hooks(on_poll=on_poll))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_forever(daemon, poll_interval=POLL_INTERVAL, grace_period=5, stop=stop))
            with anyio.fail_after(120):
                await until(lambda: replied(dovecot, user, first))
                # The next, quiet poll watches: IDLE on a 2nd connection. Both signs are needed: doveadm may still count
                # a connection `replied` just closed, and the daemon marks the poll as watching before the server's
                # first listing, which would find mail delivered that early (then nothing is waited for).
                await until(lambda: daemon.watching and dovecot.connections(user) >= 2)
                await anyio.sleep(0.5)
                await anyio.to_thread.run_sync(lambda: dovecot.deliver(user, customer_mail(second)))
                await until(lambda: replied(dovecot, user, second))
            stop.set()
    assert polls[:2] == [0, 1], f"the first listing was empty and the second found the mail: {polls}"
    assert daemon.watches is True, "the quiet poll watched the inbox"


async def until(check: Callable[[], bool]) -> None:
    """Wait for `check` (run in a worker thread: it talks to Dovecot) to hold."""
    while not await anyio.to_thread.run_sync(check):  # noqa: ASYNC110 - the state is in Dovecot, polled over IMAP
        await anyio.sleep(0.2)
