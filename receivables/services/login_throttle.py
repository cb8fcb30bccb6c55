"""Slowing down password guessing: failed logins are counted per user name and per client (IP address);
after FREE_FAILURES in a row, each further failure locks that user name and that client for twice as long
as the last (BASE_SECONDS, 2×, 4×… up to MAX_SECONDS). While locked, a login is refused without the
password even being checked, so guessing on costs the attacker the whole wait. A success clears the
user's and the client's count. Every failure and every refusal is written to the audit log.

The counts live in the server process (one Streamlit server serves a team); a restart forgets them,
which an attacker cannot cause from outside."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 3
BASE_SECONDS = 2.0
MAX_SECONDS = 15 * 60.0
FORGET_SECONDS = 24 * 3600.0  # a count with no failure for this long starts again


@dataclass
class _Count:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_seconds: float = 0.0
    reason: str = ""


def delay_after(failures: int) -> float:
    """Seconds locked after this many failures in a row."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(MAX_SECONDS, BASE_SECONDS * 2 ** (failures - FREE_FAILURES - 1))


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()

    def _get(self, kind: str, key: str, now: float) -> _Count:
        c = self._counts.get((kind, key))
        if c is None or now - c.last > FORGET_SECONDS:
            c = self._counts[(kind, key)] = _Count(last=now)
        return c

    def check(self, username: str, client: str) -> Verdict:
        """May this client try to log in as this user now?"""
        now = self.clock()
        with self._lock:
            waits = [(self._get("user", username.lower(), now).locked_until - now, f"the user name {username}"),
                     (self._get("client", client, now).locked_until - now, "this computer")]
        wait, who = max(waits, key=lambda w: w[0])  # on a tie, the user name
        if wait > 0:
            return Verdict(False, wait, f"too many failed logins for {who}; try again in {wait:.0f} seconds")
        return Verdict(True)

    def failed(self, username: str, client: str) -> tuple[int, float]:
        """Count a failure; (failures in a row of the user name, seconds it and the client are now locked)."""
        now = self.clock()
        with self._lock:
            user = self._get("user", username.lower(), now)
            host = self._get("client", client, now)
            for c in (user, host):
                c.failures += 1
                c.last = now
                c.locked_until = max(c.locked_until, now + delay_after(c.failures))
            return user.failures, max(user.locked_until, host.locked_until) - now

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._counts.pop(("user", username.lower()), None)
            self._counts.pop(("client", client), None)


THROTTLE = LoginThrottle()  # the server's


def guard(throttle: LoginThrottle, username: str, client: str, check_password: Callable[[], bool],
          audit: Callable[[str, dict], None]) -> bool:
    """One login attempt through the throttle: refused while locked (LoginRefused), else the password is
    checked; failures and refusals are audited with `audit(action, details)`."""
    verdict = throttle.check(username, client)
    if not verdict.allowed:
        audit("login.throttled", {"user": username, "client": client, "wait_seconds": round(verdict.wait_seconds)})
        raise LoginRefused(verdict.reason)
    if check_password():
        throttle.succeeded(username, client)
        return True
    failures, locked = throttle.failed(username, client)
    audit("login.failed", {"user": username, "client": client, "failures_in_a_row": failures,
                           "locked_seconds": round(locked)})
    return False


class LoginRefused(Exception):
    pass
