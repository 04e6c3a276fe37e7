"""A throw-away PostgreSQL server on loopback for tests and benchmarks: `initdb` into a temporary folder, `pg_ctl`
start on a free port, one fresh database per caller, everything removed on exit.

Why not pytest-postgresql: CI and these machines run as root, and `initdb`/`postgres` refuse to run as root. This
module runs them as the unprivileged `postgres` (or `nobody`) account when it is root, which pytest-postgresql does
not do; it is small (start, create a database, stop) and has no other job.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "find_binaries", "postgres_server"]

_ACCOUNTS = ("postgres", "nobody")


def find_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: on PATH, else the newest Debian/Ubuntu `/usr/lib/postgresql/N/bin`."""
    initdb = shutil.which("initdb")
    if initdb:
        real = Path(initdb).resolve().parent
        if (real / "pg_ctl").exists():
            return real
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    """A running server: `url(database)` gives a `postgresql://` URL; `create_database()` makes a fresh one."""

    port: int
    user: str
    binaries: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _runner() -> tuple[list[str], int | None, int | None]:
    """The command prefix and the uid/gid PostgreSQL's programs run as (root may not run them)."""
    if os.geteuid() != 0:
        return [], None, None
    for account in _ACCOUNTS:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(account)
            return [], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root with neither a 'postgres' nor a 'nobody' account to run PostgreSQL as")


def _run(command: list[str], uid: int | None, gid: int | None, *, timeout: float) -> None:
    def demote() -> None:  # pragma: no cover - runs in the child
        if gid is not None and uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=demote if uid is not None else None,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server (fsync off: a crash of the test machine loses only test data) and stop it on exit."""
    binaries = find_binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL's initdb and pg_ctl were not found (install the postgresql package)")
    _, uid, gid = _runner()
    folder = Path(tempfile.mkdtemp(prefix="support-agent-pg-"))
    data = folder / "data"
    if uid is not None:
        os.chown(folder, uid, gid if gid is not None else -1)
    os.chmod(folder, 0o700)
    port = _free_port()
    user = "support_agent"
    try:
        _run(
            [str(binaries / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"],
            uid,
            gid,
            timeout=120,
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c max_connections=200"
        _run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
            uid,
            gid,
            timeout=120,
        )
        try:
            yield PostgresServer(port=port, user=user, binaries=binaries)
        finally:
            with contextlib.suppress(Exception):
                _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], uid, gid, timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
