"""The error every service raises for a problem the user can fix (see receivables.domain.errors)."""

from __future__ import annotations

from receivables.domain.errors import Problem


class ServiceError(Problem):
    """A problem the user can fix; the message says what to do."""
