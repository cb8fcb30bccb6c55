"""The one base of every error a person can fix: an English message with named parameters, so that a
page words it in the reader's language (the catalogue's message id is the English text) and the command
line prints it filled in: `Problem("there is no debtor {code}", code=code)`."""

from __future__ import annotations

from receivables.domain.phrases import Phrase


class Problem(ValueError):
    def __init__(self, message: str = "", /, **params) -> None:
        self.msgid = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    @property
    def phrase(self) -> Phrase:
        """The problem as a phrase, to be kept and worded later (the reason a message was held)."""
        return Phrase(self.msgid, self.params)
