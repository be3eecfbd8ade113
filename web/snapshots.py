"""Serving from published index snapshots (``DEFLECT_SNAPSHOT_DIR`` / ``deflect serve --snapshots DIR``).

Each process serves the snapshot that ``DIR/CURRENT`` names (``deflect.index.snapshots``). A daemon
thread per process looks at the pointer every ``SNAPSHOT_CHECK_INTERVAL`` seconds, never on a
request's path; when it names a new version the thread checks the files (sizes and checksums), loads
the index with the model already in memory, answers a smoke query, and only then swaps the engine
reference: requests that started keep the engine they have, the next ones get the new one. A
snapshot that fails any step is not served: the old one keeps answering, the failure is logged,
counted (``failed_loads`` in /api/v1/health, ``deflect_snapshot_failed_loads_total`` in /metrics)
and that version is not tried again until the pointer moves. The engines replaced are closed a
minute later, when no request can still be using them.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask, current_app
from prometheus_client import Counter, Gauge

from deflect.engine import Engine
from deflect.errors import DeflectError, IndexMissingError
from deflect.home import Home
from deflect.index.snapshots import (
    CALIBRATION,
    PUBLISH_HINT,
    SnapshotHome,
    current_version,
    read_document,
    verify_snapshot,
    versions,
)

from .state import configure, set_deflector

EXT = "deflect_snapshots"
LEARNING_EXT = "deflect_learning"   # web.learning's refresher, which holds the engine it refits
SMOKE_QUERY = "Wie kann ich mein Passwort ändern? How do I change my password?"
RETIRE_AFTER_S = 60.0
log = logging.getLogger("deflect.snapshots")

FAILED_LOADS = Counter("deflect_snapshot_failed_loads", "Published index snapshots that could not be loaded "
                       "(the previous one kept answering).")
LOADED = Gauge("deflect_snapshot_loaded", "1 for the index snapshot version each worker serves.", ["version"],
               multiprocess_mode="liveall")


class SnapshotWatcher:
    """The snapshot state of one app in one process (see the module docstring)."""

    def __init__(self, app: Flask, root: Path, interval: float):
        self.app, self.root, self.interval = app, Path(root), interval
        self.version: str | None = None
        self.failed_loads = 0
        self.last_error: str | None = None
        self.failed_version: str | None = None
        self._retired: list[tuple[Engine, float]] = []
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Start this process's checking thread (again in a forked child, where threads do not live on)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stop.clear()
        threading.Thread(target=self._run, name="deflect-snapshots", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:   # the thread must outlive any surprise; the old engine keeps answering
                log.exception("deflect: checking for a new index snapshot failed")

    def check(self) -> bool:
        """Load and serve the version the pointer names if it is new and sound; True if swapped."""
        with self._lock, self.app.app_context():
            self._close_retired()
            try:
                version = current_version(self.root)
            except DeflectError as exc:
                self._failed(None, exc)
                return False
            if version is None or version in (self.version, self.failed_version):
                return False
            previous = current_app.extensions["deflect"]["deflector"]
            try:
                engine = load_snapshot(self.root, version, previous)
            except Exception as exc:   # any fault of a new snapshot leaves the old one serving
                self._failed(version, exc)
                return False
            self._swap(engine, version, previous)
            return True

    def _failed(self, version: str | None, exc: BaseException) -> None:
        self.failed_loads += 1
        FAILED_LOADS.inc()
        self.failed_version = version
        self.last_error = f"snapshot {version or '(pointer)'} not loaded: {exc}"
        log.error("deflect: %s; still serving snapshot %s", self.last_error, self.version)

    def _swap(self, engine: Engine, version: str, previous: Engine | None) -> None:
        if previous is not None and getattr(previous, "learned", None) is not None \
                and previous.embedder.name == engine.embedder.name:
            engine.learned = previous.learned   # until the refit below has run on the new index
        set_deflector(engine)
        refresher = current_app.extensions.get(LEARNING_EXT)
        if refresher is not None:
            refresher.engine = engine
            refresher.request()
        if self.version is not None:
            LOADED.labels(self.version).set(0)
        LOADED.labels(version).set(1)
        log.info("deflect: now serving index snapshot %s (was %s)", version, self.version)
        self.version, self.failed_version, self.last_error = version, None, None
        if previous is not None:
            self._retired.append((previous, time.monotonic()))

    def _close_retired(self) -> None:
        now = time.monotonic()
        for engine, since in list(self._retired):
            if now - since >= RETIRE_AFTER_S:
                self._retired.remove((engine, since))
                engine.close()

    def info(self) -> dict:
        """What /api/v1/health shows: the version this process serves, the published one, failures."""
        try:
            published = current_version(self.root)
        except DeflectError:
            published = None
        return {"version": self.version, "published": published, "failed_loads": self.failed_loads,
                "last_error": self.last_error}


def snapshot_home(path: Path) -> SnapshotHome:
    """The app's home (its store: the SQLite file or the database URL) with the index of snapshot ``path``."""
    base = Home.resolve(current_app.config.get("DEFLECT_HOME"), current_app.config.get("DATABASE_URL"))
    return SnapshotHome(base.path, base.database_url, snapshot=path)


