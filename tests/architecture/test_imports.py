"""The package rules, read from the source: support_core depends on none of the others; the two tool servers never
import each other (nor the orchestrator); the orchestrator talks to the servers only over MCP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("support_core", "shopify_mcp", "gmail_mcp", "orchestrator")
FORBIDDEN = {
    "support_core": {"shopify_mcp", "gmail_mcp", "orchestrator"},
    "shopify_mcp": {"gmail_mcp", "orchestrator"},
    "gmail_mcp": {"shopify_mcp", "orchestrator"},
    "orchestrator": {"shopify_mcp", "gmail_mcp"},  # it runs the servers and talks MCP; contracts are in support_core
}


def imports(package: str) -> dict[str, set[str]]:
    """Every project package each module of `package` imports (module path -> top-level names), lazily or not."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names & set(PROJECT)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_rules(package: str) -> None:
    broken = {module: sorted(names & FORBIDDEN[package]) for module, names in imports(package).items()}
    assert not {module: names for module, names in broken.items() if names}


def test_the_rules_are_checked_on_real_files() -> None:
    """The scan sees the imports it should (a scan that found nothing would pass every rule)."""
    assert "support_core" in imports("gmail_mcp")["gmail_mcp/mail_headers.py"]
    assert "shopify_mcp" in imports("shopify_mcp")["shopify_mcp/server.py"]
    assert "support_core" in imports("orchestrator")["orchestrator/pipeline.py"]
