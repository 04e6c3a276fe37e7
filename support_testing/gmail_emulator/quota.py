"""Quota accounting: Google's per-method units, the request log record and an optional per-user minute bucket."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

QUOTA_UNITS: MappingProxyType[str, int] = MappingProxyType(
    {
        # Google's "Per-method quota usage" table (developers.google.com/workspace/gmail/api/reference/quota),
        # keyed by the discovery method id without the "gmail." prefix.
        "users.getProfile": 1,
        "users.messages.list": 5,
        "users.messages.get": 5,
        "users.messages.modify": 5,
        "users.messages.batchModify": 50,
        "users.messages.insert": 25,
        "users.messages.send": 100,
        "users.messages.attachments.get": 5,
        "users.threads.get": 10,
        "users.drafts.create": 10,
        "users.drafts.get": 5,
        "users.drafts.list": 5,
        "users.drafts.send": 100,
        "users.labels.list": 1,
        "users.labels.get": 1,
        "users.labels.create": 5,
        "users.history.list": 2,
    }
)
"""Units each method costs. Requests that never reach a method (injected faults, 401, unknown paths) cost 0."""

USER_QUOTA_PER_MINUTE = 15_000
"""Google's per-user limit (units per minute), for `GmailEmulator(user_quota_per_minute=...)`."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the emulator saw it. `method` is e.g. "users.messages.get"; None for an unknown path."""

    timestamp: float
    http_method: str
    path: str
    method: str | None
    status: int
    units: int
    fault: str | None
    duration: float


class UserQuota:
    """A rolling one-minute window of units; `charge` refuses (returns False) when it would go over `limit`."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._clock = clock
        self._spent: deque[tuple[float, int]] = deque()

    def used(self) -> int:
        horizon = self._clock() - 60.0
        while self._spent and self._spent[0][0] <= horizon:
            self._spent.popleft()
        return sum(units for _, units in self._spent)

    def charge(self, units: int) -> bool:
        if self.used() + units > self.limit:
            return False
        self._spent.append((self._clock(), units))
        return True
