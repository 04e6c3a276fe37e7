"""Fixtures shared by the orchestrator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support_testing.openai_emulator import OpenAIEmulator, SwappableEmulator, serve_swappable


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
