"""Shared fixtures: the real packaged models over the demo help center, built once per session."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# The store of a test is the home's SQLite file unless the test asks for a server (fixture ``database``).
os.environ.pop("DEFLECT_DATABASE_URL", None)

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "faq_articles"


@pytest.fixture(autouse=True)
def own_settings():
    """Each test starts from the same DEFLECT_* environment: `deflect serve` puts the settings it was given
    there for its workers, which would leak into the tests after it."""
    before = {k: v for k, v in os.environ.items() if k.startswith("DEFLECT_")}
    yield
    for name in [k for k in os.environ if k.startswith("DEFLECT_") and k not in before]:
        del os.environ[name]
    os.environ.update(before)


@pytest.fixture(scope="session")
def demo_home_template(tmp_path_factory) -> Path:
    """A home folder with the demo help center ingested, indexed with the default model and
    calibrated as `deflect calibrate` does without a file (from its ticket history, with the model
    parts' shares and the word-match weights learnt from it). Read-only: copy it (``demo_home``) to
    change it."""
    from deflect.clock import utcnow
    from deflect.decision.refit import calibrate_from_history
    from deflect.deflector import Deflector
    from deflect.embedder import load_embedder, set_threads
    from deflect.home import Home
    from deflect.index import build as indexer
    from deflect.ingest import ingest
    from deflect.store import open_store

    set_threads(2)
    home = Home(tmp_path_factory.mktemp("demo-home")).ensure()
    store = open_store(home.db_path)
    ingest(store, [FAQ], recent_as_of=utcnow())   # as `make demo`: its tickets end in the last week
    indexer.build(store, load_embedder(), home.index_dir)
    store.close()
    deflector = Deflector.open(home)
    calibrate_from_history(deflector)
    deflector.close()
    return home.path


@pytest.fixture
def demo_home(demo_home_template, tmp_path) -> Path:
    """A private, writable copy of the demo home."""
    target = tmp_path / "home"
    shutil.copytree(demo_home_template, target)
    return target


@pytest.fixture(scope="session")
def demo_deflector(demo_home_template):
    """A Deflector over the (read-only) demo home, loaded once per session."""
    from deflect.deflector import Deflector

    deflector = Deflector.open(demo_home_template)
    yield deflector
    deflector.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server for the session (see postgres_support); skipped with the reason
    when none can be started, unless DEFLECT_REQUIRE_POSTGRES=1."""
    import tempfile

    from postgres_support import start_server

    base = Path(tempfile.mkdtemp(prefix="deflect-pg-"))
    try:
        server = start_server(base)
    except RuntimeError as exc:
        shutil.rmtree(base, ignore_errors=True)
        if os.environ.get("DEFLECT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"DEFLECT_REQUIRE_POSTGRES=1 but {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop("immediate")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, monkeypatch):
    """Run the test once per store backend: the home's SQLite file, and a fresh database on the session's
    PostgreSQL server (through ``DEFLECT_DATABASE_URL``, as an operator sets it). Yields the URL or None."""
    if request.param == "sqlite":
        monkeypatch.delenv("DEFLECT_DATABASE_URL", raising=False)
        yield None
        return
    from deflect.store.postgres import release

    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    monkeypatch.setenv("DEFLECT_DATABASE_URL", url)
    yield url
    release(url)
    server.drop_database(url)


# Fixtures that load the real embedding model; a test that needs one (directly or through another
# fixture) is slow, so that `pytest -m "not slow"` runs without the model.
REAL_MODEL_FIXTURES = {"demo_home_template"}


# The demo home keeps its data in its SQLite file: tests over it run on that backend only.
SQLITE_HOME_FIXTURES = {"demo_home_template", "demo_home", "demo_deflector"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    on_server = [item for item in items if SQLITE_HOME_FIXTURES & set(getattr(item, "fixturenames", ()))
                 and getattr(getattr(item, "callspec", None), "params", {}).get("database") == "postgresql"]
    if on_server:
        config.hook.pytest_deselected(items=on_server)
        items[:] = [item for item in items if item not in on_server]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, one per session: Playwright's sync API allows one running instance per thread."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    chromium_path = Path("/usr/bin/chromium")
    if not chromium_path.exists():
        if os.environ.get("DEFLECT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{chromium_path} is missing (apt-get install -y chromium chromium-driver)")
        pytest.skip("needs /usr/bin/chromium (apt-get install -y chromium chromium-driver)")
    pw = sync_api.sync_playwright().start()
    chromium = pw.chromium.launch(executable_path=str(chromium_path), headless=True,
                                  args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    yield chromium
    chromium.close()
    pw.stop()


# -- the browser tests' app and pages (tests/test_browser*.py) -----------------------------------------
PAGE_TIMEOUT = 20_000  # ms; the first query pays for warming up the model


@pytest.fixture(scope="session")
def browser_home(demo_home_template, tmp_path_factory) -> Path:
    """A writable copy of the demo home (faq_articles/ ingested, indexed, calibrated; see conftest)."""
    target = tmp_path_factory.mktemp("browser") / "home"
    shutil.copytree(demo_home_template, target)
    return target


@pytest.fixture(scope="session")
def server(browser_home):
    """The real app (API + pages) on a free localhost port."""
    from deflect.web import create_app
    from werkzeug.serving import make_server

    app = create_app({"DEFLECT_HOME": str(browser_home), "RATE_LIMIT": "600/minute", "TESTING": True})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(PAGE_TIMEOUT)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def store(browser_home):
    from deflect.store import open_store

    s = open_store(browser_home / "deflect.db")
    yield s
    s.close()
