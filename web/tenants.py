"""Several help centers in one service: ``/t/<tenant>/...`` goes to that tenant's app.

Each tenant (a deflect home in the tenants folder, see :mod:`deflect.tenants`) gets an app of its own,
made by ``create_app`` with the tenant's home: its own store, index, calibration, keys, rate limits and
background refits, so nothing of one tenant's state is reachable through another's URLs. The app runs
under the script root ``/t/<tenant>``: its API, pages, report and widget are the single-home ones
behind that prefix (``url_for`` and the pages' scripts follow it). The embedding model is not the
apps' own: engines with the same model share the process's one (``deflect.embedder.load_embedder``).

Outside ``/t/``: ``/`` tells how help centers are reached (it names them with tenants_root=list),
``/healthz`` and ``/readyz`` speak for the process and for every tenant; any other path, and an unknown
tenant, is a 404 ``{"ok": false, "error": ...}``.
"""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request, send_from_directory
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect

from deflect.errors import SettingError
from deflect.home import Home
from deflect.settings import help_center_config
from deflect.tenants import find_tenants, unusable_note

from . import create_app, ops
from .errors import error_response
from .pages import bp as pages_bp

PREFIX = "/t/"
log = logging.getLogger("deflect.tenants")


def tenant_app(home: Home, config: dict[str, Any] | None = None, own: dict[str, Any] | None = None) -> Flask:
    """The app of one tenant: the single-home app over ``home`` (never an injected engine: an engine
    belongs to one home), with its own settings (``own``, else read from its ``deflect.env``) over the
    instance's."""
    if own is None:
        own = help_center_config(home.settings_file) if home.settings_file.is_file() else {}
    app = create_app({**(config or {}), **own, "DEFLECT_HOME": str(home.path), "DEFLECTOR": None})
    # /t/<tenant>/widget.js: the script tag of a tenant's widget, beside /t/<tenant>/static/widget.js;
    # the widget takes its style sheet from beside its script.
    for name in ("widget.js", "widget.css"):
        app.add_url_rule(f"/{name}", f"tenant_{name}", functools.partial(send_from_directory,
                                                                         pages_bp.static_folder, name))
    return app


class TenantDispatcher:
    """WSGI app: ``/t/<name>/rest`` is answered by tenant ``name``'s app as ``/rest`` under the script
    root ``/t/<name>``; everything else by the root app."""

    def __init__(self, apps: dict[str, Flask], root: Flask, homes: dict[str, Home] | None = None):
        self.apps = apps
        self.root = root
        self.homes = homes or {}
        self.stores = {name: store_identity(home) for name, home in self.homes.items()}
        self.replaced: set[str] = set()

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if not path.startswith(PREFIX):
            return self.root(environ, start_response)
        name, slash, rest = path[len(PREFIX):].partition("/")
        app = self.apps.get(name)
        home = self.homes.get(name)
        if app is None or (home is not None and not self._same_store(name, home)):
            # unknown, or its folder removed or replaced while serving (a request must neither create an
            # empty store there nor answer from the engine of the store that was there): the root's 404
            return self.root(environ, start_response)
        script_root = environ.get("SCRIPT_NAME", "") + PREFIX + name
        if not slash:   # "/t/name": the help center's page is "/t/name/"
            return redirect(script_root + "/", 308)(environ, start_response)
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = script_root, "/" + rest
        return app(environ, start_response)

    def _same_store(self, name: str, home: Home) -> bool:
        """Whether the tenant's store is still the one its app was made for. A folder moved away and a
        new help center created under the same name is another customer's: its app (engine, index, keys
        in memory) would answer with the old one's articles and tickets until the service reloads."""
        now = store_identity(home)
        if now is not None and now == self.stores.get(name):
            return True
        if now is not None and name not in self.replaced:
            self.replaced.add(name)
            log.warning("deflect: the store of help center %r was replaced while serving; it is served "
                        "again after a reload (SIGHUP) or restart", name)
        return False


