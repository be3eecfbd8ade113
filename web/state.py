"""Process and request state: the Deflector is loaded once per process (lazily, thread-safe) and kept
in ``app.extensions["deflect"]``; a Store (SQLite connection) is opened per request on ``g`` and
closed on teardown (flaskr style), so threads never share a connection (on PostgreSQL it comes from
the process's pool)."""
from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app, g

from deflect.engine import Engine
from deflect.home import Home
from deflect.privacy import Redactor, default_redactor
from deflect.store import Store, open_store
from deflect.store.database import DatabaseErrors

EXT = "deflect"


def _redactor(app: Flask) -> Redactor:
    """The redactor of the app's settings (allow-list, the team's number formats), else the process's."""
    allow, patterns = app.config.get("PRIVACY_ALLOW"), app.config.get("PRIVACY_PATTERNS")
    if not allow and not patterns:
        return default_redactor()
    return Redactor(allow or (), patterns=patterns or ())


def init_app(app: Flask) -> None:
    app.extensions[EXT] = {
        "deflector": app.config.get("DEFLECTOR"),
        "open_engine": None,   # a function opening the engine another way (web.snapshots), else Deflector.open
        "load_lock": threading.Lock(),
        "write_lock": threading.Lock(),   # serialises index mutations (PUT/DELETE articles) per process
        "refitter": None,   # deflect.decision.refit.Refitter, made on first use (its imports are heavy)
        "redactor": _redactor(app),
    }
    app.teardown_appcontext(close_store)


def _state() -> dict[str, Any]:
    return current_app.extensions[EXT]


def get_home() -> Home:
    """The data folder: the loaded deflector's, else the config's ``DEFLECT_HOME`` (the ``home`` setting)."""
    deflector = _state()["deflector"]
    if deflector is not None:
        return deflector.home
    return Home.resolve(current_app.config.get("DEFLECT_HOME"), current_app.config.get("DATABASE_URL"))


def get_deflector() -> Engine:
    """The process's Deflector, opened on first use (index and model load once per worker)."""
    state = _state()
    deflector = state["deflector"]
    if deflector is None:
        with state["load_lock"]:
            deflector = state["deflector"]
            if deflector is None:
                if state["open_engine"] is not None:   # serving snapshots: web.snapshots opens it
                    deflector = state["open_engine"]()
                else:
                    from deflect.deflector import Deflector  # heavy imports (torch) only when needed
                    home = Home.resolve(current_app.config.get("DEFLECT_HOME"), current_app.config.get("DATABASE_URL"))
                    deflector = configure(Deflector.open(home, model=current_app.config.get("DEFLECT_MODEL")))
                state["deflector"] = deflector
    return deflector


def loaded_deflector() -> Engine | None:
    """The process's engine if it is loaded already (None before the first request loads it)."""
    return _state()["deflector"]


def configure(deflector: Engine) -> Engine:
    """Apply this app's settings to a freshly opened engine (redaction, suggest floor, batch wait)."""
    deflector.store.redactor = get_redactor()
    if (floor := current_app.config.get("SUGGEST_FLOOR")) is not None:
        deflector.suggest_floor = floor
    for name in ("suggest_batcher", "embed_batcher"):   # engines without micro-batching have none
        if (batcher := getattr(deflector, name, None)) is not None:
            batcher.max_wait = float(current_app.config.get("EMBED_BATCH_WAIT_MS") or 0) / 1000
    return deflector


def set_deflector(deflector: Engine) -> None:
    """Serve ``deflector`` from now on (a new snapshot): requests that began keep the one they have."""
    _state()["deflector"] = deflector


def get_refitter():
    """The process's ``Refitter``: keeps the engine on its home's current calibration and refits the
    automatic one in the background as tickets arrive."""
    state = _state()
    if state["refitter"] is None:
        with state["load_lock"]:
            if state["refitter"] is None:
                from deflect.decision.refit import Refitter
                state["refitter"] = Refitter()
    return state["refitter"]


def reconnect_engine_store() -> None:
    """Open the loaded engine's database connection again (see Store.reconnect); requests open their
    own store anyway."""
    deflector = _state()["deflector"]
    if deflector is not None:
        try:
            deflector.store.reconnect()
        except DatabaseErrors:
            current_app.logger.warning("deflect: the database cannot be opened yet; trying again on the next fault")


def get_redactor() -> Redactor:
    """The redactor with this app's allow-list (the ``privacy_allow`` setting)."""
    return _state()["redactor"]


def write_lock() -> threading.Lock:
    return _state()["write_lock"]


def get_store() -> Store:
    """This request's Store (opened on first use, closed at teardown)."""
    if "deflect_store" not in g:
        g.deflect_store = open_store(get_home().database, redactor=get_redactor())
    return g.deflect_store


def close_store(exc: BaseException | None = None) -> None:
    store = g.pop("deflect_store", None)
    if store is not None:
        store.close()
