"""Both tool servers over real stdio on a fresh sandbox store and inbox, for tests that talk to them in-process."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from orchestrator.inbox_demo import prepare, specs
from orchestrator.servers import ToolServers


@dataclass
class SandboxServers:
    folder: Path
    servers: ToolServers
    marker: str
    """In the servers' environment (SUPPORT_AGENT_TEST_MARKER), to find their processes."""


@asynccontextmanager
async def sandbox_servers(folder: Path) -> AsyncIterator[SandboxServers]:
    """Both tool servers over stdio on a fresh sandbox store and inbox in `folder`."""
    prepare(folder)
    marker = uuid.uuid4().hex
    shopify, gmail = (dataclasses.replace(s, env={**s.env, "SUPPORT_AGENT_TEST_MARKER": marker}) for s in specs(folder))
    async with ToolServers(shopify, gmail) as servers:
        yield SandboxServers(folder, servers, marker)
