"""deflect's web service: the JSON API (``/api/v1``), the pages and the widget.

``create_app(test_config=None)`` is the app factory (flaskr style). Its config is every setting of
:mod:`deflect.settings` under its config key (``WIDGET_ORIGINS``, ``RATE_LIMIT``, ``TRUST_PROXY``, ...),
read from the ``DEFLECT_*`` environment; ``test_config`` overrides them. With ``SNAPSHOT_DIR`` the engine
serves published index snapshots and takes up new ones (web/snapshots.py). One key is not a setting:
``DEFLECTOR``, an already opened Deflector (tests inject a fake); else one is opened once per process.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from deflect import settings

from . import errors, limits, logs, ops, state
from .state import get_deflector, get_home, get_store

__all__ = ["create_app", "get_deflector", "get_home", "get_store"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app from the settings; ``test_config`` overrides them (see the module docstring)."""
    app = Flask(__name__)
    app.url_map.merge_slashes = False  # "//api/v1/x" is a 404, not a redirect to another path
    app.config.from_mapping(settings.load().flask_config(), DEFLECTOR=None)
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if app.config["LOG_FORMAT"] == "json":
        logs.use_json(app)

    proxies = int(app.config["TRUST_PROXY"] or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    state.init_app(app)
    if app.config.get("SNAPSHOT_DIR"):
        from . import snapshots
        snapshots.init_app(app)
    errors.register(app)
    limits.init_app(app)
    ops.init_app(app)

    from . import api
    api.register(app)
    from .pages import bp as pages_bp
    app.register_blueprint(pages_bp)
    return app
