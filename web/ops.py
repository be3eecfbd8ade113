"""Operator endpoints outside the API: ``/healthz`` (alive), ``/readyz`` (ready to answer) and the
Prometheus ``/metrics``; and the timing of every request for the latency histograms.

``/metrics`` is open unless the ``metrics_key`` setting is set (then it wants ``Authorization: Bearer
KEY``); docs/deploy.md shows how to keep it off the public network behind nginx.
"""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from deflect.errors import DeflectError
from deflect.store.database import DatabaseErrors

from . import prometheus
from .errors import without_paths
from .state import get_deflector, get_home, get_store

bp = Blueprint("ops", __name__)


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)


def _start_timer() -> None:
    g.deflect_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("deflect_started")
    if started is not None:
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        prometheus.observe_request(request.method, endpoint, response.status_code, time.perf_counter() - started)
    return response


@bp.get("/healthz")
def healthz():
    """Alive: the process answers; touches neither the database nor the index."""
    return jsonify({"ok": True})


@bp.get("/readyz")
def readyz():
    """Ready: the index is loaded (loading it now if this worker has not yet) and the store answers;
    else 503 with the reasons."""
    reasons = []
    body: dict = {}
    try:
        deflector = get_deflector()
        body["index"] = {"model": deflector.model, "problem": without_paths(deflector.index_problem)}
    except (DeflectError, OSError) as exc:
        reasons.append(f"index not loaded: {without_paths(str(exc))}")
    try:
        get_store().db.execute("select count(*) from articles").fetchone()
    except (*DatabaseErrors, DeflectError) as exc:
        reasons.append(f"database unreachable: {without_paths(str(exc))}")
    if reasons:
        response = jsonify({"ok": False, "error": "not ready: " + "; ".join(reasons), "reasons": reasons})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify({"ok": True, **body})


@bp.get("/metrics")
def metrics():
    key = current_app.config.get("METRICS_KEY")
    if key:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            response = jsonify({"ok": False, "error": "/metrics needs the metrics key: Authorization: Bearer KEY"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return Response(prometheus.render(get_home()), mimetype=None, content_type=prometheus.CONTENT_TYPE)
