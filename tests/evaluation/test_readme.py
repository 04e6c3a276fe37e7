"""The README's evaluation numbers are what the evaluation finds today (`make eval` writes them between markers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation import gatekeeper, readme
from evaluation.router import evaluate


def test_the_readme_quotes_the_current_evaluation() -> None:
    written = readme.current()
    assert written is not None, f"README.md lost its {readme.BEGIN} ... {readme.END} block"
    rspamd = gatekeeper.rspamd_counts()
    expected = readme.block(evaluate(rounds=1), gatekeeper.score(), rspamd)
    if rspamd is None:  # ../shared is absent here: the rest of the block must still match
        written, expected = (text.split(readme.RSPAMD_HEADING)[0] for text in (written, expected))
    assert written == expected, "README.md is out of date: run `make eval` and commit README.md and REPORT.md"


def test_the_block_holds_no_timings() -> None:
    scores = evaluate(rounds=1)
    scores.timings_ms = [9999.0] * scores.total
    text = readme.block(scores, gatekeeper.score(), None)
    assert "9999" not in text and " ms" not in text
    assert text.startswith(readme.BEGIN) and text.endswith(readme.END)
    assert f"Today: {scores.total} customer messages" in text


def test_write_replaces_only_the_block(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(f"# Title\n\nbefore\n\n{readme.BEGIN}\nold numbers\n{readme.END}\n\nafter\n", encoding="utf-8")
    new = f"{readme.BEGIN}\nnew numbers\n{readme.END}"
    assert readme.write(new, path) is True
    assert path.read_text(encoding="utf-8") == f"# Title\n\nbefore\n\n{new}\n\nafter\n"
    assert readme.write(new, path) is False, "unchanged numbers leave the file alone"
    path.write_text("# Title\n\nno markers\n", encoding="utf-8")
    with pytest.raises(readme.ReadmeError, match="eval:begin"):
        readme.write(new, path)
    assert readme.current(tmp_path / "absent.md") is None
