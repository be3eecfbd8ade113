"""API v1 (JSON), one blueprint per audience: ``widget`` (public), ``agent`` and ``admin`` (API keys),
``tickets`` (any help desk pushing resolved tickets; API key) and ``connectors`` (signed help-desk webhooks).

Every answer has ``"ok"``; errors are ``{"ok": false, "error": "..."}`` (see web/errors.py). The OpenAPI
document at ``/api/v1/openapi.json`` describes each endpoint.
"""
from __future__ import annotations

from flask import Flask

from . import admin, agent, connectors, incidents, learning, tickets, widget


def register(app: Flask) -> None:
    for module in (widget, agent, admin, tickets, connectors, learning, incidents):
        app.register_blueprint(module.bp)
