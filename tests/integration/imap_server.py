"""A real IMAP server for the mailbox tests: Debian's dovecot started from a temporary configuration
on a free 127.0.0.1 port, plaintext login (localhost counts as secure), one passwd-file user per test,
Maildir under a temporary directory. Messages are delivered with IMAP APPEND from the standard library,
so the code under test is not what puts them there."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import skip_or_fail

ACCOUNTS = 64


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ImapAccount:
    host: str
    port: int
    user: str
    password: str

    def settings(self, **overrides) -> dict:
        values = {"host": self.host, "port": self.port, "security": "none", "user": self.user,
                  "password": self.password, "folder": "INBOX", "processed_folder": "Processed",
                  "timeout": 10}
        values.update(overrides)
        return values

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            status, data = client.append(folder, None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def flag_deleted(self, uid: str, folder: str = "INBOX") -> None:
        """What a person's mail program does on delete before it expunges."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            client.select(folder)
            status, data = client.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
            assert status == "OK", data
        finally:
            client.logout()

    def folder_uids(self, folder: str) -> list[str] | None:
        """UIDs in a folder, or None when the folder does not exist."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            status, _ = client.select(folder, readonly=True)
            if status != "OK":
                return None
            status, data = client.uid("SEARCH", None, "ALL")
            return data[0].decode().split() if data and data[0] else []
        finally:
            client.logout()


class Dovecot:
    def __init__(self, binary: str):
        self.binary = binary
        # not under pytest's tmp_path: that lives in a 0700 directory the unprivileged mail and login
        # processes cannot enter
        self.root = Path(tempfile.mkdtemp(prefix="debtor-desk-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.passwd = self.root / "passwd"
        self.log = self.root / "dovecot.log"
        self.process: subprocess.Popen | None = None

    def _users(self) -> tuple[str, str, str]:
        """(internal and login user, mail user, mail group): dovecot refuses to log in or read mail
        as root, so as root those run as nobody; otherwise everything runs as the current user."""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return "nobody", "nobody", grp.getgrgid(nobody.pw_gid).gr_name
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, grp.getgrgid(me.pw_gid).gr_name

    def start(self) -> None:
        login_user, mail_user, mail_group = self._users()
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        mail = self.root / "mail"
        if os.geteuid() == 0:
            shutil.chown(mail, mail_user, mail_group)
        # all accounts up front: dovecot notices a changed passwd-file by its mtime in whole seconds,
        # so a user added in the same second as the last login would not be found
        self._accounts = [(f"desk{n}{secrets.token_hex(3)}", secrets.token_hex(8)) for n in range(ACCOUNTS)]
        self.passwd.write_text("".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in self._accounts))
        (self.root / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
info_log_path = {self.log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {login_user}
default_login_user = {login_user}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.passwd}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.process.returncode}: {self._output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not listen on 127.0.0.1:{self.port} within 15 s: {self._output()}")

    def _output(self) -> str:
        log = self.log.read_text(errors="replace") if self.log.exists() else ""
        return log[-2000:] or "(no log)"

    def new_account(self) -> ImapAccount:
        """A user of its own with an empty mailbox, one per test."""
        user, password = self._accounts.pop()
        return ImapAccount("127.0.0.1", self.port, user, password)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def run_dovecot():
    """Generator for a module-scoped fixture: a running server, stopped afterwards."""
    binary = dovecot_binary()
    if binary is None:
        skip_or_fail("dovecot is not installed (Debian: apt-get install dovecot-imapd); "
                     "the IMAP tests need a real server")
    server = Dovecot(binary)
    try:
        server.start()
    except (RuntimeError, OSError, KeyError) as exc:
        server.stop()
        skip_or_fail(f"dovecot would not start from a temporary configuration: {exc}")
    try:
        yield server
    finally:
        server.stop()
