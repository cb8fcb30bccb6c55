"""The one error of reading a file."""


class FileRejected(ValueError):
    """The file cannot be read as a table; the message says what to do."""
