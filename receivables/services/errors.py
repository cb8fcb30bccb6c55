"""The error every service raises for a problem the user can fix."""

from __future__ import annotations


class ServiceError(ValueError):
    """A problem the user can fix; the message says what to do. It is written as an English message
    with named parameters, `ServiceError("there is no debtor {code}", code=code)`, so that the page can
    word it in the reader's language (the catalogue's message id is the English text) and the command
    line prints it filled in."""

    def __init__(self, message: str = "", /, **params) -> None:
        self.msgid = message
        self.params = params
        super().__init__(message.format(**params) if params else message)
