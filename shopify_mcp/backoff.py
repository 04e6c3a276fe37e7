"""Retry delays: capped exponential backoff with full jitter, honouring a server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number `attempt` (1-based).

    Full jitter (a random delay between 0 and the exponential bound) spreads retries from many clients so they
    do not arrive together. A server-provided `Retry-After` wins when given, capped at `max_delay`.
    """

    base: float = 0.5
    max_delay: float = 30.0
    attempts: int = 5
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_delay)
        bound = min(self.max_delay, self.base * (2 ** (attempt - 1)))
        return self.rng.uniform(0, bound)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds; None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
