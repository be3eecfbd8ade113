"""deflect's web service: the JSON API (``/api/v1``) and, when installed, the pages and the widget.

``create_app(test_config=None)`` is the app factory (flaskr style). Config keys (defaults from the
environment where noted):

- ``DEFLECT_HOME``: data folder (``$DEFLECT_HOME``, else the current directory).
- ``WIDGET_ORIGINS``: origins allowed to call the widget endpoints from a browser
  (``$DEFLECT_WIDGET_ORIGINS``, comma-separated; ``*`` allows any). Same-origin is always allowed.
- ``RATE_LIMIT``: ``{"suggest": "30/minute", "feedback": "60/minute"}`` (or one value for both;
  ``$DEFLECT_RATE_LIMIT``); 0/"off" disables. Counted per client IP and per worker process.
- ``TRUST_PROXY``: number of reverse proxies in front whose X-Forwarded-For/-Proto/-Host to trust
  (``$DEFLECT_TRUST_PROXY``, default 0 = none).
- ``MAX_CONTENT_LENGTH``: request body limit (64 KB);
  ``ARTICLE_MAX_CONTENT_LENGTH`` for article pushes (1 MB).
- ``HELP_CENTER_URL``: base URL for relative article links in agent drafts (``$DEFLECT_HELP_CENTER_URL``).
- ``DRAFT_SIGNATURE``, ``DRAFT_TICKET_MIN_SCORE`` (0.5): agent draft settings.
- ``DEFLECTOR``: an already opened Deflector (tests inject a fake); else one is opened once per process.
"""
from __future__ import annotations

import importlib.util
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import errors, limits, state
from .state import get_deflector, get_home, get_store

__all__ = ["create_app", "get_deflector", "get_home", "get_store"]


def _env_list(name: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` overrides the defaults (see the module docstring)."""
    app = Flask(__name__)
    app.config.from_mapping(
        DEFLECT_HOME=os.environ.get("DEFLECT_HOME"),
        DEFLECT_MODEL=None,
        WIDGET_ORIGINS=_env_list("DEFLECT_WIDGET_ORIGINS"),
        RATE_LIMIT=os.environ.get("DEFLECT_RATE_LIMIT") or dict(limits.DEFAULT_RATE_LIMIT),
        TRUST_PROXY=int(os.environ.get("DEFLECT_TRUST_PROXY") or 0),
        MAX_CONTENT_LENGTH=64 * 1024,
        ARTICLE_MAX_CONTENT_LENGTH=1024 * 1024,
        HELP_CENTER_URL=os.environ.get("DEFLECT_HELP_CENTER_URL"),
        DRAFT_SIGNATURE=None,
        DRAFT_TICKET_MIN_SCORE=0.5,
        DEFLECTOR=None,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    proxies = int(app.config.get("TRUST_PROXY") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    state.init_app(app)
    errors.register(app)
    limits.init_app(app)

    from . import api
    api.register(app)
    if importlib.util.find_spec("deflect.web.pages") is not None:
        from .pages import bp as pages_bp
        app.register_blueprint(pages_bp)
    return app
