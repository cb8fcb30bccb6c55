"""The one error of reading a file."""

from receivables.domain.errors import Problem


class FileRejected(Problem):
    """The file cannot be read as a table; the message says what to do."""
