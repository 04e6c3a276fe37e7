"""The built distribution: an sdist and a wheel from `python -m build`, installed without a clone by pip, pipx and
`uv tool install` into fresh environments, whose entry points run and serve an MCP host from `mcp-config`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = [pytest.mark.integration, pytest.mark.distribution]
ROOT = Path(__file__).resolve().parents[1]
PRODUCT = {"support_core", "shopify_mcp", "gmail_mcp", "orchestrator"}
COMMANDS = ("support-agent", "shopify-mcp", "gmail-mcp")
EXPECTED_TOOLS = {"shopify": "lookup_order", "support-mail": "create_reply_draft"}


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    return done.stdout


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The user's shell outside this checkout: its settings (certificates, package index), a PATH without the
    checkout's virtual environment, and a HOME of its own."""
    venv = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**env, "PATH": path, "HOME": str(home), **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist first, then the wheel built from the sdist (so a file missing from the sdist breaks the wheel)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


def wheel(dist: Path) -> Path:
    return next(dist.glob("*.whl"))


def test_the_wheel_holds_the_product_and_its_data_but_no_test_code(dist: Path) -> None:
    names = zipfile.ZipFile(wheel(dist)).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == PRODUCT
    assert not [name for name in names if "/tests/" in name or name.startswith(("support_testing", "bench"))]
    for data in (
        "orchestrator/default_config.toml",
        "orchestrator/templates/en.toml",
        "shopify_mcp/sandbox/store.json",
        "gmail_mcp/sandbox/README.md",
    ):
        assert data in names, data
    assert any(name.startswith("gmail_mcp/sandbox/") and name.endswith(".eml") for name in names)


def test_the_metadata_is_complete_and_names_the_project_unmistakably(dist: Path) -> None:
    archive = zipfile.ZipFile(wheel(dist))
    metadata_name = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
    metadata = HeaderParser().parsestr(archive.read(metadata_name).decode())
    assert metadata["Name"] == "shopify-support-agent"
    assert metadata["Summary"] and metadata["License-Expression"] == "MIT"
    urls = {value.split(",")[0].strip().lower() for value in metadata.get_all("Project-URL") or []}
    assert {"homepage", "documentation", "issues", "changelog", "source"} <= urls
    entry_points = archive.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    assert all(f"{command} = " in entry_points for command in COMMANDS)


def test_the_sdist_builds_what_the_wheel_was_built_from(dist: Path) -> None:
    sdist = next(dist.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[-1] for name in archive.getnames()}
    assert {"pyproject.toml", "README.md", "LICENSE"} <= names
    assert "orchestrator/templates/de.toml" in names


@pytest.fixture(scope="module")
def installs(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The wheel installed three ways; each value is the folder holding the three commands."""
    base = tmp_path_factory.mktemp("installs")
    env = clean_env(base)
    venv = base / "venv"
    run(sys.executable, "-m", "venv", venv, env=env)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel(dist), env=env)
    tools = Path(sys.executable).parent
    pipx_env = {**env, "PIPX_HOME": str(base / "pipx"), "PIPX_BIN_DIR": str(base / "pipx-bin")}
    pipx_env["PIPX_MAN_DIR"] = str(base / "pipx-man")
    run(tools / "pipx", "install", "--quiet", wheel(dist), env=pipx_env)
    uv_env = {**env, "UV_TOOL_DIR": str(base / "uv-tools"), "UV_TOOL_BIN_DIR": str(base / "uv-bin")}
    run(tools / "uv", "tool", "install", "--quiet", wheel(dist), env=uv_env)
    yield {"pip": venv / "bin", "pipx": base / "pipx-bin", "uv tool": base / "uv-bin"}


@pytest.mark.parametrize("installer", ["pip", "pipx", "uv tool"])
def test_every_entry_point_runs_from_the_installed_wheel(installs: dict[str, Path], installer: str) -> None:
    for command in COMMANDS:
        assert run(installs[installer] / command, "--version").strip() == f"{command} 0.1.0"


@pytest.mark.anyio
async def test_a_fresh_install_serves_an_mcp_host_from_what_mcp_config_prints(
    installs: dict[str, Path], tmp_path: Path
) -> None:
    env = clean_env(tmp_path, SHOPIFY_TICKET_DB="tickets.sqlite3", GMAIL_MAILDIR="mail")
    config = json.loads(run(installs["pipx"] / "support-agent", "mcp-config", env=env, cwd=tmp_path))
    for name, entry in config["mcpServers"].items():
        assert Path(entry["command"]).is_relative_to(installs["pipx"].parent), entry["command"]
        params = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry["env"])
        async with Client(params) as client:
            assert EXPECTED_TOOLS[name] in {tool.name for tool in (await client.list_tools()).tools}


def test_the_demo_runs_from_the_installed_wheel(installs: dict[str, Path], tmp_path: Path) -> None:
    """The sandbox inbox, store and templates all travel in the wheel: the demo drafts without the checkout."""
    output = run(installs["pip"] / "support-agent", "demo", "--dir", tmp_path / "demo", env=clean_env(tmp_path))
    assert "reply drafts" in output or "drafts" in output
    assert list((tmp_path / "demo").rglob("*")), "the demo wrote its mailbox, drafts and ledger"
