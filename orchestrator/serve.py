"""`support-agent serve`: the HTTP API under uvicorn, optionally with the inbox worker in the same process."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import anyio
import anyio.abc
from pydantic import Field, SecretStr, ValidationError, create_model

from orchestrator.config import AgentConfig, Secrets
from orchestrator.errors import ConfigError, LedgerError, StartupError
from orchestrator.stats_command import AddParser
from support_core.arguments import port_number
from support_core.errors import ConfigError as LimitsError
from support_core.http_limits import HttpLimits, add_http_flags, http_limits, uvicorn_config
from support_core.loopback import is_loopback

if TYPE_CHECKING:
    from orchestrator.api import HealthState
    from orchestrator.daemon import Hooks
    from orchestrator.ledger import Claim, Ledger
    from orchestrator.metrics import Metrics
    from orchestrator.pipeline import Outcome

# The API, the daemon and the MCP transport are imported where they are used, not here: every command builds this
# module's parser, and importing them would cost each one (`once`, `stats`, a mistyped flag) a large part of a second.

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
SECRET_ENV = "SUPPORT_AGENT_SECRET"
FORWARDED_ENV = "SUPPORT_AGENT_FORWARDED_ALLOW_IPS"
CHAT_ONLY_ADDRESS = "serve-without-worker@invalid"
"""`open_runtime` wants the mailbox's address; without the worker nothing reads mail, so any address does."""


def check_secret(secret: str | None, *, insecure: bool, host: str) -> None:
    """`StartupError` unless there is a secret, or the insecure flag was given and the host is loopback only."""
    if secret:
        if len(secret) < 16:
            raise StartupError(f"{SECRET_ENV} is too short: use at least 16 random characters.")
        return
    if not insecure:
        raise StartupError(
            f"No API secret: set {SECRET_ENV} (callers send it as X-Secret), "
            "or pass --insecure-no-secret to serve on loopback only."
        )
    if not is_loopback(host):
        raise StartupError(f"--insecure-no-secret serves only on loopback (127.0.0.1, ::1), not on {host}.")


def health_hooks(ledger: Ledger, health: HealthState, metrics: Metrics) -> Hooks:
    """The daemon hooks that keep the health probe and the metrics current: each poll's success or failure, and
    each message's ledger entry once its attempt ended."""
    from orchestrator.daemon import Hooks

    async def on_poll(new: int, error: Exception | None) -> None:
        health.note_poll(None if error is None else f"{type(error).__name__}: {error}"[:300])

    async def on_message_end(claim: Claim, outcome: Outcome | None) -> None:
        entry = await ledger.get(claim.mailbox, claim.message_id)
        if entry is not None:
            metrics.count(entry)
            health.note_entry(entry)

    return Hooks(on_message_end=on_message_end, on_poll=on_poll)


