"""The Maildir's SQLite sidecar: user labels and the new-mail journal, beside the mail and never in it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from gmail_mcp.errors import MailboxCorruptError, MailboxUnavailableError

__all__ = ["STATE_FILE", "MaildirState"]

STATE_FILE = "state.sqlite3"

_SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, journaled_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS labels (key TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS message_labels (message_id TEXT NOT NULL, label_key TEXT NOT NULL, "
    "PRIMARY KEY (message_id, label_key)) WITHOUT ROWID",
)
_TABLES = {"meta", "journal", "labels", "message_labels"}


class MaildirState:
    """`root/.support-agent/state.sqlite3` (WAL): one connection, used under the backend's lock; other processes
    share the file through SQLite's locking (a writer waits up to `busy_timeout` seconds).

    The state folder, the database and its `-wal`, `-shm` and `-journal` files must not be symbolic links (another
    program writing the Maildir could plant one to make SQLite write elsewhere): `open()` refuses them.

    The journal gives every message first seen in INBOX the next sequence number. Numbers start at the creation
    time in microseconds, so a journal rebuilt after deleting the file always numbers above every cursor the old
    one handed out: old cursors are then simply "too old" and trigger one full sync.
    """

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise MailboxUnavailableError(
                f"Cannot create {self.path.parent} for the mailbox state ({exc.strerror or exc}): make the Maildir "
                "writable by this user"
            ) from None
        self._refuse_links()
        try:
            self._prepare()
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> None:
        """Open the file, switch it to WAL and create or check the schema; all of it is tried again (tenacity, until
        `busy_timeout`) when SQLite answers "locked" or "busy" at once, which it does without waiting while another
        process creates the file, recovers its WAL or checkpoints and removes it as its last connection closes."""
        with self._errors():
            retrying = Retrying(
                retry=retry_if_exception(_locked),
                stop=stop_after_delay(self.busy_timeout),
                wait=wait_exponential(multiplier=0.02, max=0.5),
                before_sleep=lambda _state: self.close(),
                reraise=True,
            )
            retrying(self._open_and_check)

    def _open_and_check(self) -> None:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        self._conn = conn
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"database is locked (journal mode {mode}, not wal)")
        conn.execute("PRAGMA synchronous=FULL")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall() if row[0] != "ok"]
        if problems:
            raise sqlite3.DatabaseError("; ".join(problems[:3]))
        with self.write() as tx:
            version = tx.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise MailboxUnavailableError(
                    f"The mailbox state file {self.path} was written by a newer support-agent (schema {version}):"
                    " upgrade this one"
                )
            if version == 0:
                for statement in _SCHEMA:
                    tx.execute(statement)
                base = time.time_ns() // 1000
                tx.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("base", str(base)), ("last_seq", str(base)), ("created_at", _now())],
                )
                tx.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            tables = {row[0] for row in tx.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            meta = dict(tx.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
            if not tables >= _TABLES or not {"base", "last_seq"} <= meta.keys():
                raise sqlite3.DatabaseError("tables or journal bounds are missing")
            int(meta["base"]), int(meta["last_seq"])

    def _refuse_links(self) -> None:
        """Refuse a state folder or file that is a link or special file (checked before SQLite opens it)."""
        checks = [(self.path.parent, stat.S_ISDIR, "folder")]
        checks += [(Path(f"{self.path}{end}"), stat.S_ISREG, "file") for end in ("", "-wal", "-shm", "-journal")]
        for path, is_wanted, wanted in checks:
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            if not is_wanted(mode):
                what = "a symbolic link" if stat.S_ISLNK(mode) else f"not a {'plain ' * (wanted == 'file')}{wanted}"
                raise MailboxUnavailableError(
                    f"The mailbox state {wanted} {path} is {what}: the Maildir backend never opens its state through a "
                    "link or special file (another program may have put it there). Remove it, or put the real "
                    f"{wanted} in its place; the state holds only user labels and the new-mail journal and is rebuilt "
                    "when missing."
                )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                advice = f"another process held it for over {self.busy_timeout:g} s; try again"
            else:
                advice = "make the file and its folder readable and writable by this user"
            raise MailboxUnavailableError(
                f"The mailbox state file {self.path} cannot be used ({text}): {advice}"
            ) from None
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise MailboxCorruptError(
                f"The mailbox state file {self.path} is damaged ({exc}). It holds only user labels and the new-mail "
                f"journal: delete it (with {self.path.name}-wal and {self.path.name}-shm beside it, if present) and it "
                "is rebuilt from the Maildir on the next start. User labels (e.g. support/processed) are lost; mail, "
                "read state and stars are not."
            ) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (`BEGIN IMMEDIATE`: writers queue up, readers go on); rolled back on error."""
        with self._errors():
            conn = self._connection()
            self._begin(conn, "BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also a COMMIT that failed: never keep a write lock other processes wait on
                    conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several reads."""
        with self._errors():
            conn = self._connection()
            self._begin(conn, "BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _begin(self, conn: sqlite3.Connection, statement: str) -> None:
        """Start a transaction and take its snapshot now, trying again until `busy_timeout` when SQLite answers
        "locked" or "busy". SQLite's busy handler covers a writer waiting for another writer, but in WAL mode some
        conflicts (another process recovering or resetting the WAL as it opens or closes) are reported at once,
        without it; only the start of a transaction is retried (tenacity, waits doubling from 20 ms to 0.5 s),
        never a statement of the caller's."""

        def attempt() -> None:
            try:
                conn.execute(statement)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot, taken here
            except sqlite3.OperationalError:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        retrying = Retrying(
            retry=retry_if_exception(_locked),
            stop=stop_after_delay(self.busy_timeout),
            wait=wait_exponential(multiplier=0.02, max=0.5),
            reraise=True,
        )
        retrying(attempt)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise MailboxUnavailableError(f"The mailbox state file {self.path} is closed")
        return self._conn

    # journal

    def journaled_ids(self) -> set[str]:
        with self.read() as conn:
            return {row[0] for row in conn.execute("SELECT id FROM journal")}

    def journal(self, ids: list[str]) -> list[str]:
        """Give each id not yet in the journal the next sequence number, in the order given; returns those added."""
        added: list[str] = []
        with self.write() as conn:
            last = int(conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()[0])
            for message_id in ids:
                if conn.execute("SELECT 1 FROM journal WHERE id = ?", (message_id,)).fetchone():
                    continue
                last += 1
                conn.execute("INSERT INTO journal (seq, id, journaled_at) VALUES (?, ?, ?)", (last, message_id, _now()))
                added.append(message_id)
            if added:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(last),))
        return added

    def bounds(self) -> tuple[int, int]:
        """(base, last sequence number)."""
        with self.read() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('base', 'last_seq')").fetchall())
        return int(meta["base"]), int(meta["last_seq"])

    def advance_to(self, seq: int) -> None:
        """Make every later entry number above `seq` (a caller's cursor from a journal that numbered higher)."""
        with self.write() as conn:
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'last_seq' AND CAST(value AS INTEGER) < ?", (str(seq), seq)
            )

    def entries_after(self, seq: int, limit: int) -> list[tuple[int, str]]:
        with self.read() as conn:
            rows = conn.execute("SELECT seq, id FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
            return [(int(row[0]), str(row[1])) for row in rows]

    def ids_up_to(self, seq: int) -> list[str]:
        with self.read() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM journal WHERE seq <= ?", (seq,))]

    def forget(self, ids: list[str]) -> None:
        with self.write() as conn:
            conn.executemany("DELETE FROM journal WHERE id = ?", [(message_id,) for message_id in ids])

    # labels

    def labels(self, message_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
        """User label names per message id (all messages when `message_ids` is None)."""
        query = "SELECT m.message_id, l.name FROM message_labels m JOIN labels l ON l.key = m.label_key"
        found: dict[str, list[str]] = {}
        with self.read() as conn:
            if message_ids is None:
                rows = conn.execute(query).fetchall()
            else:
                wanted = list(dict.fromkeys(message_ids))
                rows = []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += conn.execute(f"{query} WHERE m.message_id IN ({marks})", chunk).fetchall()
        for message_id, name in rows:
            found.setdefault(message_id, []).append(name)
        return found

    def label_names(self) -> list[str]:
        with self.read() as conn:
            return [row[0] for row in conn.execute("SELECT name FROM labels ORDER BY key")]

    def apply(self, message_ids: list[str], add: list[str], remove: list[str]) -> list[str]:
        """Add and remove user labels on messages in one transaction; returns the labels it had to create."""
        created: list[str] = []
        with self.write() as conn:
            for name in add:
                key = name.casefold()
                if conn.execute("SELECT 1 FROM labels WHERE key = ?", (key,)).fetchone() is None:
                    conn.execute("INSERT INTO labels (key, name, created_at) VALUES (?, ?, ?)", (key, name, _now()))
                    created.append(name)
                conn.executemany(
                    "INSERT OR IGNORE INTO message_labels (message_id, label_key) VALUES (?, ?)",
                    [(message_id, key) for message_id in message_ids],
                )
            for name in remove:
                conn.executemany(
                    "DELETE FROM message_labels WHERE message_id = ? AND label_key = ?",
                    [(message_id, name.casefold()) for message_id in message_ids],
                )
        return created


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _locked(exc: BaseException) -> bool:
    """SQLite's answer when another connection holds the database: worth waiting for."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))
