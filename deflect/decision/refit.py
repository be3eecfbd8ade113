"""The decision a home gets without a labelled file, and keeping it current as tickets arrive.

``calibrate_from_history`` picks what to learn from: the ticket history once it holds enough linked
and unlinked tickets, else the help center's own texts (``deflect.decision.help_center``, the cold
start). ``Refitter`` runs in the service: on a request it looks (at most every ``CHECK_SECONDS``)
whether another process saved a new calibration (taken up at once) and whether enough tickets
arrived since the automatic calibration was fitted (POST /tickets, a connector's sync, ``deflect
ingest`` + ``index``); then it refits in a background thread -- one at a time per home (a lock
file), never blocking suggest -- and hands the new calibrator to the engine. A calibration fitted
on a labelled file is never replaced automatically.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from pathlib import Path

import numpy as np

from deflect.decision.calibrator import SETTING, WRONG_COST, Calibrator
from deflect.decision.fit import calibrate_tickets, ticket_history
from deflect.decision.help_center import calibrate_help_center
from deflect.decision.lexical_choice import learn_lexical_weights
from deflect.decision.part_choice import learn_part_weights
from deflect.engine import Engine
from deflect.errors import DeflectError
from deflect.index.documents import TICKET
from deflect.store import Store, open_store
from deflect.store.database import DatabaseErrors

MIN_LINKED_TICKETS = 2      # the ticket history calibrates once it has this many linked tickets
# and this many unlinked ones far from any article: fewer teach too little about saying no (a fit on two of
# them answered off-topic questions and insults with an article); the help center's texts decide until then
MIN_UNCOVERED_TICKETS = 10
REFIT_TICKETS = 50          # new tickets since the automatic calibration that make it refit
CHECK_SECONDS = 10.0        # a service looks at most this often
AUTOMATIC = ("help center", "tickets")   # calibration sources a refit may replace
LOCK_FILE = "calibration.lock"
log = logging.getLogger("deflect.refit")


def calibrate_from_history(engine: Engine, wrong_cost: float = WRONG_COST, store: Store | None = None) -> dict:
    """Fit the decision without labels: from the ticket history when it is long enough (at least
    ``MIN_LINKED_TICKETS`` linked and ``MIN_UNCOVERED_TICKETS`` unlinked tickets far from any
    article), else from the help center's own texts. The model parts' shares per query language are
    learnt first (``deflect.decision.part_choice``), then, from the linked tickets, the word-match weights
    (``deflect.decision.lexical_choice``), and the decision is fitted with them. The help center's own
    texts teach no word-match weight (they are in the word-match index word for word), and their
    calibration judges without word-match evidence: it keeps the setting."""
    part_weights = learn_part_weights(engine, store=store)
    linked, uncovered = ticket_history(engine)
    if len(linked) >= MIN_LINKED_TICKETS and len(uncovered) >= MIN_UNCOVERED_TICKETS:
        lexical = learn_lexical_weights(engine, store=store, part_weights=part_weights[0])
        return calibrate_tickets(engine, wrong_cost, store=store, part_weights=part_weights, lexical=lexical)
    return calibrate_help_center(engine, wrong_cost, store=store, part_weights=part_weights)


class Refitter:
    """Keeps a service's engine on the current calibration of its home (see the module docstring)."""

    def __init__(self, every: int = REFIT_TICKETS, check_seconds: float = CHECK_SECONDS,
                 wrong_cost: float = WRONG_COST):
        self.every, self.check_seconds, self.wrong_cost = every, check_seconds, wrong_cost
        self._next_check = 0.0
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll(self, engine: Engine) -> None:
        """Cheap unless a check is due: takes up a calibration saved elsewhere, starts a refit when
        enough tickets arrived (or none was ever fitted). Never waits for a refit."""
        now = time.monotonic()
        if now < self._next_check or not self._guard.acquire(blocking=False):
            return
        try:
            self._next_check = now + self.check_seconds
            if self.running:
                return
            try:
                stored = engine.store.get_setting(SETTING)
            except (*DatabaseErrors, DeflectError, OSError):   # the database is unavailable: look again later
                return
            current = engine.calibrator
            if stored and (current is None or stored.get("fitted_at") != current.fitted_at_):
                engine.calibrator = Calibrator.from_dict(stored)
            if self._due(engine, stored):
                self._thread = threading.Thread(target=self._refit, args=(engine,), name="deflect-refit",
                                                daemon=True)
                self._thread.start()
        finally:
            self._guard.release()

    def _due(self, engine: Engine, stored: dict | None) -> bool:
        if engine.bundle is None or engine.bundle.n_articles < 2:
            return False
        if stored is None:
            return True
        if stored.get("source") not in AUTOMATIC:
            return False
        seen = (stored.get("report") or {}).get("tickets_indexed")
        tickets = int(np.count_nonzero(engine.bundle.kind == TICKET))
        return seen is not None and tickets - int(seen) >= self.every

    def wait(self, timeout: float | None = None) -> None:
        """Until the refit in progress (if any) is done (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _refit(self, engine: Engine) -> None:
        lock_path = Path(engine.home.path) / LOCK_FILE
        try:
            with open(lock_path, "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:   # another worker refits this home; its result is taken up by poll
                    return
                store = open_store(engine.home.database, check_same_thread=False)
                try:
                    if not self._due(engine, store.get_setting(SETTING)):   # another worker was first
                        return
                    report = calibrate_from_history(engine, self.wrong_cost, store=store)
                    self.last_error = None
                    log.info("deflect: decision refitted from %s (%s samples)", report["source"], report["samples"])
                finally:
                    store.close()
        except Exception as exc:   # a failed refit leaves the current decision answering
            self.last_error = str(exc)
            log.warning("deflect: refitting the decision failed: %s", exc)
