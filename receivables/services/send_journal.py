"""The sender's journal: an append-only file per run that says, for each message, how far its SMTP
conversation got (claimed, begun, DATA being handed over, the server's reply). Each line is written
before the next step of the conversation, so the file is complete up to the moment the process died;
the next run reads the journals of runs that are no longer alive and brings the database up to what
they say before it sends anything.

Why a file and not the database: a line is one write() into the kernel (microseconds), which survives
the death of the process; a commit (or an fsync) per step would cost more than the SMTP conversation
itself (about 1.3 ms an fdatasync on the machine measured, against about 1 ms a message). A thread of its
own fsyncs the file within SYNC_SECONDS of a write, without holding up the conversations, and once more
at the end. The file carries the boot id of the machine: after a restart of the machine (when lines not
yet on disk may be missing) only what the journal positively says is applied, and nothing is put back to
approved on the strength of a missing line.

A live run holds an exclusive lock (flock) on its file for its whole life; the kernel drops it when the
process dies, however it dies. A reader only reads files it can lock."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from db.engine import PROJECT_ROOT

try:
    import fcntl
except ImportError:  # Windows: a lock on the first byte does the same
    fcntl = None
    import msvcrt

CLAIM, BEGIN, DATA, OUTCOME = "claim", "begin", "data", "outcome"
SYNC_SECONDS = 0.05
_datasync = getattr(os, "fdatasync", os.fsync)


def _lock(fd: int) -> None:
    """An exclusive lock that the kernel drops when the process dies; OSError when another holds it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def journal_dir() -> Path:
    """Where the journals live: DEBTOR_DESK_JOURNAL, else data/send-journal beside the database."""
    return Path(os.environ.get("DEBTOR_DESK_JOURNAL") or PROJECT_ROOT / "data" / "send-journal")


def database_key(url) -> str:
    """A short name for the database a journal belongs to (its URL without the password)."""
    text = url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else str(url)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:  # not Linux: every reader then treats the journal as if the machine had restarted
        return ""


class JournalError(Exception):
    pass


class Journal:
    """The journal of one run, open and locked until `close`."""

    def __init__(self, folder: Path, key: str):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.path = folder / f"{key}-{os.getpid()}-{datetime.now().strftime('%Y%m%dT%H%M%S%f')}.jsonl"
            # made and locked under a name no reader looks at, so no reader ever sees it unlocked
            # (Windows cannot rename an open file: there a reader may meet it before its first line, and
            # leaves a file without one alone)
            making = self.path.with_suffix(".new") if fcntl is not None else self.path
            self.fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            _lock(self.fd)
            os.write(self.fd, json.dumps(["start", boot_id(), os.getpid()]).encode("utf-8") + b"\n")
            _datasync(self.fd)
            if making != self.path:
                os.rename(making, self.path)
        except OSError as exc:
            raise JournalError(f"the sender's journal cannot be written in {folder}: {exc.strerror}; "
                               "set DEBTOR_DESK_JOURNAL to a folder it may write") from exc
        self._written = threading.Event()
        self._closing = False
        self._syncer = threading.Thread(target=self._sync_soon, name="send-journal-sync", daemon=True)
        self._syncer.start()

    def _sync_soon(self) -> None:
        while True:
            self._written.wait()
            if self._closing:
                return
            self._written.clear()
            time.sleep(SYNC_SECONDS)  # lines written meanwhile go to disk with the same fdatasync
            try:
                _datasync(self.fd)
            except OSError:
                return  # closed under us: the final sync in close() covers it

    def _write(self, row: list) -> None:
        os.write(self.fd, json.dumps(row, separators=(",", ":")).encode("utf-8") + b"\n")
        self._written.set()

    def claimed(self, rows, at: datetime) -> None:
        """(message id, Message-ID, the Message-ID it had before) of messages about to be claimed;
        written before the claim is committed."""
        stamp = at.isoformat()
        os.write(self.fd, b"".join(json.dumps([CLAIM, cid, mid, before, stamp], separators=(",", ":"))
                                   .encode("utf-8") + b"\n" for cid, mid, before in rows))
        self._written.set()

    def step(self, message_id: int, what: str, at: datetime) -> None:
        """BEGIN once MAIL FROM is on its way, DATA once the DATA command is (before the message itself)."""
        self._write([what, message_id, at.isoformat()])

    def outcome(self, message_id: int, outcome: str, detail: str, reply: str, at: datetime) -> None:
        self._write([OUTCOME, message_id, at.isoformat(), outcome, detail, reply])

    def sync(self) -> None:
        _datasync(self.fd)

    def close(self, remove: bool) -> None:
        """Remove the file (everything in it is in the database) or leave it for the next run."""
        if self.fd < 0:
            return
        self._closing = True
        self._written.set()
        self._syncer.join()
        try:
            self.sync()
            if remove and fcntl is not None:
                self.path.unlink(missing_ok=True)  # under the lock, so no reader reads it half gone
        finally:
            os.close(self.fd)  # drops the lock
            self.fd = -1
        if remove and fcntl is None:  # Windows removes no open file
            self.path.unlink(missing_ok=True)


