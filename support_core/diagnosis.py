"""The self-check contract: each tool server's `diagnose` tool answers a `Diagnosis`, `support-agent doctor` prints it.

A `Check` is one line of the report: what was checked, what was seen and, when it failed, what to do. Checks are
written for a person and never hold a secret (no token, key or password, no URL with credentials in it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Literal, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

MARKS = {True: "✓", False: "✗", None: "\u2013"}
"""The mark of a check that passed, failed or was skipped."""
WARNING_MARK = "!"
"""The mark of a failed check of `severity` "warning": worth reading, not a reason to fail."""


class Check(BaseModel):
    """One line of the report. `ok` is True (fine), False (wrong: `fix` says what to do) or None (skipped)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="What was checked, e.g. 'Shopify token'.")
    ok: bool | None = Field(description="True: fine; False: wrong (see fix); None: skipped or not applicable.")
    detail: str = Field(description="What was seen.")
    fix: str = Field(default="", description="For a failed check: what to do about it.")
    severity: Literal["error", "warning"] = Field(
        default="error", description="A failed 'warning' is reported but does not make the whole diagnosis fail."
    )

    @property
    def problem(self) -> bool:
        """A failure that makes the diagnosis fail (not a warning)."""
        return self.ok is False and self.severity == "error"

    @property
    def warning(self) -> bool:
        return self.ok is False and self.severity == "warning"


class Diagnosis(BaseModel):
    """Every check one component ran, in order."""

    checks: list[Check] = Field(default_factory=list)

    @property
    def problems(self) -> list[Check]:
        return problems(self.checks)


def passed(name: str, detail: str) -> Check:
    return Check(name=name, ok=True, detail=detail)


def failed(name: str, detail: str, fix: str, *, warning: bool = False) -> Check:
    return Check(name=name, ok=False, detail=detail, fix=fix, severity="warning" if warning else "error")


def skipped(name: str, detail: str) -> Check:
    return Check(name=name, ok=None, detail=detail)


def problems(checks: Sequence[Check]) -> list[Check]:
    """The checks that failed, warnings excepted."""
    return [check for check in checks if check.problem]


def render(checks: Sequence[Check]) -> str:
    """One line per check (tick, cross, `!` for a warning, or dash; name; what was seen; for a failure what to fix),
    then a summary line."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        mark = WARNING_MARK if check.warning else MARKS[check.ok]
        line = f"{mark} {check.name.ljust(width)}  {check.detail}"
        if check.ok is False and check.fix:
            line += f" → fix: {check.fix}"
        lines.append(line)
    bad = len(problems(checks))
    warnings = sum(1 for check in checks if check.warning)
    skipped_count = sum(1 for check in checks if check.ok is None)
    good = sum(1 for check in checks if check.ok)
    if bad:
        verdict = f"{bad} problem{'s' if bad != 1 else ''} to fix"
    elif warnings:
        verdict = f"all good, {warnings} warning{'s' if warnings != 1 else ''} to read"
    else:
        verdict = "all good"
    counts = f"{good} ok, {bad} failed, {warnings} warning{'s' if warnings != 1 else ''}, {skipped_count} skipped"
    lines.append(f"{verdict} ({counts})")
    return "\n".join(lines) + "\n"


def folder_check(name: str, folder: Path, fix: str) -> Check:
    """Whether files can be written in `folder` (see `folder_problem`), as a check."""
    problem = folder_problem(folder)
    if problem:
        return failed(name, f"{folder}: {problem}", fix)
    state = "writable" if folder.expanduser().is_dir() else "will be created, parent writable"
    return passed(name, f"{folder} ({state})")


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in `folder` (creating it first if needed), or None when they can.

    An existing folder is probed by creating and deleting a temporary file. A missing one must be creatable: its
    nearest existing ancestor must be a writable folder (nothing is created here).
    """
    folder = folder.expanduser()
    if folder.exists():
        if not folder.is_dir():
            return "exists but is not a folder"
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=".doctor-", suffix=".tmp")
        except OSError as exc:
            return f"not writable ({exc.strerror or type(exc).__name__})"
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    ancestor = folder.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is a file, not a folder"
    if folder_problem(ancestor) is not None:
        return f"cannot be created: {ancestor} is not writable"
    return None


async def bounded(seconds: float, call: Awaitable[T]) -> T:
    """Await `call`, raising TimeoutError after `seconds`."""
    with anyio.fail_after(seconds):
        return await call
