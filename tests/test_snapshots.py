"""Several replicas: published index snapshots taken up by running apps without a restart (a broken
one leaves the old one serving), and rate limits counted together by apps sharing one store."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_support import make_app

from deflect.decision.calibrator import SETTING
from deflect.errors import IndexMismatchError
from deflect.formats import Article
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index.snapshots import (
    CALIBRATION,
    POINTER,
    current_version,
    publish,
    read_document,
    verify_snapshot,
    versions,
)
from deflect.store import open_store

NEW_ARTICLE = Article(id="hund-mitnehmen", title="Darf ich meinen Hund in die Redaktion mitbringen?",
                      body="Hunde sind bei Besuchen in der Redaktion willkommen, solange sie angeleint sind.",
                      language="de", questions=["Hund in die Redaktion mitbringen"])


def _publish(home: Path, root: Path, keep: int = 3) -> str:
    store = open_store(Home(home).db_path)
    try:
        return publish(Home(home).index_dir, root, {CALIBRATION: store.get_setting(SETTING)}, keep=keep)
    finally:
        store.close()


def test_publish_writes_checked_versions_behind_an_atomic_pointer(demo_home, tmp_path):
    root = tmp_path / "snapshots"
    first = _publish(demo_home, root, keep=2)
    assert current_version(root) == first and (root / POINTER).read_text().strip() == first
    record = verify_snapshot(root / first)
    assert record["model"] and record["counts"]["articles"] == 54
    assert read_document(root / first, CALIBRATION)["fitted_at"]
    second, third = _publish(demo_home, root, keep=2), _publish(demo_home, root, keep=2)
    assert first < second < third and versions(root) == [second, third] and current_version(root) == third
    assert not list(root.glob("*.tmp"))
    vectors = next((root / third).glob("vectors-*.faiss"))
    vectors.write_bytes(vectors.read_bytes()[:-10])
    with pytest.raises(IndexMismatchError, match="damaged"):
        verify_snapshot(root / third)


def _snapshot_app(tmp_path: Path, home: Path, root: Path, interval: float = 3600.0):
    from deflect.web import create_app
    return create_app({"TESTING": True, "DEFLECT_HOME": str(home), "SNAPSHOT_DIR": str(root),
                       "SNAPSHOT_CHECK_INTERVAL": interval, "RATE_LIMIT": 0, "WIDGET_ORIGINS": []})


def _health(client) -> dict:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    return r.get_json()["snapshot"]


def _first_article(client, text: str) -> str | None:
    r = client.post("/api/v1/suggest", json={"text": text})
    assert r.status_code == 200
    articles = r.get_json()["articles"]
    return articles[0]["id"] if articles else None


def test_two_apps_take_up_a_new_snapshot_and_keep_the_old_one_when_broken(demo_home, tmp_path):
    from deflect.web.snapshots import watcher
    from deflect.web.state import get_deflector

    root = tmp_path / "snapshots"
    first = _publish(demo_home, root)
    checked_by_hand = _snapshot_app(tmp_path, demo_home, root)
    in_background = _snapshot_app(tmp_path, demo_home, root, interval=0.3)
    a, b = checked_by_hand.test_client(), in_background.test_client()
    question = "Darf mein Hund mit in die Redaktion?"
    assert _health(a)["version"] == first and _health(b)["version"] == first
    assert _first_article(a, question) != NEW_ARTICLE.id

    # the builder adds an article, indexes and publishes
    store = open_store(Home(demo_home).db_path)
    store.upsert_articles([NEW_ARTICLE])
    with checked_by_hand.app_context():
        indexer.build(store, get_deflector().embedder, Home(demo_home).index_dir)
    store.close()
    second = _publish(demo_home, root)
    assert watcher(checked_by_hand).check() is True
    assert _health(a) == {"version": second, "published": second, "failed_loads": 0, "last_error": None}
    assert _first_article(a, question) == NEW_ARTICLE.id
    deadline = time.monotonic() + 120
    while _health(b)["version"] != second and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _health(b)["version"] == second and _first_article(b, question) == NEW_ARTICLE.id

    # a broken snapshot: the old one keeps answering, and the failure shows
    third = _publish(demo_home, root)
    docs = next((root / third).glob("docs-*.npz"))
    docs.write_bytes(b"garbage" + docs.read_bytes()[7:])
    assert watcher(checked_by_hand).check() is False
    info = _health(a)
    assert info["version"] == second and info["published"] == third and info["failed_loads"] == 1
    assert third in info["last_error"] and "damaged" in info["last_error"]
    assert _first_article(a, question) == NEW_ARTICLE.id
    assert a.get("/readyz").status_code == 200
    metrics = a.get("/metrics").get_data(as_text=True)
    assert "deflect_snapshot_failed_loads_total" in metrics and f'version="{second}"' in metrics
    assert watcher(checked_by_hand).check() is False and _health(a)["failed_loads"] == 1   # not tried again
    deadline = time.monotonic() + 60
    while _health(b)["failed_loads"] < 1 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _health(b)["version"] == second and _health(b)["failed_loads"] == 1
    watcher(in_background).stop()


def test_rate_limit_is_shared_by_two_apps_on_one_store(tmp_path):
    first, _ = make_app(tmp_path, RATE_LIMIT={"suggest": "3/hour"})
    second, _ = make_app(tmp_path, RATE_LIMIT={"suggest": "3/hour"})
    one, two = first.test_client(), second.test_client()
    answers = [c.post("/api/v1/suggest", json={"text": "Abo kündigen"}).status_code for c in (one, two, one, two)]
    assert answers == [200, 200, 200, 429]
    r = one.post("/api/v1/suggest", json={"text": "Abo kündigen"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 3600
    other = two.post("/api/v1/suggest", json={"text": "Abo kündigen"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_a_snapshot_engine_keeps_the_database_of_its_home(tmp_path):
    """Replicas on PostgreSQL: the engine opened from a snapshot stores its rows there, not in a SQLite
    file of the home folder."""
    from deflect.web.snapshots import snapshot_home
    from flask import Flask

    app = Flask("t")
    url = "postgresql://deflect@db.example:5432/deflect"
    app.config.update(DEFLECT_HOME=str(tmp_path), DATABASE_URL=url)
    with app.app_context():
        home = snapshot_home(tmp_path / "snapshots" / "v1")
    assert home.database == url and home.index_dir == tmp_path / "snapshots" / "v1"
    app.config.update(DATABASE_URL=None)
    with app.app_context():
        assert snapshot_home(tmp_path / "v2").database == tmp_path / "deflect.db"