@dataclass
class Conversation:
    """What a journal says about one message, as of its latest claim."""
    message_id: int
    smtp_message_id: str
    before: str | None  # the Message-ID the message had before it was claimed
    claimed_at: datetime
    begun_at: datetime | None = None
    data_at: datetime | None = None
    outcome: str | None = None
    detail: str = ""
    reply: str = ""
    replied_at: datetime | None = None


@dataclass
class DeadRun:
    path: Path
    same_boot: bool  # the machine has not restarted since: the journal is complete
    conversations: list[Conversation]


def _parse(lines: list[bytes]) -> tuple[str | None, list[Conversation]]:
    boot, seen, order = None, {}, []
    for raw in lines:
        try:
            row = json.loads(raw)
        except ValueError:  # the last line, cut off when the machine stopped
            continue
        kind = row[0]
        if kind == "start":
            boot = row[1]
        elif kind == CLAIM:
            c = Conversation(int(row[1]), row[2], row[3], datetime.fromisoformat(row[4]))
            if c.message_id not in seen:
                order.append(c.message_id)
            seen[c.message_id] = c  # a message tried again later starts afresh
        elif row[1] in seen:
            c = seen[row[1]]
            at = datetime.fromisoformat(row[2])
            if kind == BEGIN:
                c.begun_at = at
            elif kind == DATA:
                c.data_at = at
            elif kind == OUTCOME:
                c.outcome, c.detail, c.reply, c.replied_at = row[3], row[4], row[5], at
    return boot, [seen[i] for i in order]


class dead_runs:
    """The journals of this database's runs that are no longer alive, each locked while it is read and
    applied: `for run in dead_runs(...): apply; run_done(run)`."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self._fds: dict[Path, int] = {}

    def __iter__(self):
        if not self.folder.is_dir():
            return
        me = boot_id()
        for path in sorted(self.folder.glob(f"{self.key}-*.jsonl")):
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue  # removed meanwhile by another reader
            try:
                _lock(fd)
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    raise OSError("replaced")
            except OSError:  # a live run, or a file another reader has just dealt with
                os.close(fd)
                continue
            with open(path, "rb") as fh:
                lines = fh.read().splitlines()
            boot, conversations = _parse(lines)
            if boot is None:  # not a journal of ours
                os.close(fd)
                continue
            self._fds[path] = fd
            try:
                yield DeadRun(path, bool(me) and boot == me, conversations)
            finally:
                self._release(path)

    def done(self, run: DeadRun) -> None:
        """Everything the journal said is in the database: remove it (still under its lock; applying
        it twice changes nothing, should another reader get to it)."""
        if fcntl is None:  # Windows removes no open file
            self._release(run.path)
        run.path.unlink(missing_ok=True)

    def _release(self, path: Path) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)