async def serve(
    secrets: Secrets,
    config: AgentConfig,
    *,
    host: str,
    port: int,
    secret: str | None,
    insecure: bool,
    with_worker: bool,
    interval: float | None = None,
    limits: HttpLimits | None = None,
    stop: anyio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
    err: TextIO = sys.stderr,
) -> int:
    """Serve the API until SIGINT/SIGTERM (or `stop`); with `with_worker`, run the inbox daemon alongside.

    Returns the exit code: 0 after a clean stop, 2 (one line on `err`) when refusing to start, 130 when a second
    signal cut the worker's drain short. `on_ready` gets the base URL once the port is bound (tests use port 0).
    `limits`: proxies believed, timeouts and the concurrency limit (default `HttpLimits()`: no proxy believed).
    """
    from support_core.embedded import EmbeddedServer
    from support_core.loopback import bind_socket

    try:
        check_secret(secret, insecure=insecure, host=host)
        address = CHAT_ONLY_ADDRESS
        if with_worker:
            from orchestrator.runner import mailbox_address

            address = mailbox_address(secrets)
        sock = bind_socket(host, port)  # the port first: a busy one is said before any tool server starts
    except (StartupError, ConfigError, LimitsError) as exc:
        err.write(f"support-agent serve: {exc}\n")
        return EXIT_CONFIG
    from orchestrator.api import HealthState, create_app
    from orchestrator.daemon import Hooks
    from orchestrator.metrics import Metrics
    from orchestrator.runner import open_runtime, run_forever, watch_signals

    poll_interval = config.daemon.poll_interval if interval is None else interval
    stop = stop or anyio.Event()
    force = anyio.Event()
    limits = limits or HttpLimits()
    health = HealthState(worker_expected=with_worker, poll_interval=poll_interval)
    metrics = Metrics()
    failures: list[str] = []
    async with anyio.create_task_group() as tg:
        await tg.start(watch_signals, stop, force)
        async with open_runtime(secrets, config, own_address=address) as runtime:
            first = runtime.daemon
            app = create_app(
                servers=first.servers,
                config=first.config,
                secret=secret,
                insecure=insecure,
                ledger=runtime.ledger,
                metrics=metrics,
                llm=runtime.llm,
                health_state=health,
                mailbox=first.mailbox,
            )
            server = EmbeddedServer(
                uvicorn_config(app, host=host, port=port, limits=limits, log_level="warning", lifespan="off")
            )
            runtime.set_hooks(health_hooks(runtime.ledger, health, metrics))

            async def worker() -> None:
                health.worker_alive = True
                try:
                    await run_forever(
                        runtime,
                        poll_interval=poll_interval,
                        grace_period=config.daemon.grace_period,
                        stop=stop,
                        force=force,
                    )
                finally:
                    health.worker_alive = False

            async def http() -> None:
                try:
                    await server.serve(sockets=[sock])
                except SystemExit:  # uvicorn's way of saying it could not listen (it logged why)
                    failures.append(f"could not listen on {host}:{port} (in use, or not an address of this host)")
                finally:
                    stop.set()  # uvicorn ended: stop the worker too

            async def shutdown() -> None:
                await stop.wait()
                server.should_exit = True

            async def ready() -> None:
                while not server.started:
                    if server.should_exit:
                        return
                    await anyio.sleep(0.02)
                sock = server.servers[0].sockets[0]
                bound_host, bound_port = sock.getsockname()[:2]
                url = f"http://{'[' + bound_host + ']' if ':' in bound_host else bound_host}:{bound_port}"
                proxies = limits.forwarded_allow_ips
                err.write(
                    f"support-agent serve: listening on {url}"
                    f"{' with the inbox worker' if with_worker else ''}"
                    f"{f', believing X-Forwarded-For from {proxies}' if proxies else ''}; Ctrl-C or SIGTERM to stop.\n"
                )
                err.flush()
                if on_ready is not None:
                    on_ready(url)

            async with anyio.create_task_group() as inner:
                inner.start_soon(shutdown)
                inner.start_soon(ready)
                if with_worker:
                    inner.start_soon(worker)
                await http()
                await stop.wait()
                # the worker drains (grace period) and returns; the other two end with the server
            runtime.set_hooks(Hooks())
        tg.cancel_scope.cancel()
    if failures:
        err.write(f"support-agent serve: {failures[0]}\n")
        return EXIT_CONFIG
    err.write("support-agent serve: stopped.\n" if not force.is_set() else "support-agent serve: stopped now.\n")
    return EXIT_INTERRUPTED if force.is_set() else 0


# --- the command ------------------------------------------------------------------------------------------------


def add_serve_parser(add_parser: AddParser, common_parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `serve` with `add_parser` (`common_parent`: the `--config`/`--log-level` parent of the others)."""
    serve_parser = add_parser(
        "serve", parents=[common_parent], help="serve the chat API (and health, metrics) over HTTP"
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=port_number, default=8080, help="port to listen on (default 8080)")
    serve_parser.add_argument(
        "--with-worker", action="store_true", help="also run the inbox daemon in this process (as `run` does)"
    )
    serve_parser.add_argument("--interval", type=float, help="worker: seconds between polls (overrides the config)")
    serve_parser.add_argument(
        "--secret-env",
        default=SECRET_ENV,
        metavar="NAME",
        help=f"environment variable holding the X-Secret callers must send (default {SECRET_ENV})",
    )
    serve_parser.add_argument(
        "--insecure-no-secret",
        action="store_true",
        help="serve without a secret; allowed only on a loopback host, for local testing",
    )
    add_http_flags(serve_parser, forwarded_env=FORWARDED_ENV)
    return serve_parser


def read_settings(secret_env: str = SECRET_ENV) -> Secrets:
    """The settings from the environment or `.env`, the secret from `secret_env` (SUPPORT_AGENT_SECRET unless
    --secret-env names another variable)."""
    if secret_env == SECRET_ENV:
        return Secrets()
    renamed = create_model(
        "RenamedSecrets",
        __base__=Secrets,
        secret=(SecretStr | None, Field(default=None, validation_alias=secret_env)),
    )
    return renamed()


def run_serve(args: argparse.Namespace, secrets: Secrets, config: AgentConfig, err: TextIO = sys.stderr) -> int:
    """Run `serve` from parsed flags (see `add_serve_parser`): the exit code, as `run_command` returns it."""
    try:
        settings = read_settings(args.secret_env)
        limits = http_limits(args, settings.forwarded_allow_ips)
        secret = settings.secret_value()
        return anyio.run(
            lambda: serve(
                secrets,
                config,
                host=args.host,
                port=args.port,
                secret=secret,
                insecure=args.insecure_no_secret,
                with_worker=args.with_worker,
                interval=args.interval,
                limits=limits,
                err=err,
            )
        )
    except ValidationError as exc:
        err.write(f"support-agent serve: invalid setting: {exc.errors()[0]['msg']}\n")
        return EXIT_CONFIG
    except (ConfigError, LedgerError, LimitsError) as exc:
        err.write(f"support-agent serve: {exc}\n")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
