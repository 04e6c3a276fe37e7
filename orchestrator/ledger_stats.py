"""`Ledger.stats`: the numbers of `support-agent stats` as aggregate SQL, the same text on SQLite and PostgreSQL.

Every number is a COUNT, SUM or AVG over `messages` (and `tool_calls` for tools) in one read transaction; the
p95 time to draft per category is the nearest rank, picked with ROW_NUMBER() and COUNT() OVER (PARTITION BY
category) (SQLite >= 3.25 and PostgreSQL). Ties and names are ordered in Python, so the two databases' collations
cannot order them differently.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, or_, select

from orchestrator.ledger_schema import messages, tool_calls
from orchestrator.ledger_types import STATES
from orchestrator.models import CATEGORIES, Verdict
from orchestrator.stats import ENGINES, ESCALATION_TOOL, NO_VERDICT, TOP_REASONS, CategoryStats, Stats, ToolStats

__all__ = ["period", "query_stats"]

_M = messages.c
_T = tool_calls.c


def period(since: datetime | None, mailbox: str | None) -> list[ColumnElement[bool]]:
    """Conditions on `messages` for rows updated at or after `since` (timezone-aware) of `mailbox` (None: all)."""
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        if since.tzinfo is None:
            raise ValueError("`since` needs a timezone-aware datetime, e.g. datetime.now(UTC)")
        conditions.append(_M.updated_at >= since.timestamp())
    if mailbox is not None:
        conditions.append(_M.mailbox == mailbox)
    return conditions


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _grouped(conn: Connection, column: ColumnElement[Any], where: list[ColumnElement[bool]]) -> dict[Any, int]:
    rows = conn.execute(select(column, func.count()).where(*where).group_by(column))
    return {key: int(count) for key, count in rows}


def _time_to_draft(conn: Connection, where: list[ColumnElement[bool]]) -> dict[str, tuple[int, float, float]]:
    """Category -> (drafted, average ms, p95 ms) over drafted messages whose time to draft is known: the sum of
    their stage timings (`work_ms`), else finished_at - first_seen_at (at least 0)."""
    elapsed = (_M.finished_at - _M.first_seen_at) * 1000.0
    ttd = func.coalesce(_M.work_ms, case((elapsed < 0, 0.0), else_=elapsed)).label("ttd")
    drafted = [*where, _M.draft_id.is_not(None), _M.category.is_not(None), _M.category != ""]
    timed = select(_M.category, ttd).where(*drafted).subquery()
    ranked = (
        select(
            timed.c.category,
            timed.c.ttd,
            func.row_number().over(partition_by=timed.c.category, order_by=timed.c.ttd).label("rank"),
            func.count().over(partition_by=timed.c.category).label("n"),
        )
        .where(timed.c.ttd.is_not(None))
        .subquery()
    )
    nearest = (95 * ranked.c.n + 99) // 100  # ceil(0.95 n) in integers
    rows = conn.execute(
        select(
            ranked.c.category,
            func.count(),
            func.avg(ranked.c.ttd),
            func.max(case((ranked.c.rank == nearest, ranked.c.ttd))),
        ).group_by(ranked.c.category)
    )
    return {category: (int(n), float(avg), float(p95)) for category, n, avg, p95 in rows}


def query_stats(conn: Connection, since: datetime | None, mailbox: str | None) -> Stats:
    """Every number `stats` shows, for the period starting at `since` and one mailbox (None: all of them)."""
    where = period(since, mailbox)
    escalated = exists().where(_T.mailbox == _M.mailbox, _T.message_id == _M.message_id, _T.tool == ESCALATION_TOOL)
    process = _M.verdict == Verdict.PROCESS.value
    llm = _M.llm_calls > 0
    totals = conn.execute(
        select(
            func.count(),
            _count_if(process),
            _count_if(_M.draft_id.is_not(None)),
            _count_if(and_(process, escalated)),
            _count_if(and_(or_(_M.verdict.is_(None), ~process), escalated)),
            _count_if(llm),
            func.coalesce(func.sum(case((llm, _M.tokens_prompt), else_=0)), 0),
            func.coalesce(func.sum(case((llm, _M.tokens_completion), else_=0)), 0),
        ).where(*where)
    ).one()
    total, processed, drafted, escalations, alert_tickets, llm_messages, prompt, completion = map(int, totals)

    states = _grouped(conn, _M.state, where)
    verdicts = _grouped(conn, _M.verdict, where)
    reasons = _grouped(conn, _M.reason, [*where, _M.reason.is_not(None), _M.reason != ""])
    routed = _grouped(conn, _M.category, [*where, _M.category.is_not(None), _M.category != ""])
    engines = {
        engine or "unknown": n for engine, n in _grouped(conn, _M.engine, [*where, _M.draft_id.is_not(None)]).items()
    }
    timed = _time_to_draft(conn, where)
    on_messages = and_(_T.mailbox == _M.mailbox, _T.message_id == _M.message_id)
    tool_counts = conn.execute(
        select(_T.tool, func.count(), func.count(_T.error))
        .select_from(tool_calls.join(messages, on_messages))
        .where(*where)
        .group_by(_T.tool)
    ).all()
    mailboxes = sorted(conn.execute(select(_M.mailbox).where(*where).distinct()).scalars())

    names = [*CATEGORIES, *sorted(set(routed) - set(CATEGORIES))]
    verdict_names = [v.value for v in Verdict] + ([NO_VERDICT] if verdicts.get(None) else [])
    verdicts[NO_VERDICT] = verdicts.pop(None, 0)
    return Stats(
        since=since,
        total=total,
        states=MappingProxyType({state: states.get(state, 0) for state in STATES}),
        verdicts=MappingProxyType({name: verdicts.get(name, 0) for name in verdict_names}),
        top_reasons=tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]),
        categories=tuple(
            CategoryStats(
                category=name,
                count=routed.get(name, 0),
                drafted=timed[name][0] if name in timed else 0,
                avg_ms=timed[name][1] if name in timed else None,
                p95_ms=timed[name][2] if name in timed else None,
            )
            for name in names
        ),
        processed=processed,
        drafted=drafted,
        escalated=escalations,
        alerts_escalated=alert_tickets,
        tools=tuple(
            ToolStats(tool, int(calls), int(errors))
            for tool, calls, errors in sorted(tool_counts, key=lambda row: (-row[1], row[0]))
        ),
        engines=MappingProxyType(
            {name: engines.get(name, 0) for name in [*ENGINES, *sorted(set(engines) - set(ENGINES))]}
        ),
        llm_messages=llm_messages,
        tokens_prompt=prompt,
        tokens_completion=completion,
        needs_human=states.get("needs_human", 0),
        mailboxes=tuple([mailbox] if mailbox is not None else mailboxes),
    )
