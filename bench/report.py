"""Markdown helpers shared by the benchmarks: tables, percentiles and the machine description."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Section:
    """One benchmark's output: a title, tables (header + rows) and free-text notes."""

    title: str
    intro: str = ""
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.tables.append((list(header), [[cell(v) for v in row] for row in rows]))

    def markdown(self) -> str:
        parts = [f"## {self.title}", ""]
        if self.intro:
            parts += [self.intro, ""]
        for header, rows in self.tables:
            parts += [table(header, rows), ""]
        if self.notes:
            parts += ["Notes:", ""] + [f"- {note}" for note in self.notes] + [""]
        return "\n".join(parts)


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


def machine() -> str:
    """`uname -a`, core count, Python version and CPU model: the context every number needs."""
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        uname = " ".join(platform.uname())
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"`{uname}`; {os.cpu_count()} cores ({model or 'unknown CPU'}); Python {sys.version.split()[0]}"
