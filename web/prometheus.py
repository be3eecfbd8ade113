"""Prometheus metrics (``prometheus-client``) for GET /metrics.

Two kinds, so the figures are right however many gunicorn workers answer:

- **request latency** per endpoint (the route template, e.g. ``/api/v1/gaps/<gap_id>``, never the raw
  path), method and status: a histogram each worker observes. Under ``deflect serve`` the workers
  share them through prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a temporary
  folder per serve that ``deflect serve`` sets before the workers start);
- **figures from the store and the index on disk**, read at scrape time, the same whichever worker
  answers: inquiries by channel and decision (label values as the engine decided, whatever kinds it
  has), feedback events by kind, index size and age, age of the last gap report.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from deflect.clock import parse_time, utcnow
from deflect.errors import DeflectError
from deflect.home import Home
from deflect.index.files import read_manifest
from deflect.store import open_store
from deflect.store.database import DatabaseErrors

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_SECONDS = Histogram(
    "deflect_http_request_duration_seconds", "Time to answer an HTTP request, per route template.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    """One answered request; a method outside the usual ones counts as ``other`` (a scanner's made-up
    methods must not create a series each)."""
    REQUEST_SECONDS.labels(method if method in METHODS else "other", endpoint, str(status)).observe(seconds)


class StoreCollector:
    """Gauges and counters read from the store and the index manifest at scrape time."""

    def __init__(self, home: Home):
        self.home = home

    def collect(self) -> Iterator[Metric]:
        yield from self._index()
        database = GaugeMetricFamily("deflect_database_up", "1 when the store could be read for this scrape.")
        try:
            store = open_store(self.home.database)
        except (*DatabaseErrors, DeflectError):
            database.add_metric([], 0)
            yield database
            return
        try:
            yield from self._store(store)
            database.add_metric([], 1)
        except DatabaseErrors:
            database.add_metric([], 0)
        finally:
            store.close()
        yield database

    def _index(self) -> Iterator[Metric]:
        try:
            manifest = read_manifest(self.home.index_dir)
        except DeflectError:
            return
        size = GaugeMetricFamily("deflect_index_documents", "Documents in the index on disk, by kind.",
                                 labels=["kind"])
        for kind, count in (manifest.get("counts") or {}).items():
            if isinstance(count, int | float):
                size.add_metric([kind], count)
        yield size
        updated = parse_time(manifest.get("updated_at") or manifest.get("built_at"))
        if updated is not None:
            yield GaugeMetricFamily("deflect_index_age_seconds", "Seconds since the index on disk last changed.",
                                    value=(utcnow() - updated).total_seconds())
        built = parse_time(manifest.get("built_at"))
        if built is not None:
            yield GaugeMetricFamily("deflect_index_built_timestamp_seconds",
                                    "When the index on disk was last built in full (Unix time).",
                                    value=built.timestamp())

    def _store(self, store) -> Iterator[Metric]:
        q = store.db.execute
        # rows in the store, not counters: `privacy purge` deletes old ones (a counter that falls reads as a reset)
        inquiries = GaugeMetricFamily("deflect_inquiries_stored", "Logged inquiries kept in the store, by channel "
                                      "and decision.", labels=["channel", "decision"])
        for channel, decision, n in q("select channel, decision, count(*) from inquiries group by 1, 2"):
            inquiries.add_metric([channel or "", decision or ""], n)
        feedback = GaugeMetricFamily("deflect_feedback_stored", "Feedback events kept in the store, by kind.",
                                     labels=["event"])
        for event, n in q("select event, count(*) from feedback group by 1"):
            feedback.add_metric([event or ""], n)
        yield inquiries
        yield feedback
        row = q("select finished_at from gap_runs where state = 'done' order by id desc limit 1").fetchone()
        finished = parse_time(row[0]) if row else None
        if finished is not None:
            yield GaugeMetricFamily("deflect_gap_report_age_seconds",
                                    "Seconds since the last gap report run finished.",
                                    value=(utcnow() - finished).total_seconds())


def render(home: Home) -> bytes:
    """The text exposition: the request histograms (of every worker in multiprocess mode) and the
    store's figures."""
    if os.environ.get(MULTIPROC_ENV):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = REGISTRY
    figures = CollectorRegistry(auto_describe=False)
    figures.register(StoreCollector(home))
    return generate_latest(requests) + generate_latest(figures)
