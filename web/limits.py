"""Limits on the public API: per-client rate limits, CORS for the widget origins, body and field limits.

Rate limits count hits per client in fixed windows (30/minute: at most 30 hits in each calendar
minute) **in the store**, so every worker and every replica sharing the database counts together
(``deflect.store.rate_limits``). Clients are told apart by IP address; ``X-Forwarded-For`` is only
trusted with ``TRUST_PROXY`` = number of proxies in front.

CORS: the widget endpoints answer browsers from ``WIDGET_ORIGINS`` (the ``widget_origins`` setting;
``*`` allows any) and always from the service's own origin.
A disallowed origin gets no CORS headers, and its preflight a 403.
"""
from __future__ import annotations

import json
import math
import re
import time
from functools import wraps
from typing import Any

from flask import Flask, current_app, request

from deflect.errors import DeflectError
from deflect.settings import DEFAULT_RATE_LIMIT, parse_rate
from deflect.store import Store
from deflect.store.database import DatabaseErrors
from deflect.store.rate_limits import count_hit, hits
from deflect.store.rate_limits import prune as prune_windows
from deflect.text import CONTROL_CLASS, INVISIBLE_CLASS, SPACE

from .errors import ApiError, error_response
from .state import get_store

EXT = "deflect_limits"
MAX_URL = 4096              # characters of path and query string
# Endpoints a browser on a widget origin may call.
CORS_ENDPOINTS = {"widget.suggest", "widget.feedback", "widget.openapi", "incidents.notices",
                  "incidents.match_notice"}


