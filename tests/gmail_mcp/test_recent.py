"""The short-lived memory of what the tools fetched: expiry, bounds, and what it never keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from gmail_mcp.backend import RawMessage
from gmail_mcp.recent import RecentMail


def raw(message_id: str, size: int = 10, *, rebuilt: bool = False) -> RawMessage:
    return RawMessage(message_id, "t1", ("INBOX",), b"x" * size, datetime(2026, 11, 1, tzinfo=UTC), rebuilt=rebuilt)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    recent = RecentMail(ttl=10, clock=clock)
    recent.keep_message(raw("a"))
    recent.keep_thread("t1", [raw("a")])
    clock.now = 10
    assert recent.message("a") is not None and recent.thread("t1", not_before=0) is not None
    clock.now = 10.5
    assert recent.message("a") is None and recent.thread("t1", not_before=0) is None


def test_a_thread_older_than_the_message_read_is_not_given() -> None:
    clock = Clock()
    recent = RecentMail(clock=clock)
    recent.keep_thread("t1", [raw("a")])
    clock.now = 1
    read_at = recent.keep_message(raw("a"))
    assert recent.thread("t1", not_before=read_at) is None
    clock.now = 2
    recent.keep_thread("t1", [raw("a")])
    assert recent.thread("t1", not_before=read_at) is not None


def test_bounded_in_entries_and_in_bytes() -> None:
    recent = RecentMail(size=2, max_bytes=100)
    for name in ("a", "b", "c"):
        recent.keep_message(raw(name))
    assert [recent.message(n) is not None for n in ("a", "b", "c")] == [False, True, True]
    recent.keep_message(raw("big", 95))
    assert recent.message("c") is None and recent.message("big") is not None
    recent.keep_message(raw("huge", 500))
    assert recent.message("huge") is None, "a message over the whole budget is not kept"


def test_rebuilt_bytes_never_stand_in_for_a_message() -> None:
    recent = RecentMail()
    recent.keep_message(raw("a", rebuilt=True))
    assert recent.message("a") is None
