"""One error shape for the API: ``{"ok": false, "error": "...", "hint"?: "..."}`` with the right status.

Bad input never becomes a 500 or a stack trace: HTTP errors (404, 405, 413, 415, 429, ...) and
:class:`deflect.errors.DeflectError` (its ``.status``) are turned into JSON under ``/api/``;
anything unexpected is logged and answered with a bare ``500 {"ok": false, "error": "internal error"}``.
"""
from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from deflect.errors import DeflectError

API_PREFIX = "/api/"


class ApiError(DeflectError):
    """A client error with an explicit HTTP status (400 unless given)."""

    def __init__(self, message: str, status: int = 400, hint: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message, hint)
        self.status = status
        self.headers = headers or {}


def error_response(message: str, status: int, hint: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body: dict = {"ok": False, "error": message}
    if hint:
        body["hint"] = hint
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX) or request.path.rstrip("/") == API_PREFIX.rstrip("/")


_MESSAGES = {
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported content type",
}


def register(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not _is_api():
            return exc
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
        status = int(getattr(exc, "status", 400) or 400)
        return error_response(exc.message, status, exc.hint, getattr(exc, "headers", None))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if not _is_api():
            return InternalServerError()
        return error_response("internal error", 500)