class SharedLimit:
    """``capacity`` hits per client in each fixed window of ``per`` seconds, counted in the store
    (``deflect.store.rate_limits``) so that all workers and replicas on one database count together.

    When the database cannot count (locked past its timeout, down) the request is let through and the
    fault logged: a rate limit must not turn a database hiccup into refused customers."""

    PRUNE_EVERY = 60.0   # seconds between two deletions of ended windows, per process and limit

    def __init__(self, name: str, capacity: int, per: float, clock=time.time):
        self.name, self.capacity, self.per, self.clock = name, int(capacity), max(1, int(per)), clock
        self._next_prune = 0.0

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        start = int(now // self.per) * self.per
        return start, start + self.per - now

    def take(self, store: Store, key: str) -> float:
        """Count a hit; 0 if allowed, else the seconds until the window ends."""
        start, left = self._window()
        try:
            count = count_hit(store, self.name, key, start)
            self._prune(store, start)
        except (*DatabaseErrors, DeflectError) as exc:
            current_app.logger.warning("deflect: rate limit %s not counted (%s); request let through", self.name, exc)
            return 0.0
        return 0.0 if count <= self.capacity else left

    def wait(self, store: Store, key: str) -> float:
        """Seconds until ``key`` may hit again (0 if it may now), without counting a hit."""
        start, left = self._window()
        try:
            count = hits(store, self.name, key, start)
        except (*DatabaseErrors, DeflectError) as exc:
            current_app.logger.warning("deflect: rate limit %s not read (%s); request let through", self.name, exc)
            return 0.0
        return 0.0 if count < self.capacity else left

    def _prune(self, store: Store, current: int) -> None:
        now = time.monotonic()
        if now >= self._next_prune:
            self._next_prune = now + self.PRUNE_EVERY
            prune_windows(store, current - self.per)


def _rate_config(app: Flask) -> dict[str, Any]:
    configured = app.config["RATE_LIMIT"]
    if isinstance(configured, dict):
        return {**DEFAULT_RATE_LIMIT, **configured}
    return {name: configured for name in DEFAULT_RATE_LIMIT}


def _origins(app: Flask) -> set[str]:
    value = app.config.get("WIDGET_ORIGINS") or []
    if isinstance(value, str):
        value = value.split(",")
    return {o.strip().rstrip("/").lower() for o in value if o and o.strip()}


def init_app(app: Flask) -> None:
    limits = {}
    for name, value in _rate_config(app).items():
        rate = parse_rate(value)
        if rate:
            limits[name] = SharedLimit(name, *rate)
    app.extensions[EXT] = {"limits": limits, "origins": _origins(app)}
    app.before_request(_request_line)
    app.before_request(_preflight)
    app.after_request(_cors_headers)
    app.after_request(_page_headers)


# The pages are nobody's frame (the report page acts with the admin key a browser keeps: a framing site
# could trick clicks on it), run only this service's own scripts (no page has an inline one), and their
# addresses, which carry what customers searched, go to no other site.
PAGE_HEADERS = {"X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-ancestors 'none'; script-src 'self'; object-src 'none'; "
                                           "base-uri 'self'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
# Answers that hold what customers wrote (the results page, the API) stay out of every cache: a shared
# computer's browser would keep them.
PRIVATE_PREFIXES = ("/search", "/api/")


def _page_headers(response):
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(PRIVATE_PREFIXES) and request.path != "/api/v1/openapi.json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def without_controls(text: str) -> str:
    """``text`` without control characters (NUL and the like: nobody types them)."""
    return _CONTROL.sub("", text)


def cross_site(embedded_only: bool = False) -> bool:
    """Whether the browser says another site made this request (a form on a foreign page); with
    ``embedded_only`` only where it is no page the visitor opens (an image, a script, a frame): a widget on
    a team's own site opens the results page here, a foreign page's image makes its visitors ask unseen."""
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        return False
    return not embedded_only or request.headers.get("Sec-Fetch-Dest", "document") != "document"


def client_ip() -> str:
    """The client's address (``ProxyFix`` has applied X-Forwarded-For when TRUST_PROXY is set)."""
    return request.remote_addr or "unknown"


def over_limit(name: str) -> int:
    """Count a hit of this client on limit ``name``: 0 when it may go on, else the seconds to wait. While
    the database is unavailable nothing is counted and every request goes on: suggestions keep coming
    from memory, their inquiries wait in the spool."""
    limit = current_app.extensions[EXT]["limits"].get(name)
    if limit is None:
        return 0
    try:
        store = get_store()
    except (*DatabaseErrors, DeflectError) as exc:
        current_app.logger.warning("deflect: rate limit %s not counted (%s); request let through", name, exc)
        return 0
    wait = limit.take(store, client_ip())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def rate_limit(name: str):
    """View decorator: count a hit of this client on limit ``name``, or answer 429."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if seconds := over_limit(name):
                raise ApiError(f"too many requests; try again in {seconds} s", 429,
                               headers={"Retry-After": str(seconds)})
            return view(*args, **kwargs)

        return wrapped

    return decorator


# -- CORS -------------------------------------------------------------------------------------
def origin_allowed(origin: str) -> bool:
    origin = origin.strip().rstrip("/").lower()
    if origin == request.host_url.rstrip("/").lower():
        return True
    allowed = current_app.extensions[EXT]["origins"]
    return "*" in allowed or origin in allowed


def _request_line():
    """Under /api/: a URL too long for the service is a JSON 414 (gunicorn itself refuses request
    lines over its ``limit_request_line``, which `deflect serve` sets above MAX_URL)."""
    if len(request.full_path) > MAX_URL and request.path.startswith("/api/"):
        return error_response(f"URL too long (at most {MAX_URL} characters)", 414)
    return None


def _preflight():
    if request.method != "OPTIONS" or not request.path.startswith("/api/"):
        return None
    if "Access-Control-Request-Method" not in request.headers:  # a plain OPTIONS: which methods there are
        if request.url_rule is None:
            return None  # the 404 handler answers
        # The methods of this resource: every rule written like the one that matched.
        pattern = request.url_rule.rule
        methods = sorted({m for r in current_app.url_map.iter_rules() if r.rule == pattern
                          for m in r.methods or ()} - {"HEAD", "OPTIONS"})
        response = current_app.make_response(({"ok": True, "methods": methods}, 200))
        response.headers["Allow"] = ", ".join(methods)
        return response
    origin = request.headers.get("Origin", "")
    wanted = request.headers["Access-Control-Request-Method"].upper()
    rule = request.url_rule
    if request.endpoint not in CORS_ENDPOINTS or rule is None or not origin or not origin_allowed(origin):
        return error_response("cross-origin request not allowed from this origin", 403)
    if wanted not in (rule.methods or set()):
        return error_response(f"method {wanted} not allowed for {request.path}", 403)
    methods = sorted((rule.methods or set()) - {"HEAD"})
    response = current_app.make_response(("", 204))
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
    return response


def _cors_headers(response):
    if request.endpoint in CORS_ENDPOINTS:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin and "Access-Control-Allow-Origin" not in response.headers and origin_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


# -- body and field limits ------------------------------------------------------------------------
def json_body(max_bytes: int | None = None) -> dict:
    """The request's JSON object; 415 for another content type, 400 for bad JSON, 413 when too big."""
    if max_bytes is not None:
        request.max_content_length = max_bytes
    if request.mimetype != "application/json":
        raise ApiError(f"expected Content-Type: application/json, got {request.mimetype or 'none'!r}", 415)
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    # a chunked body has no Content-Length to refuse it by: it is read up to the limit and cut there
    if limit is not None and request.content_length is None and len(raw) >= limit:
        raise ApiError(f"request body too large (limit {limit} bytes)", 413)
    if not raw.strip():
        raise ApiError("request body is empty; send a JSON object")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ApiError("request body is nested too deeply") from None
    except ValueError:  # also bodies that are not UTF-8
        raise ApiError("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object")
    return data


_CONTROL = re.compile(f"[{CONTROL_CLASS}]")
_INVISIBLE = re.compile(f"[{INVISIBLE_CLASS}]")


def _check_unicode(name: str, value: str) -> None:
    """JSON can carry lone UTF-16 surrogates (``"\\ud800"``) and control characters (NUL); no tokenizer or
    database can take the one, PostgreSQL not the other, and nobody types either."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(f"'{name}' contains invalid Unicode (a lone surrogate)") from None
    if (bad := _CONTROL.search(value)) is not None:
        raise ApiError(f"'{name}' contains a control character (U+{ord(bad.group()):04X})")




def text_field(data: dict, name: str, *, required: bool = False, min_len: int = 1, max_len: int = 1000,
               choices: tuple[str, ...] | None = None) -> str | None:
    """A string field, trimmed (None when absent, null or blank and not required), checked for type,
    length (``max_len`` characters as sent, at least ``min_len`` that are not spaces) and choices."""
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(f"missing field '{name}'")
        return None
    if not isinstance(value, str):
        raise ApiError(f"'{name}' must be a string")
    _check_unicode(name, value)
    if choices is not None:
        if value not in choices:
            raise ApiError(f"'{name}' must be one of: " + ", ".join(choices))
        return value
    if len(value) > max_len:
        raise ApiError(f"'{name}' is too long (at most {max_len} characters)")
    value = value.strip(SPACE)
    if not value:
        if required:
            raise ApiError(f"'{name}' is empty")
        return None
    if visible_chars(value) < min_len:
        raise ApiError(f"'{name}' is too short (at least {min_len} characters besides spaces)")
    return value


def language_field(data: dict, name: str = "language") -> str | None:
    """An inquiry's language as the caller gives it: any ISO 639-1 code (None when absent or empty: detected)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ApiError(f"'{name}' must be an ISO 639-1 code such as 'de' or 'en'")
    return value.lower()


def visible_chars(text: str) -> int:
    """Characters of ``text`` that are not spaces nor invisible (zero-width spaces, marks of direction)."""
    return sum(ch not in SPACE for ch in _INVISIBLE.sub("", text))


def list_field(data: dict, name: str, *, max_items: int = 50, max_len: int = 500) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(f"'{name}' must be a list of strings")
    if len(value) > max_items:
        raise ApiError(f"'{name}' has too many items (at most {max_items})")
    for item in value:
        _check_unicode(name, item)
    if any(len(v) > max_len for v in value):
        raise ApiError(f"each item of '{name}' must be at most {max_len} characters")
    return [v.strip() for v in value if v.strip()]


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """An integer query-string argument within [lo, hi] (absent: ``default``; empty is not an integer)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(f"'{name}' must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(f"'{name}' must be between {lo} and {hi}")
    return value
