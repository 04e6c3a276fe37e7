"""Where the ledger lives: the SQLite file (private, WAL, checked), its migration from release 0.1.0, newer schemas,
concurrent openers, and one-line errors for unusable files and unreachable PostgreSQL servers."""

from __future__ import annotations

import hashlib
import shutil
import socket
import sqlite3
import stat
from pathlib import Path

import anyio
import psycopg
import pytest

from orchestrator.errors import ConfigError, LedgerError
from orchestrator.ledger import Ledger, Record
from orchestrator.ledger_engine import _wal
from support_testing.clock import HandClock
from tests.orchestrator.test_ledger import START

pytestmark = pytest.mark.anyio

V1_FILE = Path(__file__).parent / "data" / "ledger-v1.sqlite3"


def pragmas(path: Path) -> tuple[str, int, set[str]]:
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA user_version").fetchone()[0],
            tables,
        )


async def test_a_release_0_1_ledger_is_migrated_in_place_to_the_default_mailbox(tmp_path: Path) -> None:
    original = hashlib.sha256(V1_FILE.read_bytes()).hexdigest()
    path = tmp_path / "ledger.sqlite3"
    shutil.copyfile(V1_FILE, path)
    clock = HandClock(START)
    clock.now = 1796406091.15  # just after the file was written: m3's claim (worker "w") is still live
    async with Ledger(path, clock=clock) as ledger:
        entries = {entry.message_id: entry for entry in await ledger.entries()}
        assert {key: (e.mailbox, e.state) for key, e in entries.items()} == {
            "m1": ("default", "done"),
            "m2": ("default", "ignored"),
            "m3": ("default", "drafted"),
            "m4": ("default", "failed"),
            "m5": ("default", "new"),
        }
        m1, m3, m4 = entries["m1"], entries["m3"], entries["m4"]
        assert (m1.draft_id, m1.draft_message_id, m1.tools, m1.timings) == (
            "r-1",
            "<d1@x>",
            ("lookup_order",),
            {"fetch": 12.5},
        )
        assert (m1.category, m1.language, m1.confidence, m1.engine) == ("ShippingDelivery", "es", 0.9, "offline")
        assert (m3.draft_id, m3.claimed_by, m3.thread_id) == ("r-3", "w", "t3")
        assert (m4.error, m4.thread_id, m4.attempts) == ("ToolCallError: boom", None, 1)
        assert entries["m2"].reason == "sender:automated"
        assert await ledger.get_cursor("default") == "1042"
        assert await ledger.mailboxes() == ["default"]
        stats = await ledger.stats()
        shipping = next(c for c in stats.categories if c.category == "ShippingDelivery")
        assert (shipping.drafted, shipping.avg_ms) == (1, 12.5)  # work_ms computed from the old timings
        assert [(t.tool, t.calls) for t in stats.tools] == [("lookup_order", 1)]

        # m3 is still w's and m4 waits for its backoff: only the new m5 is handed out
        assert [c.message_id for c in await ledger.claim("default", "w2", limit=5)] == ["m5"]
        clock.now += 400  # w's lease, m4's backoff and w2's lease on m5 are over
        claims = await ledger.claim("default", "w2", limit=5)
        assert [(c.message_id, c.draft_id, c.attempts) for c in claims] == [
            ("m3", "r-3", 2),
            ("m4", None, 2),
            ("m5", None, 2),
        ]
    assert pragmas(path) == ("wal", 2, {"messages", "tool_calls", "cursors", "ledger_version"})
    async with Ledger(path) as reopened:  # a second open finds nothing to migrate
        assert len(await reopened.entries()) == 5
    assert hashlib.sha256(V1_FILE.read_bytes()).hexdigest() == original


async def test_the_first_claim_after_migration_takes_over_with_the_real_clock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copyfile(V1_FILE, path)
    async with Ledger(path, clock=lambda: 2e9) as ledger:
        claims = await ledger.claim("default", "w2", limit=1)
        assert [(c.mailbox, c.message_id, c.draft_id, c.attempts) for c in claims] == [("default", "m3", "r-3", 2)]


