"""API keys for the agent and admin endpoints.

Keys are created with ``deflect keys create --name NAME [--scope agent|admin]`` and stored as sha256
hashes. Clients send ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Scope ``agent`` may call
the agent endpoint; ``admin`` may call everything. A client that presents wrong keys is slowed down:
after ``FAILED_KEY_LIMIT`` wrong keys in a minute it gets 429 for every key, right or wrong, until the
minute has passed (so guessing stops paying off; counted in the store, so across all workers and
replicas), and each wrong key is logged with the client's address.
"""
from __future__ import annotations

import math
from functools import wraps

from flask import current_app, g, request

from deflect.store.service import verify_key

from .errors import ApiError
from .limits import SharedLimit, client_ip
from .state import get_store

SCOPE_RANK = {"agent": 1, "admin": 2}
EXT = "deflect_auth"


def _failures() -> SharedLimit | None:
    limit = int(current_app.config["FAILED_KEY_LIMIT"])
    if limit <= 0:
        return None
    if EXT not in current_app.extensions:  # one limit per app, made on first use; counted in the store
        current_app.extensions.setdefault(EXT, SharedLimit("failed_key", limit, 60.0))
    return current_app.extensions[EXT]


def _too_many(wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(f"too many wrong API keys; try again in {seconds} s", 429,
                    headers={"Retry-After": str(seconds)})


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return (request.headers.get("X-API-Key") or "").strip() or None


def require_key(scope: str = "admin"):
    """View decorator: 401 without a valid key, 403 when the key's scope is too small."""
    if scope not in SCOPE_RANK:
        raise ValueError(f"unknown scope {scope!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            key = presented_key()
            challenge = {"WWW-Authenticate": 'Bearer realm="deflect"'}
            if key is None:
                raise ApiError("API key required", 401, headers=challenge,
                               hint="Send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'; "
                                    "create one with `deflect keys create`.")
            failures, ip = _failures(), client_ip()
            wait = failures.wait(get_store(), ip) if failures else 0.0
            if wait > 0:
                raise _too_many(wait)
            record = verify_key(get_store(), key)
            if record is None:
                current_app.logger.warning("deflect: wrong API key from %s on %s", ip,
                                           request.script_root + request.path)   # /t/<name>: which help center
                wait = failures.take(get_store(), ip) if failures else 0.0
                if wait > 0:
                    raise _too_many(wait)
                raise ApiError("invalid or revoked API key", 401, headers=challenge)
            if SCOPE_RANK.get(record["scope"], 0) < SCOPE_RANK[scope]:
                raise ApiError(f"this key has scope {record['scope']!r}; this endpoint needs {scope!r}", 403)
            g.api_key = record
            return view(*args, **kwargs)

        return wrapped

    return decorator
