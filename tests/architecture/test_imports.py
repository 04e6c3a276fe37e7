"""The package rules, read from the source: support_core depends on none of the others; the two tool servers never
import each other (nor the orchestrator); the orchestrator talks to the servers only over MCP; nothing in the
product imports test or benchmark code; no import cycle; no module over 400 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("support_core", "shopify_mcp", "gmail_mcp", "orchestrator")
NOT_SHIPPED = {"support_testing", "bench", "evaluation", "tests"}  # not in the wheel: the product must not need them
KNOWN = set(PRODUCT) | NOT_SHIPPED
FORBIDDEN = {
    "support_core": {"shopify_mcp", "gmail_mcp", "orchestrator"} | NOT_SHIPPED,
    "shopify_mcp": {"gmail_mcp", "orchestrator"} | NOT_SHIPPED,
    "gmail_mcp": {"shopify_mcp", "orchestrator"} | NOT_SHIPPED,
    "orchestrator": {"shopify_mcp", "gmail_mcp"} | NOT_SHIPPED,  # it runs the servers and talks MCP
}
MAX_LINES = 400


def _modules(tree: ast.AST, path: Path) -> set[str]:
    """Dotted names `tree` imports, lazily or not: `import`, `from ... import` (relative ones resolved against
    `path`) and `importlib.import_module("...")` / `__import__("...")` with a literal name."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports(package: str) -> dict[str, set[str]]:
    """Every project package each module of `package` imports (module path -> top-level names)."""
    found: dict[str, set[str]] = {}
    for path in _files(package):
        names = _modules(ast.parse(path.read_text("utf-8"), filename=str(path)), path)
        found[str(path.relative_to(ROOT))] = {name.split(".")[0] for name in names} & KNOWN
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_rules(package: str) -> None:
    broken = {module: sorted(names & FORBIDDEN[package]) for module, names in imports(package).items()}
    assert not {module: names for module, names in broken.items() if names}


def test_the_rules_are_checked_on_real_files() -> None:
    """The scan sees the imports it should (a scan that found nothing would pass every rule), including the kinds
    of import a rule could be dodged with."""
    assert "support_core" in imports("gmail_mcp")["gmail_mcp/mail_headers.py"]
    assert "shopify_mcp" in imports("shopify_mcp")["shopify_mcp/server.py"]
    assert "support_core" in imports("orchestrator")["orchestrator/pipeline.py"]
    sneaky = ast.parse(
        "import importlib\ndef f():\n    importlib.import_module('gmail_mcp.config')\n    __import__('bench')\n"
        "    from . import peers\n"
    )
    assert {"gmail_mcp.config", "bench", "orchestrator.peers"} <= _modules(sneaky, ROOT / "orchestrator" / "x.py")


def _graph() -> dict[str, set[str]]:
    """Module -> the product modules it imports (a `from pkg import name` counts `pkg.name` when it is a module)."""
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for package in PRODUCT
        for path in _files(package)
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        wanted = _modules(ast.parse(path.read_text("utf-8")), path)
        # `from pkg import module` imports pkg.module; pkg itself counts only when a non-module name is taken from it
        named = {target.rpartition(".")[0] for target in wanted if target in modules}
        taken = {target.rpartition(".")[0] for target in wanted if target not in modules}
        graph[name] = {
            target
            for target in wanted
            if target in modules and target != name and (target not in named or target in taken)
        }
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules_even_through_lazy_imports() -> None:
    graph = _graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("package", [*PRODUCT, "support_testing", "bench", "evaluation"])
def test_no_module_is_over_400_lines(package: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _files(package)
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (each one job, at most {MAX_LINES} lines): {long}"


def test_the_offline_engine_never_imports_the_openai_client() -> None:
    """The openai client costs about 0.3 s of start-up; a daemon, chat or HTTP API without an LLM configured (the
    demo, the sandbox, every offline deployment) must not pay it. A fresh interpreter, so nothing else loaded it."""
    code = (
        "import sys\n"
        "import orchestrator.cli, orchestrator.runner, orchestrator.pipeline, orchestrator.chat, orchestrator.api\n"
        "import orchestrator.serve, orchestrator.doctor, orchestrator.daemon\n"
        "loaded = sorted(name for name in sys.modules if name == 'openai' or name.startswith('openai.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()[:200]}"


@pytest.mark.parametrize(
    "code",
    [
        "from orchestrator import parse_args\ntry:\n    parse_args(['--help'])\nexcept SystemExit:\n    pass",
        "import support_testing.shopify_emulator.server, support_testing.gmail_emulator.server",
        "import support_testing.openai_emulator.server, support_core.embedded, support_core.loopback",
        "import shopify_mcp, gmail_mcp, shopify_mcp.config, gmail_mcp.config",
    ],
    ids=["support-agent --help", "store and mail emulators", "llm emulator and serving", "server packages"],
)
def test_what_needs_no_mcp_server_does_not_import_the_sdk(code: str) -> None:
    """The MCP SDK costs about 0.4 s of CPU to import. `support-agent --help` and the commands that reach no server,
    the emulators (a test run starts hundreds of processes) and a server package's settings must not pay it; only
    running a server or a client does. A fresh interpreter, so nothing else loaded it."""
    probe = f"{code}\nimport sys\nprint('SDK:', sorted(n for n in sys.modules if n == 'mcp' or n.startswith('mcp.')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines()[-1] == "SDK: []", result.stdout[-300:]
