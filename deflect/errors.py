"""Error types. Every error a user can cause is a ClientError (HTTP 4xx) with a hint how to fix it;
any other DeflectError is the server's fault (HTTP 500: the service logs it, the client gets an id)."""
from __future__ import annotations


class DeflectError(Exception):
    """Base error; ``hint`` tells how to fix it. Not declared a client error, it is a server fault."""

    status = 500

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SettingError(DeflectError):
    """A setting (environment variable or option) has a value that cannot be used."""


class ClientError(DeflectError):
    """The request or the given data is at fault: its message and hint are meant for the client."""

    status = 400


class InputError(ClientError):
    """Bad input data; names the file and line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 hint: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint)
        self.detail = message   # without the file and line
        self.path = path
        self.line = line


class NotFoundError(ClientError):
    """A requested object (article, topic, ...) does not exist."""

    status = 404


class ConflictError(ClientError):
    """The stored data is not in a state that allows the request (yet)."""

    status = 409


class IndexMissingError(ConflictError):
    """No index has been built yet."""


class IndexMismatchError(ConflictError):
    """The index on disk was built with another model or is unreadable."""


class NotCalibratedError(ConflictError):
    """An operation needs a calibration that has not been fitted."""


class StoreUnavailable(ClientError):
    """The database server cannot be reached right now (restarting, network); the client may retry."""

    status = 503

    def __init__(self, message: str, hint: str | None = None, retry_after: int = 5):
        super().__init__(message, hint or f"Try again in {retry_after} seconds.")
        self.retry_after = retry_after
