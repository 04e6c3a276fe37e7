"""`support-agent stats --html FILE`: one self-contained HTML5 page (inline CSS and SVG, no scripts, works offline).

Every chart is followed by a table of the same numbers (for screen readers and copying), and every string that
comes from the ledger (categories, reasons, tools, engines) goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from orchestrator.stats import Stats, ms, percent, period_text

__all__ = ["render_html"]

_LABEL_WIDTH = 250
_BAR_WIDTH = 380
_VALUE_WIDTH = 110
_ROW = 24
_BAR = 16

_CSS = """
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --bg: #fff; --line: #d9dde5;
  --a: #3867d6; --b: #f0932b; --c: #20bf6b; --d: #eb3b5a; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #a3abbb; --bg: #161a22; --line: #343a48; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 960px; padding: 1.5rem; font: 15px/1.45 system-ui, sans-serif;
  color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; font-variant-numeric: tabular-nums; }
svg { display: block; width: 100%; height: auto; margin: .5rem 0; }
svg text { fill: var(--fg); font: 13px system-ui, sans-serif; }
svg .axis { stroke: var(--line); }
svg .a { fill: var(--a); } svg .b { fill: var(--b); } svg .c { fill: var(--c); } svg .d { fill: var(--d); }
.legend span { display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 1em; vertical-align: -.05em; }
.legend .a { background: var(--a); } .legend .b { background: var(--b); }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .75rem; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Bar:
    """One bar: its label, its length (in the chart's unit), the text shown beside it and its colour class."""

    label: str
    value: float
    text: str
    css: str = "a"


