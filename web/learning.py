"""The service's side of learning from feedback: one background refresher per process (it refits the
engine's ``learned`` boost, see deflect.feedback.learning), the client key of a request, and the
holdout arm of a widget session."""
from __future__ import annotations

import threading
import time

from flask import current_app, request

from deflect.errors import DeflectError
from deflect.feedback.learning import Refresher, client_key
from deflect.index.learned import LearningParams
from deflect.store import Store, open_store
from deflect.store.database import DatabaseErrors
from deflect.store.feedback import assign_arm

from .state import get_deflector, get_home, get_redactor, get_store

EXT = "deflect_learning"
REFRESH_EVERY_S = 60.0   # other workers' evidence is picked up this often (on the next suggest)


def refresher() -> Refresher:
    """This process's refresher (created on first use, with a first refit in the background)."""
    ext = current_app.extensions
    found = ext.get(EXT)
    if found is None:
        with ext.setdefault(EXT + "_lock", threading.Lock()):
            found = ext.get(EXT)
            if found is None:
                path, redactor = get_home().database, get_redactor()
                raise_ = int(current_app.config.get("FEEDBACK_MIN_SESSIONS") or LearningParams.min_sessions)
                # lowering never needs more sessions than raising (see deflect.index.learned)
                params = LearningParams(min_sessions=raise_,
                                        min_sessions_down=min(raise_, LearningParams.min_sessions_down))
                found = Refresher(get_deflector(), lambda: open_store(path, redactor=redactor), params)
                found.requested_at = time.monotonic()
                found.request()
                ext[EXT] = found
    return found


def schedule_refit() -> int:
    """Refit soon, in the background; returns the ticket to wait for (Refresher.wait)."""
    r = refresher()
    r.requested_at = time.monotonic()
    return r.request()


def keep_fresh() -> None:
    """Called by suggest: refit when the last one is older than REFRESH_EVERY_S (evidence stored by
    other workers); never waits."""
    r = refresher()
    if time.monotonic() - r.requested_at >= REFRESH_EVERY_S:
        schedule_refit()


def request_client(store: Store) -> str | None:
    """The hashed client address of this request (behind TRUST_PROXY proxies: the forwarded one)."""
    return client_key(store, request.remote_addr)


def widget_arm(store: Store, session: str | None) -> str:
    """"holdout" or "shown" for a widget session; every session is shown while the experiment is off,
    for requests without a session, and when the database cannot say."""
    share = float(current_app.config.get("HOLDOUT") or 0.0)
    if not session or share <= 0:
        return "shown"
    try:
        return assign_arm(store, session, share)   # stored with its time: the experiment's log
    except (*DatabaseErrors, DeflectError):
        return "shown"


def held_out(session: str | None) -> bool:
    """Whether the widget session is in the holdout experiment's control group (no suggestions, on the
    help page nor on the results page); never while the experiment is off or the database cannot say."""
    if not session or not float(current_app.config.get("HOLDOUT") or 0.0):
        return False
    try:
        store = get_store()
    except (*DatabaseErrors, DeflectError):
        return False
    return widget_arm(store, session) == "holdout"
