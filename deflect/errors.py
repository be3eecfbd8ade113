"""Error types. Every error a user can cause is a DeflectError with a hint how to fix it."""
from __future__ import annotations


class DeflectError(Exception):
    """Base error; ``hint`` tells the user how to fix it."""

    status = 400

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(DeflectError):
    """Bad input data; names the file and line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 hint: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint)
        self.path = path
        self.line = line


class NotFoundError(DeflectError):
    """A requested object (article, topic, ...) does not exist."""

    status = 404


class IndexMissingError(DeflectError):
    """No index has been built yet."""

    status = 409


class IndexMismatchError(DeflectError):
    """The index on disk was built with another model or is unreadable."""

    status = 409


class NotCalibratedError(DeflectError):
    """An operation needs a calibration that has not been fitted."""

    status = 409