def load_snapshot(root: Path, version: str, previous: Engine | None = None) -> Engine:
    """An engine on snapshot ``version``, checked in full and answering a smoke query; it reuses the
    model of ``previous`` when the snapshot was built with the same one."""
    from deflect.decision.calibrator import Calibrator
    from deflect.deflector import Deflector  # heavy imports (torch) only when an engine is opened

    path = Path(root) / version
    verify_snapshot(path)
    engine = Deflector.open(snapshot_home(path), model=current_app.config.get("DEFLECT_MODEL"),
                            embedder=getattr(previous, "embedder", None))
    try:
        engine.saves_index = False
        calibration = read_document(path, CALIBRATION)
        if calibration:
            engine.calibrator = Calibrator.from_dict(calibration)
        configure(engine)
        engine.suggest(SMOKE_QUERY, k=1)
    except BaseException:
        engine.close()
        raise
    return engine


def init_app(app: Flask) -> None:
    """Serve the snapshots of ``SNAPSHOT_DIR``: the process's engine is opened from the current one."""
    app.extensions["deflect"]["open_engine"] = open_snapshot_engine


def watcher(app: Flask | None = None) -> SnapshotWatcher:
    """The app's watcher (made on first use)."""
    app = app or current_app._get_current_object()
    found = app.extensions.get(EXT)
    if found is None:
        found = app.extensions.setdefault(EXT, SnapshotWatcher(app, Path(app.config["SNAPSHOT_DIR"]),
                                                               float(app.config["SNAPSHOT_CHECK_INTERVAL"])))
    return found


def open_snapshot_engine() -> Engine:
    """The first engine of this process: the current snapshot, else (broken) the newest older one that
    loads; then the checking thread starts."""
    w = watcher()
    current = current_version(w.root)
    if current is None:
        raise IndexMissingError(f"no index snapshot published in {w.root}", hint=PUBLISH_HINT)
    candidates = [current] + [v for v in reversed(versions(w.root)) if v < current]
    first_error: BaseException | None = None
    for version in candidates:
        try:
            engine = load_snapshot(w.root, version)
        except Exception as exc:
            w._failed(version, exc)
            first_error = first_error or exc
            continue
        w.version = version
        w.failed_version = current if version != current else None
        LOADED.labels(version).set(1)
        w.start()
        return engine
    assert first_error is not None
    raise first_error


def snapshot_info() -> dict | None:
    """The snapshot state for /api/v1/health (None when the service does not serve snapshots)."""
    found = current_app.extensions.get(EXT)
    return found.info() if found is not None else None
