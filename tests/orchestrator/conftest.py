"""Fixtures shared by the orchestrator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support_testing.openai_emulator import OpenAIEmulator, SwappableEmulator, serve_swappable
from tests.orchestrator.sandbox_servers import SandboxServers, sandbox_servers


@pytest.fixture(scope="module")
async def loopback() -> AsyncIterator[SwappableEmulator]:
    """One OpenAI emulator server for a test module (needs the module's `anyio_backend` at module scope too); each
    test gets a fresh emulator behind it from `emulator`."""
    async with serve_swappable() as served:
        yield served


@pytest.fixture
def emulator(loopback: SwappableEmulator) -> OpenAIEmulator:
    """A fresh OpenAI emulator behind the module's `loopback` server."""
    return loopback.fresh()


@pytest.fixture(scope="module")
async def shared_servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SandboxServers]:
    """Both tool servers on a sandbox, started once for a test module (about a second of CPU each time), for the
    tests that leave them as they found them: no kill, no inbox run, tickets told apart by id. Needs the module's
    `anyio_backend` at module scope."""
    async with sandbox_servers(tmp_path_factory.mktemp("shared") / "sandbox") as running:
        yield running