async def test_a_newer_schema_is_refused(tmp_path: Path, postgres_url: str) -> None:
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="newer support-agent \\(schema 99, this one knows 2\\)"):
        await Ledger(newer).open()

    async with Ledger(postgres_url):
        pass
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE ledger_version SET version = 3")
    with pytest.raises(LedgerError, match="newer support-agent \\(schema 3") as raised:
        await Ledger(postgres_url).open()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_concurrent_openers_of_a_new_ledger_create_it_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    location = str(tmp_path / "ledger.sqlite3") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    ledgers = [Ledger(location) for _ in range(6)]
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            for ledger in ledgers:
                tasks.start_soon(ledger.open)
    try:
        assert await ledgers[0].record_seen("default", ["m1"], [None]) == ["m1"]
        assert [len(await ledger.entries()) for ledger in ledgers] == [1] * 6
    finally:
        for ledger in ledgers:
            await ledger.aclose()


async def test_the_file_is_private_and_its_folders_are_made(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.sqlite3"
    async with Ledger(path) as ledger:
        assert (ledger.backend, ledger.path, ledger.description) == ("sqlite", path, str(path))
        await ledger.record_seen("default", ["m1"], ["t1"])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
    assert await anyio.to_thread.run_sync(pragmas, path) == (
        "wal",
        2,
        {"messages", "tool_calls", "cursors", "ledger_version"},
    )


async def test_a_corrupt_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    with pytest.raises(LedgerError, match="move it aside") as raised:
        await Ledger(path).open()
    assert str(path) in str(raised.value)


async def test_an_unusable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="Cannot create the ledger") as raised:
        await Ledger(blocker / "ledger.sqlite3").open()
    assert str(blocker / "ledger.sqlite3") in str(raised.value)
    with pytest.raises(ConfigError, match="scheme 'mysql' is not supported"):
        Ledger("mysql://user@127.0.0.1/ledger")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_postgres_server_is_a_one_line_error_without_the_password() -> None:
    port = closed_port()
    ledger = Ledger(f"postgres://agent:s3cret-pw@127.0.0.1:{port}/ledger")
    assert ledger.backend == "postgresql" and ledger.path is None
    assert ledger.description == f"postgresql+psycopg://agent:***@127.0.0.1:{port}/ledger"
    with anyio.fail_after(30), pytest.raises(LedgerError, match="Cannot reach PostgreSQL") as raised:
        await ledger.open()
    text = str(raised.value)
    assert f"127.0.0.1:{port}/ledger" in text and "start the server" in text
    assert "\n" not in text and "s3cret-pw" not in text


async def test_a_missing_postgres_database_is_a_one_line_error(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(LedgerError, match="'no_such_db' does not exist") as raised:
        await Ledger(missing).open()
    assert "createdb no_such_db" in str(raised.value) and "\n" not in str(raised.value)


async def test_postgres_ledger_describes_itself(postgres_url: str) -> None:
    async with Ledger(postgres_url.replace("postgresql://", "postgresql+psycopg://")) as ledger:
        assert ledger.description.startswith("postgresql+psycopg://") and ledger.path is None
        await ledger.record_seen("default", ["m1"], ["t1"])
        (claim,) = await ledger.claim("default", "w", limit=1)
        await ledger.finish(claim, state="ignored", record=Record(reason="sender:automated"))
        assert ledger.commits == 3


def test_workers_starting_together_on_a_new_sqlite_ledger_all_get_write_ahead_logging(tmp_path: Path) -> None:
    """SQLite answers "database is locked" at once, not after its busy timeout, to a connection switching a new file
    to WAL while another one is doing it (measured: 6 connections at once on a new file, 1 file in 15 to 20 had one
    fail). The ledger's switch retries that answer; here 6 threads at once on each of 150 new files."""
    import threading

    failures: list[str] = []
    for trial in range(150):
        path = tmp_path / f"new-{trial}.sqlite3"

        def connect(path: Path = path) -> None:
            connection = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            try:
                assert _wal(connection, busy_timeout=10) == "wal"
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT)")
                connection.execute("COMMIT")
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
            finally:
                connection.close()

        threads = [threading.Thread(target=connect) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures, failures[:3]