def store_identity(home: Home) -> tuple[int, int] | None:
    """The store file's device and inode (None when it is gone): a new store in the same place has
    another one."""
    try:
        st = os.stat(home.db_path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def root_app(apps: dict[str, Flask], listed: bool = False, unserved: dict[str, str] | None = None) -> Flask:
    """The paths outside ``/t/``: the root page and the process's health. The help centers' names appear
    only where ``listed`` (setting tenants_root=list): on a host serving several clients, anyone could read
    who they are. ``unserved``: help centers of the folder this worker could not serve, with the reason
    (readyz names them as not ready)."""
    root = Flask(__name__)
    root.url_map.merge_slashes = False

    @root.get("/")
    def index():
        return render_template("tenants.html", tenants=sorted(apps) if listed else None, count=len(apps))

    @root.get("/healthz")
    def healthz():
        return jsonify({"ok": True, "tenants": len(apps)})

    logged: dict[str, list[str]] = {"reasons": []}

    @root.get("/readyz")
    def readyz():
        """Ready while any tenant is (its index loaded, its store answering), naming those that are not;
        503 when none is. One help center without an index yet (just created) must not take the others
        out of the load balancer; each one's own readiness is /t/<name>/readyz."""
        states, reasons = {}, [f"{name}: not served: {why}" for name, why in (unserved or {}).items()]
        for name, app in apps.items():
            with app.test_request_context("/readyz"):
                response = app.make_response(ops.readyz())
            states[name] = response.get_json()
            if response.status_code != 200:
                reasons.append(f"{name}: {states[name].get('error')}")
        down = len(reasons) - len(unserved or {})
        if reasons != logged["reasons"]:   # said once when it changes, not on every poll of a load balancer
            logged["reasons"] = reasons
            if reasons:
                log.warning("deflect: help centers not ready: %s", "; ".join(reasons))
        if reasons and not listed:
            reasons = [f"{len(reasons)} of {len(apps) + len(unserved or {})} help centers (named in the log, or here "
                       "with tenants_root=list)"]
        if down == len(apps) and (down or unserved):   # none of them answers
            return error_response("not ready: " + "; ".join(reasons), 503, headers={"Retry-After": "5"})
        return jsonify({"ok": True, "tenants": states if listed else len(states), "not_ready": reasons})

    @root.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 404 and request.path.startswith(PREFIX):
            name = request.path[len(PREFIX):].partition("/")[0]
            return error_response(f"no help center {name!r} here", 404,
                                  hint="Help centers are served under /t/<name>/.")
        return error_response(f"not found: {request.path}" if exc.code == 404 else (exc.description or exc.name),
                              exc.code or 500, hint="Help centers are served under /t/<name>/.")

    return root


def create_tenants_app(folder: str, config: dict[str, Any] | None = None) -> TenantDispatcher:
    """The service of every tenant in ``folder`` (``config``: the settings, as ``create_app`` takes them).
    A worker started while a folder with an unusable name sits there (a copy made before an upgrade)
    serves the others and logs it: failing to boot would take every help center down."""
    unusable: list[Path] = []
    homes = find_tenants(folder, unusable)
    apps, unserved = {}, {}
    # each one's own settings as `deflect serve` read them (a file broken since keeps the last good ones)
    read = (config or {}).get("TENANT_SETTINGS") or {}
    instance = {k: v for k, v in (config or {}).items() if k != "TENANT_SETTINGS"}
    for name, home in homes.items():
        try:
            apps[name] = tenant_app(home, instance, read.get(name))
        except SettingError as exc:   # added since serve read them, with a broken settings file: not served
            log.error("deflect: help center %r is not served: %s (%s)", name, exc, exc.hint)
            unserved[name] = str(exc)
    for entry in unusable:
        log.warning("deflect: %s", unusable_note(entry))
    listed = (config or {}).get("TENANTS_ROOT", "private") == "list"
    return TenantDispatcher(apps, root_app(apps, listed, unserved), homes)
