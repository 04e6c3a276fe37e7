"""Fixtures for the IMAP backend: one throw-away Dovecot per test process, a fresh account per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support_testing.dovecot import DovecotServer, dovecot_binary, dovecot_server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A running Dovecot on loopback; skipped, with the reason, only where Dovecot is not installed (`.ci/run`
    installs it, so CI always runs these tests)."""
    if dovecot_binary() is None:
        pytest.skip("Dovecot is not installed (no `dovecot` program); `.ci/run` installs dovecot-imapd")
    with dovecot_server() as server:
        yield server
