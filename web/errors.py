"""One error shape for the API: ``{"ok": false, "error": "...", "hint"?: "..."}`` with the right status.

Bad input never becomes a 500 or a stack trace: HTTP errors (404, 405, 413, 415, 429, ...) and the
client errors of :mod:`deflect.errors` (a ``status`` below 500) are turned into JSON under ``/api/``
with their message and hint, absolute file paths shortened to their last part; a database server that
cannot be reached (``StoreUnavailable``) and a full disk are a 503 with ``Retry-After``. Everything else (a
DeflectError not declared a client error, an OSError, a bug) is a server fault: it is logged with its
traceback under a short error id, and the client gets ``500 {"ok": false, "error": "internal error",
"id": "..."}`` and nothing of the exception's text.
"""
from __future__ import annotations

import errno
import re
import sqlite3
import uuid

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from deflect.errors import ClientError, DeflectError, StoreUnavailable

from .state import reconnect_engine_store

API_PREFIX = "/api/"
# An absolute file path (POSIX or Windows drive) not inside a URL: "/srv/data/index/vectors.faiss".
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~])(?:[A-Za-z]:[\\/]|/)(?:[^\s'\"`:,;()\[\]]+[\\/])*([^\s'\"`:,;()\[\]\\/]+)")


class ApiError(ClientError):
    """An error the service answers with as it is: its own HTTP status (400 unless given), message and
    headers (also a 501 "not available in this installation")."""

    def __init__(self, message: str, status: int = 400, hint: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message, hint)
        self.status = status
        self.headers = headers or {}


def error_response(message: str, status: int, hint: str | None = None,
                   headers: dict[str, str] | None = None, error_id: str | None = None) -> Response:
    body: dict = {"ok": False, "error": message}
    if hint:
        body["hint"] = hint
    if error_id:
        body["id"] = error_id
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def without_paths(text: str | None) -> str | None:
    """``text`` with absolute file paths shortened to ``…/<last part>``: the client learns which file,
    not where the server keeps it."""
    if not text:
        return text
    return _ABSOLUTE_PATH.sub(lambda m: f"…/{m.group(1)}", text)


def _is_api() -> bool:
    path = "/" + request.path.lstrip("/")  # "//api/v1/x" too: the URL map does not merge slashes
    return path.startswith(API_PREFIX) or path.rstrip("/") == API_PREFIX.rstrip("/")


_MESSAGES = {
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported content type",
}


def is_read_only(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc).replace(" ", "").lower()


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk: SQLite's "database or disk is full", PostgreSQL's
    disk_full (53100), an OSError of no space or quota."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, sqlite3.OperationalError) and "is full" in str(exc):
            return True
        if getattr(exc, "sqlstate", None) == "53100" or (isinstance(exc, OSError)
                                                          and exc.errno in (errno.ENOSPC, errno.EDQUOT)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


DISK_FULL = ("the server's disk is full: this change was not stored",
             "Retry later; the operator has to free space on the disk of deflect's home or database.")


ERROR_PAGE = "deflect.error_page"


def _page(exc: HTTPException, error_id: str | None = None):
    """A help page's error as a page of the help center (web.pages.error_page); the staff pages and
    redirects as they are."""
    if (exc.code or 500) < 400 or request.path.startswith(("/agent", "/report")):
        return exc
    error_page = current_app.extensions.get(ERROR_PAGE)   # web.pages registers it with its blueprint
    if error_page is None:
        return exc
    try:
        body, status = error_page(exc.code or 500, error_id)
    except Exception:   # the page itself failing must not hide the error
        return exc
    given = dict(exc.get_headers())
    return body, status, {k: given[k] for k in ("Allow", "Retry-After") if k in given}


def register(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not _is_api():
            return _page(exc)
        status = exc.code or 500
        given = dict(exc.get_headers())
        headers = {k: given[k] for k in ("Allow", "Retry-After", "WWW-Authenticate") if k in given}
        message = _MESSAGES.get(status) or (exc.description or exc.name).strip()
        if status == 404:
            message = f"not found: {request.path}"
        elif status == 405:
            message = f"method {request.method} not allowed for {request.path}"
        elif status == 413:
            limit = request.max_content_length
            message = f"request body too large (limit {limit} bytes)" if limit else message
        return error_response(message, status, headers=headers)

    @app.errorhandler(DeflectError)
    def deflect_error(exc: DeflectError):
        if isinstance(exc, ApiError):  # written by the service for the client, whatever its status
            return error_response(exc.message, exc.status, exc.hint, exc.headers)
        if isinstance(exc, StoreUnavailable):   # the database is restarting: the client retries, no fault
            app.logger.warning("deflect: %s (%s %s)", exc.message, request.method, request.script_root + request.path)
            return error_response("the database is not available right now", exc.status, exc.hint,
                                  {"Retry-After": str(exc.retry_after)})
        status = int(exc.status)
        if status >= 500:
            return server_fault(exc)
        return error_response(without_paths(exc.message), status, without_paths(exc.hint))

    @app.errorhandler(Exception)
    def server_fault(exc: Exception):
        if is_disk_full(exc):   # the client may retry; the operator must act (said in the log, once per request)
            app.logger.error("deflect: disk full on %s %s: %s", request.method, request.script_root + request.path, exc)
            if _is_api():
                return error_response(DISK_FULL[0], 503, DISK_FULL[1], {"Retry-After": "60"})
        if is_read_only(exc):
            reconnect_engine_store()  # the next request works once the database is writable again
        error_id = uuid.uuid4().hex[:12]
        app.logger.error("internal error %s on %s %s", error_id, request.method, request.script_root + request.path,
                         exc_info=exc)
        if not _is_api():
            return _page(InternalServerError(f"Internal error (id {error_id})."), error_id)
        return error_response("internal error", 500, error_id=error_id)
