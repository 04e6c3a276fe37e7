"""The TTL cache and the client-side cost bucket, with injected clocks (no real sleeping)."""

from __future__ import annotations

import anyio
import pytest

from shopify_mcp.cache import TtlCache
from shopify_mcp.throttle import CostThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.anyio
async def test_cache_keeps_values_for_ttl_then_refetches() -> None:
    clock = FakeClock()
    cache: TtlCache[int] = TtlCache(10, clock=clock)
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await cache.get("k", fetch) == 1
    clock.now = 9.9
    assert await cache.get("k", fetch) == 1
    clock.now = 10.1
    assert await cache.get("k", fetch) == 2


@pytest.mark.anyio
async def test_cache_with_zero_ttl_never_caches() -> None:
    cache: TtlCache[int] = TtlCache(0)
    values = iter(range(5))

    async def fetch() -> int:
        return next(values)

    assert [await cache.get("k", fetch) for _ in range(3)] == [0, 1, 2]


def _cost(requested: float, available: float, maximum: float = 1000, rate: float = 50) -> dict[str, object]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": requested,
        "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate},
    }


@pytest.mark.anyio
async def test_an_answer_does_not_hand_out_again_what_requests_under_way_reserved() -> None:
    """Shopify's bucket state counts only the requests it has received: an answer arriving while others are still
    under way must not give their points out a second time (a burst of cheap queries was THROTTLED that way)."""
    clock = FakeClock()
    throttle = CostThrottle(clock=clock, sleep=clock.sleep)
    throttle.observe("Op", _cost(requested=100, available=1000))
    for _ in range(4):
        await throttle.acquire("Op")  # 4 x 100 reserved: 600 left here
    throttle.observe("Op", _cost(requested=100, available=900))  # Shopify has charged only the first one so far
    throttle.settle("Op")
    for _ in range(6):
        await throttle.acquire("Op")  # 900 less the 300 still under way: six more fit
    assert clock.slept == []
    await throttle.acquire("Op")  # the seventh waits for 100 points at 50/s
    assert clock.slept == [pytest.approx(2.0)]


@pytest.mark.anyio
async def test_throttle_waits_for_the_bucket_to_refill() -> None:
    clock = FakeClock()
    throttle = CostThrottle(clock=clock, sleep=clock.sleep)
    await throttle.acquire("Op")
    assert clock.slept == [], "nothing is known before the first answer, so nothing waits"
    throttle.observe("Op", _cost(requested=100, available=150))
    await throttle.acquire("Op")  # 150 available, costs 100
    assert clock.slept == []
    await throttle.acquire("Op")  # 50 left, needs 100 -> 1 s at 50/s
    assert clock.slept == [pytest.approx(1.0)]


@pytest.mark.anyio
async def test_throttle_spreads_a_burst_instead_of_sending_it_at_once() -> None:
    clock = FakeClock()
    throttle = CostThrottle(clock=clock, sleep=clock.sleep)
    throttle.observe("Op", _cost(requested=200, available=200, rate=100))
    for _ in range(5):
        await throttle.acquire("Op")
    assert sum(clock.slept) == pytest.approx(8.0), "4 extra requests x 200 points at 100/s"


def test_wait_after_throttle_uses_the_restore_rate() -> None:
    clock = FakeClock()
    throttle = CostThrottle(clock=clock, sleep=clock.sleep)
    assert throttle.wait_after_throttle("Op") == 1.0
    throttle.observe("Op", _cost(requested=300, available=100, rate=100))
    assert throttle.wait_after_throttle("Op") == pytest.approx(2.0)


@pytest.mark.anyio
async def test_first_request_of_an_unknown_operation_probes_alone() -> None:
    throttle = CostThrottle()
    passed: list[int] = []

    async def request(n: int) -> None:
        await throttle.acquire("Op")
        passed.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(request, n)
        await anyio.wait_all_tasks_blocked()
        assert len(passed) == 1, "only the probe goes before the cost is known"
        throttle.observe("Op", _cost(requested=10, available=1000))
        throttle.settle("Op")
    assert sorted(passed) == [0, 1, 2]


@pytest.mark.anyio
async def test_a_failed_probe_hands_over_to_the_next_request() -> None:
    throttle = CostThrottle()
    passed: list[int] = []

    async def request(n: int) -> None:
        await throttle.acquire("Op")
        passed.append(n)
        throttle.settle("Op")  # no cost learned (e.g. a 503)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(request, n)
    assert sorted(passed) == [0, 1, 2]