def _chart(title: str, groups: Sequence[tuple[str, Sequence[_Bar]]], *, scale_max: float | None = None) -> str:
    """A horizontal bar chart: one group per label, one or more bars in each, with text values and tooltips."""
    per_group = max((len(bars) for _, bars in groups), default=1)
    group_height = per_group * _BAR + (_ROW - _BAR)
    height = max(1, len(groups)) * group_height + 8
    width = _LABEL_WIDTH + _BAR_WIDTH + _VALUE_WIDTH
    top = max([bar.value for _, bars in groups for bar in bars] + [scale_max or 0.0])
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<line class="axis" x1="{_LABEL_WIDTH}" y1="0" x2="{_LABEL_WIDTH}" y2="{height}" stroke-width="1"></line>',
    ]
    for index, (label, bars) in enumerate(groups):
        y0 = 4 + index * group_height
        middle = y0 + len(bars) * _BAR / 2
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{_num(middle)}" text-anchor="end" dominant-baseline="middle">'
            f"{_e(label)}</text>"
        )
        for position, bar in enumerate(bars):
            y = y0 + position * _BAR
            length = (bar.value / top * _BAR_WIDTH) if top > 0 else 0.0
            tooltip = f"{label}: {bar.text}"
            parts.append(
                f'<rect class="{_e(bar.css)}" x="{_LABEL_WIDTH}" y="{y + 1}" width="{_num(max(length, 0.0))}" '
                f'height="{_BAR - 2}"><title>{_e(tooltip)}</title></rect>'
            )
            parts.append(
                f'<text x="{_num(_LABEL_WIDTH + length + 6)}" y="{_num(y + _BAR / 2)}" dominant-baseline="middle">'
                f"{_e(bar.text)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{_e(cell)}</th>' for cell in header)
    body = "\n".join(
        "<tr>"
        + "".join((f'<th scope="row">{_e(c)}</th>' if i == 0 else f"<td>{_e(c)}</td>") for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return (
        f"<table>\n<caption>{_e(caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _section(title: str, *blocks: str) -> str:
    return f"<section>\n<h2>{_e(title)}</h2>\n" + "\n".join(blocks) + "\n</section>"


def _summary(stats: Stats) -> str:
    tokens = "no LLM calls"
    if stats.avg_tokens_prompt is not None and stats.avg_tokens_completion is not None:
        tokens = (
            f"{stats.avg_tokens_prompt:,.0f} prompt + {stats.avg_tokens_completion:,.0f} completion "
            f"(over {stats.llm_messages} messages with LLM calls)"
        )
    items = [
        ("Messages", str(stats.total)),
        ("Customer messages (PROCESS)", str(stats.processed)),
        ("Reply drafts", str(stats.drafted)),
        ("Escalation rate", f"{percent(stats.escalated, stats.processed)} ({stats.escalated} of {stats.processed})"),
        ("Internal alerts with a ticket", str(stats.alerts_escalated)),
        ("Tool error rate (all tools)", percent(stats.tool_errors, stats.tool_calls)),
        ("Offline-engine share of drafts", percent(stats.engines.get("offline", 0), stats.drafted)),
        ("Tokens per message", tokens),
        ("Needs a person", str(stats.needs_human)),
    ]
    return '<dl class="summary">\n' + "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "\n</dl>"


def _body(stats: Stats) -> list[str]:
    routed = sum(c.count for c in stats.categories)
    sections = [_section("Summary", _summary(stats))]
    sections.append(
        _section(
            "Category distribution",
            _chart(
                "Messages per category",
                [
                    (c.category, [_Bar(c.category, c.count, f"{c.count} ({percent(c.count, routed)})")])
                    for c in stats.categories
                ],
            ),
            _table(
                "Messages per category",
                ("category", "messages", "share"),
                [(c.category, str(c.count), percent(c.count, routed)) for c in stats.categories],
            ),
        )
    )
    timed = [c for c in stats.categories if c.avg_ms is not None]
    sections.append(
        _section(
            "Time to draft per category",
            '<p class="legend">Sum of the stage timings of each drafted message, in milliseconds:'
            '<span class="a"></span>average<span class="b"></span>p95</p>',
            _chart(
                "Time to draft per category, average and p95 (ms)",
                [
                    (
                        c.category,
                        [
                            _Bar(c.category, c.avg_ms or 0.0, f"avg {ms(c.avg_ms)} ms", "a"),
                            _Bar(c.category, c.p95_ms or 0.0, f"p95 {ms(c.p95_ms)} ms", "b"),
                        ],
                    )
                    for c in timed
                ],
            )
            if timed
            else "<p>No drafts in this period.</p>",
            _table(
                "Time to draft per category (ms)",
                ("category", "drafted", "average ms", "p95 ms"),
                [(c.category, str(c.drafted), ms(c.avg_ms), ms(c.p95_ms)) for c in stats.categories],
            ),
        )
    )
    reasons = _table("Top gatekeeper reasons", ("reason", "messages"), [(r, str(n)) for r, n in stats.top_reasons])
    sections.append(
        _section(
            "Gatekeeper verdicts",
            _chart(
                "Messages per gatekeeper verdict",
                [(v, [_Bar(v, n, f"{n} ({percent(n, stats.total)})", "c")]) for v, n in stats.verdicts.items()],
            ),
            _table(
                "Messages per gatekeeper verdict",
                ("verdict", "messages", "share"),
                [(v, str(n), percent(n, stats.total)) for v, n in stats.verdicts.items()],
            ),
            reasons if stats.top_reasons else "<p>No gatekeeper reasons recorded.</p>",
        )
    )
    tool_rows = [(t.tool, str(t.calls), str(t.errors), percent(t.errors, t.calls)) for t in stats.tools]
    sections.append(
        _section(
            "Tool error rate",
            _chart(
                "Failed calls per tool (% of its calls)",
                [
                    (t.tool, [_Bar(t.tool, 100 * t.error_rate, f"{percent(t.errors, t.calls)} of {t.calls}", "d")])
                    for t in stats.tools
                ],
                scale_max=100.0,
            )
            if stats.tools
            else "<p>No tool calls in this period.</p>",
            _table("Tool calls and errors", ("tool", "calls", "errors", "error rate"), tool_rows),
        )
    )
    engines = list(stats.engines.items())
    engine_rows = [(engine, str(n), percent(n, stats.drafted)) for engine, n in engines]
    sections.append(
        _section(
            "Engine share of drafts",
            _chart(
                "Drafts per engine (% of drafts)",
                [
                    (engine, [_Bar(engine, 100 * n / stats.drafted if stats.drafted else 0.0, f"{n} ({share})")])
                    for (engine, n), (_, _, share) in zip(engines, engine_rows, strict=True)
                ],
                scale_max=100.0,
            ),
            _table("Drafts per engine", ("engine", "drafts", "share"), engine_rows),
        )
    )
    sections.append(
        _section(
            "States",
            _table(
                "Messages per ledger state",
                ("state", "messages", "share"),
                [(s, str(n), percent(n, stats.total)) for s, n in stats.states.items()],
            ),
        )
    )
    return sections


def render_html(stats: Stats, *, title: str, generated_at: datetime) -> str:
    """One HTML5 page with charts and tables of `stats`: inline CSS and SVG only, no scripts, no external resources."""
    generated = generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"{stats.total} messages, {period_text(stats)}; generated {generated}."
    empty = f"<p>No messages in this period ({_e(period_text(stats))}).</p>"
    body = "\n".join(_body(stats)) if stats.total else empty
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>{_e(title)}</h1>\n<p class="meta">{_e(meta)}</p>\n{body}\n</main>\n</body>\n</html>\n'
    )
