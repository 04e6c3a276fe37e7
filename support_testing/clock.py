"""A clock that tests move by hand, for code that takes its clock as an argument (leases, pauses, buckets, expiry)."""

from __future__ import annotations


class HandClock:
    """Returns `now` when called; only `advance` (or setting `now`) moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
