"""Benchmark 5: Shopify query cost per lookup, and the emulator loaded with the 1,000-order tau-bench retail store.

Requested vs actual cost of every kind of lookup and the rate a standard store's bucket sustains (`shopify_cost`),
then lookup latency against the large store (bottomless cost bucket), then the Admin API client's behaviour when the
default cost bucket runs dry: a burst of concurrent lookups, counting THROTTLED answers and how the requests
spread over time.
"""

from __future__ import annotations

import itertools
import logging
import random
import tempfile
import time
from pathlib import Path

import anyio

from bench import shopify_cost
from bench.report import Section, percentile
from shopify_mcp.config import load_settings
from shopify_mcp.context import open_context
from shopify_mcp.emulator import SANDBOX_TOKEN, Store
from support_testing.shopify_emulator import ShopifyEmulator, load_tau_store, serve_emulator

TAU = Path(__file__).resolve().parent.parent.parent / "shared" / "store" / "tau-retail"


async def _lookups(
    store: Store, pairs: list[tuple[str, str]], *, concurrency: int, bucket: tuple[float, float] | None
) -> tuple[list[float], ShopifyEmulator, float]:
    """(latency ms of each lookup, the emulator, wall seconds) for `pairs` looked up `concurrency` at a time."""
    emulator = (
        ShopifyEmulator(store=store, bucket_size=1e9, restore_rate=1e9)
        if bucket is None
        else ShopifyEmulator(store=store, bucket_size=bucket[0], restore_rate=bucket[1])
    )
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        async with serve_emulator(emulator) as url:
            settings = load_settings(store=url, access_token=SANDBOX_TOKEN, ticket_db=Path(tmp) / "t.db")
            async with open_context(settings) as ctx:
                await ctx.orders.lookup(*pairs[0])  # warm-up: connection, first parse
                emulator.requests.clear()
                limiter = anyio.CapacityLimiter(concurrency)

                async def one(number: str, email: str) -> None:
                    async with limiter:
                        began = time.perf_counter()
                        await ctx.orders.lookup(number, email)
                        latencies.append((time.perf_counter() - began) * 1000)

                started = time.perf_counter()
                async with anyio.create_task_group() as tg:
                    for number, email in pairs:
                        tg.start_soon(one, number, email)
                wall = time.perf_counter() - started
    return latencies, emulator, wall


async def run(quick: bool = False) -> Section:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    section = Section(
        "5. Shopify: query cost per lookup, and a 1,000-order store",
        "First, the GraphQL cost of every kind of lookup the tools make (requested = what Shopify reserves from the "
        "bucket before running a query, actual = what it keeps), against the 2x target, with the lookups/s a "
        "standard store sustains. Then the Shopify emulator over the tau-bench retail store "
        "(`../shared/store/tau-retail`, 1,000 orders), reached over loopback HTTP by shopify-mcp's own Admin API "
        "client (`OrderLookup.lookup`, in-process).",
    )
    if not TAU.is_dir():
        costs = await shopify_cost.measure(quick)
        section.add(shopify_cost.HEADER, [cost.row() for cost in costs])
        section.notes += [*shopify_cost.notes(costs), f"Not measured: the tau-bench store is not at {TAU}."]
        return section
    costs = await shopify_cost.measure(quick)
    section.add(shopify_cost.HEADER, [cost.row() for cost in costs])
    section.notes += shopify_cost.notes(costs)
    loaded = time.perf_counter()
    store = load_tau_store(TAU)
    load_ms = (time.perf_counter() - loaded) * 1000
    orders = [(str(o.number), o.email or "") for o in store.orders]
    rng = random.Random(7)
    n = 60 if quick else 300
    sample = [rng.choice(orders) for _ in range(n)]

    rows: list[list[object]] = []
    for concurrency in (1, 16):
        latencies, emulator, wall = await _lookups(store, sample, concurrency=concurrency, bucket=None)
        own = [r.duration * 1000 for r in emulator.requests if r.operation]
        rows.append(
            [
                f"{len(orders):,} orders, bottomless bucket",
                concurrency,
                len(latencies),
                percentile(latencies, 50),
                percentile(latencies, 99),
                percentile(own, 50),
                len(latencies) / wall,
            ]
        )
    section.add(
        ["store", "conc.", "lookups", "p50 ms", "p99 ms", "emulator p50 ms", "lookups/s"],
        rows,
    )

    burst = 20 if quick else 40
    burst_pairs = [rng.choice(orders) for _ in range(burst)]
    throttle_rows: list[list[object]] = []
    for size, rate in ((2000.0, 100.0),) if quick else ((2000.0, 100.0), (1000.0, 50.0)):
        latencies, emulator, wall = await _lookups(store, burst_pairs, concurrency=16, bucket=(size, rate))
        records = [r for r in emulator.requests if r.operation]
        throttled = sum(1 for r in records if r.throttled)
        requested = [r.requested_cost or 0 for r in records if not r.throttled]
        actual = [r.actual_cost or 0 for r in records if not r.throttled]
        stamps = sorted(r.timestamp for r in records)
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(stamps)]
        throttle_rows.append(
            [
                f"{size:,.0f} / {rate:,.0f} per s",
                burst,
                len(records),
                throttled,
                percentile(requested, 50),
                percentile(actual, 50),
                wall,
                burst / wall,
                percentile(gaps, 50),
                percentile(latencies, 50),
                percentile(latencies, 99),
            ]
        )
    section.add(
        [
            "bucket (size / restore)",
            "lookups",
            "requests",
            "THROTTLED",
            "requested cost p50",
            "actual cost p50",
            "wall s",
            "lookups/s",
            "gap between requests p50 ms",
            "latency p50 ms",
            "p99 ms",
        ],
        throttle_rows,
    )
    tau = next((c for c in costs if c.kind.startswith("lookup_order (tau")), None)
    burst_rate = (
        f"{shopify_cost.STANDARD_RESTORE:.0f} ÷ {tau.actual:.0f} ≈ {shopify_cost.STANDARD_RESTORE / tau.actual:.1f} "
        "order lookups/s on a standard store"
        if tau
        else "see the first table"
    )
    section.notes += [
        f"Loading the 1,000-order store takes {load_ms:,.0f} ms (once, at emulator start).",
        "Burst: the lookups are started at once, 16 in flight (the daemon's top concurrency). 'requests' > "
        "'lookups' means follow-ups (orders bigger than the first answer's page) or retries; 'THROTTLED' counts "
        "answers the emulator refused for lack of points.",
        "No THROTTLED storm: the client paces itself from the bucket state Shopify reports, less what its own "
        "requests still under way have reserved (requests spread out, none refused, no retries). The sustained "
        "rate is restore rate ÷ *actual* cost (first table: "
        f"{burst_rate}); at concurrency 16 the queueing shows up as lookup latency, not errors. Shopify also "
        "reserves the *requested* cost before running a query, now within 2x of the actual cost, so a burst from "
        "a full bucket is admitted at once instead of a handful of lookups.",
    ]
    return section
