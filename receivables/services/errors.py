"""The error every service raises for a problem the user can fix."""

from __future__ import annotations


class ServiceError(ValueError):
    """A problem the user can fix; the message says what to do."""
