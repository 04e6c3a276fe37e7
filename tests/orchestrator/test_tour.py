"""`support-agent tour`: the tour of the sandbox store over real stdio completes and shows what it promises."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from orchestrator.demo import run_demo

pytestmark = pytest.mark.integration


@pytest.mark.anyio
async def test_demo_tour_succeeds_and_refuses_the_wrong_email() -> None:
    out = io.StringIO()
    assert await run_demo(out) == 0, out.getvalue()
    text = out.getvalue()
    assert "11 tools" in text
    assert "#1021: partially_shipped" in text
    assert "-> refused: No order #1021 was found" in text
    assert "VIP=True" in text
    assert "summer25: usable=False - The code expired" in text
    assert "ticket T-" in text
    assert "Every step ran against the sandbox store" in text


def test_cli_entry_point_runs_the_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from orchestrator import main; main(['tour'])"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Shopify MCP server (sandbox store) over stdio" in result.stdout
