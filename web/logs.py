"""The service's logs as JSON lines (the ``log_format`` setting ``json``); records made while answering
a request carry its method and path."""
from __future__ import annotations

import logging

from flask import Flask, has_request_context, request
from flask.logging import default_handler

from deflect.logs import JsonFormatter


class RequestJsonFormatter(JsonFormatter):
    def context(self) -> dict:
        # the full path: under /t/<name>/ it says which help center a line is about
        return {"method": request.method, "path": request.script_root + request.path} if has_request_context() else {}


def use_json(app: Flask) -> None:
    """Every record of this process as a JSON line: the handlers already there get the JSON formatter,
    and the root logger gets one on stderr if it has none (the app's records go there, not twice)."""
    formatter = RequestJsonFormatter()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    app.logger.removeHandler(default_handler)
    for name in (None, "gunicorn.error", "gunicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter)
