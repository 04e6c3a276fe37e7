"""Shared pytest fixtures: the anyio backend, the path to ../shared and a guard against real network calls."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shared_dir() -> Path:
    """`../shared` beside the checkout; tests that need it skip with a reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (it holds the Shopify schema and mail corpora; present in CI)")
    return SHARED


@pytest.fixture(autouse=True)
def no_external_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to reach a non-loopback address: every peer in the tests runs on loopback."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if inet and isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")):
            raise ConnectionRefusedError(f"test tried to reach {host}: tests must stay on loopback")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


_REPORT_KEY = "summary-line"


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Lines a test wants in the run's summary (corpus counts, for example). They travel as the test's user
    properties, so they reach the summary from pytest-xdist's worker processes too."""

    def add(line: str) -> None:
        request.node.user_properties.append((_REPORT_KEY, line))

    return add


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        value
        for outcome in ("passed", "failed")
        for test in terminalreporter.stats.get(outcome, [])
        if getattr(test, "when", "call") == "call"
        for key, value in getattr(test, "user_properties", [])
        if key == _REPORT_KEY
    ]
    if lines:
        terminalreporter.section("corpus report")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session", autouse=True)
def shared_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache folder (SUPPORT_AGENT_CACHE_DIR) for the whole test process and the commands it starts, as a user's
    machine has one: the restricted language model is written once here instead of once per test's HOME. Child
    processes given a clean environment get it from `tests.processes.shared_cache`."""
    from orchestrator.language_model import CACHE_ENV

    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield folder


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throw-away PostgreSQL server per test process (`support_testing.postgres`): skipped, with the reason,
    only where PostgreSQL is not installed (`.ci/run` installs it, so CI always runs these tests)."""
    from support_testing import postgres

    if postgres.find_binaries() is None:
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not found); `.ci/run` installs it")
    with postgres.postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """A `postgresql://` URL of a new, empty database for this test alone."""
    return str(postgres_server.create_database())


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Any]:
    """One throw-away Dovecot IMAP server per test process (`support_testing.dovecot`); each test takes a fresh
    account (`new_user`). Skipped, with the reason, only where Dovecot is not installed (`.ci/run` installs it)."""
    from support_testing.dovecot import dovecot_binary, dovecot_server

    if dovecot_binary() is None:
        pytest.skip("Dovecot is not installed (no `dovecot` program); `.ci/run` installs dovecot-imapd")
    with dovecot_server() as server:
        yield server
