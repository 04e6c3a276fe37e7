"""A throw-away Dovecot IMAP server on loopback for tests: generated config and Maildir store in a temporary folder.

Any user name logs in with `PASSWORD` (a static passdb; any other password is refused at once), and each gets its
own empty Maildir, so every test can take a fresh account (`new_user()`) and stay independent of the others, also
under pytest-xdist. The namespace declares SPECIAL-USE folders (Drafts, Sent, Trash, Junk, Archive), created on
first login. No TLS (`ssl = no`): the server listens on 127.0.0.1 only, where the backend allows plain IMAP. Each
imap process's title names the command it runs (`verbose_proctitle`), so a test can wait until a connection really
is in IDLE (`idling`) instead of sleeping. Dovecot itself tells an IDLE client about new mail about 0.5 s after it
lands (a fixed delay in its mailbox watching, not a setting). The store is thrown away afterwards, so Dovecot never
waits for fsync.

Root: Dovecot never gives mail access to uid 0, so under root the mail processes run as `nobody` (the store
folder is handed to it) and the internal/login processes use the same account; as any other user everything runs
as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["PASSWORD", "DovecotServer", "dovecot_binary", "dovecot_server"]

PASSWORD = "test-password"
SPECIAL_FOLDERS = {"Drafts": r"\Drafts", "Sent": r"\Sent", "Trash": r"\Trash", "Junk": r"\Junk", "Archive": r"\Archive"}


def dovecot_binary() -> str | None:
    """The `dovecot` program, or None when it is not installed (`apt-get install dovecot-imapd`)."""
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if Path(p).exists()), None)


@dataclass(frozen=True)
class DovecotServer:
    host: str
    port: int
    folder: Path
    log: Path

    def new_user(self, prefix: str = "user") -> str:
        """A login name nobody used before (its mailbox is created empty on first login)."""
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def client(self, user: str) -> Any:
        """A logged-in imapclient connection as `user` (plain IMAP on loopback); close it with `logout()`."""
        from imapclient import IMAPClient  # type: ignore[import-untyped]

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def deliver(
        self,
        user: str,
        raw: bytes,
        *,
        folder: str = "INBOX",
        flags: tuple[bytes, ...] = (),
        when: datetime | None = None,
    ) -> None:
        """APPEND one message, as a mail server's delivery would leave it (unread unless `flags` say otherwise)."""
        client = self.client(user)
        try:
            client.append(folder, raw, flags=flags, msg_time=when or datetime.now(UTC))
        finally:
            client.logout()

    def load_sandbox(self, user: str) -> int:
        """The demo mailbox (`gmail_mcp/sandbox`, dates moved to now as `install_sandbox_mailbox` does) APPENDed to
        the account: the inbox unread in INBOX, the shop's earlier answers read in Sent. Returns how many."""
        from gmail_mcp.sandbox_mailbox import install_sandbox_mailbox

        with tempfile.TemporaryDirectory() as staging:
            root = Path(staging) / "maildir"
            install_sandbox_mailbox(root)
            files: list[tuple[Path, str, tuple[bytes, ...]]] = [
                (path, "INBOX", ()) for path in (root / "new").iterdir()
            ]
            files += [(path, "Sent", (b"\\Seen",)) for path in (root / ".Sent" / "cur").iterdir()]
            files.sort(key=lambda item: item[0].stat().st_mtime)
            client = self.client(user)
            try:
                for path, folder, flags in files:
                    when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                    client.append(folder, path.read_bytes(), flags=flags, msg_time=when)
            finally:
                client.logout()
        return len(files)

    def connections(self, user: str) -> int:
        """How many IMAP connections `user` has open now (`doveadm who`)."""
        config = str(self.folder / "dovecot.conf")
        listing = subprocess.run(
            ["doveadm", "-c", config, "who", user], capture_output=True, text=True, timeout=30, check=False
        )
        for line in listing.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 1 and fields[0] == user and fields[1].isdigit():
                return int(fields[1])
        return 0

    def idling(self, user: str) -> int:
        """How many of `user`'s IMAP connections are in IDLE now, as the server sees it: each imap process names the
        command it is running in its title (`verbose_proctitle`: `dovecot/imap [user 127.0.0.1 IDLE]`). Linux only
        (/proc), like the rest of this server's tests."""
        marker = f"[{user} ".encode()
        count = 0
        for process in Path("/proc").iterdir():
            if not process.name.isdigit():
                continue
            try:
                title = (process / "cmdline").read_bytes()
            except OSError:  # it ended meanwhile
                continue
            if title.startswith(b"dovecot/imap ") and marker in title and b" IDLE]" in title:
                count += 1
        return count

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _account() -> tuple[str, int, int]:
    """The account mail processes run as: the current user, or `nobody` under root."""
    entry = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def _config(folder: Path, port: int) -> str:
    name, uid, gid = _account()
    mailboxes = "\n".join(
        f"  mailbox {box} {{\n    special_use = {use}\n    auto = subscribe\n  }}"
        for box, use in SPECIAL_FOLDERS.items()
    )
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {name}
default_internal_group = {_group(gid)}
default_login_user = {name}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{folder}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
mail_privileged_group =
mail_fsync = never
imap_idle_notify_interval = 1 secs
verbose_proctitle = yes
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = static
  args = password={PASSWORD}
  result_failure = continue-fail
}}
# A wrong password is refused at once: without `nodelay` Dovecot holds every refusal for its next check of delayed
# failures (every 0.5 s, even with auth_failure_delay = 0). This second passdb only ever runs after a wrong password:
# it accepts anything, but as a failure (result_success), and brings `nodelay` along.
passdb {{
  driver = static
  args = nopassword=y nodelay=y
  result_success = continue-fail
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    user = {name}
  }}
  unix_listener stats-writer {{
    user = {name}
  }}
}}
"""


def _group(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {process.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.settimeout(2)
            if sock.recv(200).startswith(b"* OK"):
                return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not greet on 127.0.0.1:{port} in time: {_tail(log)}")


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(encoding="utf-8", errors="replace")[-2000:]
    return "(no log)"


@contextlib.contextmanager
def dovecot_server() -> Iterator[DovecotServer]:
    """Start Dovecot in the foreground on a free loopback port; stop it and remove everything on exit."""
    binary = dovecot_binary()
    if binary is None:
        raise FileNotFoundError("the dovecot program was not found (install the dovecot-imapd package)")
    folder = Path(tempfile.mkdtemp(prefix="support-agent-dovecot-"))
    os.chmod(folder, 0o755)
    _, uid, gid = _account()
    for sub in ("run", "state", "mail", "home"):
        (folder / sub).mkdir()
    for sub in ("mail", "home", "state"):
        os.chown(folder / sub, uid, gid)
    port = _free_port()
    config = folder / "dovecot.conf"
    config.write_text(_config(folder, port), encoding="utf-8")
    log = folder / "dovecot.log"
    with open(log, "ab") as errors:
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
        )
    try:
        _wait_ready(port, process, log, time.monotonic() + 30)
        yield DovecotServer(host="127.0.0.1", port=port, folder=folder, log=log)
    finally:
        # A throw-away server whose mail store is deleted next: killed outright, with every process it started (a
        # SIGTERM made the master wait about a second for its children, at the end of every test process).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)
