"""Faults of the index on disk and concurrent writers: every file is checked against the manifest's
sizes and checksums, a running engine keeps its loaded index when the files are damaged, `deflect
index` repairs any damage, files of crashed saves go away, and changes pushed while a build runs
are not lost when it saves. A small bag-of-words embedder (``fakes.FakeEmbedder``) stands in for the
model."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from click.testing import CliRunner
from fakes import FakeEmbedder

from deflect import deflector as deflector_module
from deflect import embedder as embedder_module
from deflect.cli import cli
from deflect.deflector import Deflector
from deflect.errors import IndexMismatchError
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index import bundle as bundle_file
from deflect.index.bundle import IndexBundle
from deflect.index.files import manifest_files, read_manifest, remove_orphans
from deflect.index.lock import index_lock
from deflect.store import open_store

TOPICS = {
    "zustellung": ("Zeitung nicht erhalten", ["zeitung nicht gekommen briefkasten"]),
    "passwort": ("Passwort vergessen", ["passwort vergessen login"]),
    "rechnung": ("Rechnung herunterladen", ["rechnung pdf herunterladen"]),
    "urlaub": ("Urlaubsunterbrechung", ["urlaub zeitung pausieren"]),
}
NEW = Article(id="gewinn", title="Gewinnspiel Teilnahme", body="So nehmen Sie am Gewinnspiel teil.",
              language="de", questions=["wie kann ich beim gewinnspiel mitmachen"])


def tickets(prefix: str, n: int) -> list[Ticket]:
    return [Ticket(id=f"{prefix}-{a}-{i}", subject=f"{qs[0]} bitte {i}", body=f"{qs[0]} bitte {i}",
                   resolution="erledigt", article_id=a if i % 2 else None, language="de")
            for a, (_, qs) in TOPICS.items() for i in range(n)]


@pytest.fixture
def home(tmp_path):
    home = Home(tmp_path / "home").ensure()
    store = open_store(home.db_path)
    store.upsert_articles([Article(id=a, title=t, body=f"Hilfe zu {t}.", language="de", questions=qs)
                           for a, (t, qs) in TOPICS.items()])
    store.upsert_tickets(tickets("T", 6))
    indexer.build(store, FakeEmbedder(), home.index_dir)
    store.close()
    return home


def engine(home: Home) -> Deflector:
    store = open_store(home.db_path, check_same_thread=False)
    return Deflector(home, store, IndexBundle.load(home.index_dir), FakeEmbedder(), None)


def files(home: Home) -> dict[str, str]:
    m = read_manifest(home.index_dir)
    return {"vectors": m["files"]["vectors"], "docs": m["files"]["docs"], "embeddings": m["files"]["embeddings"]}


def damage(home: Home, how: str) -> None:
    """Damage the saved index the way a crash, a full disk or a careless hand would."""
    manifest = home.index_dir / "manifest.json"
    if how == "garbled manifest":
        manifest.write_text('{"format": 1, "model": "fake-bow", "files": ')
    elif how == "non-UTF-8 manifest":
        manifest.write_bytes(b"\xff\xfe" + manifest.read_bytes()[:40])
    elif how == "missing manifest":
        manifest.unlink()
    else:
        action, kind = how.split(" ")
        path = home.index_dir / files(home)[kind]
        if action == "missing":
            path.unlink()
        elif action == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        else:   # flipped: same size, one byte changed
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))


DAMAGES = ["garbled manifest", "non-UTF-8 manifest", "missing manifest", "truncated docs", "flipped docs",
           "truncated embeddings", "flipped embeddings", "truncated vectors", "flipped vectors", "missing docs",
           "missing embeddings"]


# -- checksums -----------------------------------------------------------------------------------
def test_every_file_of_the_index_is_recorded_in_the_manifest(home):
    m = read_manifest(home.index_dir)
    names = manifest_files(m)
    assert len(names) == 3 and set(m["checksums"]) == set(names)
    assert all(m["checksums"][n]["bytes"] == (home.index_dir / n).stat().st_size for n in names)
    assert "crc32" in m["checksums"][m["files"]["docs"]] and "crc32" in m["checksums"][m["files"]["embeddings"]]


@pytest.mark.parametrize("how", [d for d in DAMAGES if "manifest" not in d and "embeddings" not in d])
def test_a_damaged_file_is_refused_on_load(home, how):
    damage(home, how)
    with pytest.raises(IndexMismatchError) as err:
        IndexBundle.load(home.index_dir)
    assert how.split(" ")[1] in str(err.value) and "deflect index" in err.value.hint


@pytest.mark.parametrize("how", ["truncated embeddings", "missing embeddings"])
def test_damaged_embeddings_are_refused_on_load_by_their_size(home, how):
    damage(home, how)
    with pytest.raises(IndexMismatchError, match="embeddings-"):
        IndexBundle.load(home.index_dir)


def test_embeddings_are_checked_when_first_read(home):
    damage(home, "flipped embeddings")     # same size: found by the checksum when the rows are read
    b = IndexBundle.load(home.index_dir)
    with pytest.raises(IndexMismatchError, match="failed its checksum"):
        b.verify_embeddings(home.index_dir)
    assert b.gather_embeddings(home.index_dir, np.array([0, 1])) is None
    assert "failed its checksum" in b.problem


# -- a running engine keeps its index --------------------------------------------------------------
@pytest.mark.parametrize("how", ["garbled manifest", "non-UTF-8 manifest", "missing manifest", "truncated docs"])
def test_a_running_engine_keeps_answering_when_the_files_on_disk_are_damaged(home, how):
    d = engine(home)
    before = d.suggest("passwort vergessen login", k=1).articles[0].id
    if how == "truncated docs":   # another process's save, then a file it wrote was damaged
        IndexBundle.load(home.index_dir).save(home.index_dir)
        damage(home, how)
    else:
        damage(home, how)
    assert d.reload_if_changed() is False
    assert d.suggest("passwort vergessen login", k=1).articles[0].id == before == "passwort"
    assert d.index_problem and "could not be loaded" in d.index_problem
    assert d.reload_if_changed() is False         # not tried again on every request
    indexer.build(d.store, FakeEmbedder(), home.index_dir)   # `deflect index` repairs it
    assert d.reload_if_changed() is True and d.index_problem is None


def test_a_live_change_on_a_damaged_index_writes_the_good_one_back(home):
    d = engine(home)
    damage(home, "garbled manifest")
    d.reload_if_changed()
    d.upsert_article(NEW)
    assert d.index_problem is None
    assert "gewinn" in IndexBundle.load(home.index_dir).live_articles()


# -- `deflect index` repairs, the CLI shows no traceback -------------------------------------------
@pytest.fixture
def fake_model(monkeypatch):
    fake = FakeEmbedder()
    monkeypatch.setattr(embedder_module, "load_embedder", lambda model=None, device=None: fake)
    monkeypatch.setattr(deflector_module, "load_embedder", lambda model=None, device=None: fake)
    return fake


@pytest.mark.parametrize("how", DAMAGES)
def test_deflect_index_repairs_any_damage(home, fake_model, how):
    run = CliRunner()
    damage(home, how)
    status = run.invoke(cli, ["status", "--home", str(home.path)])
    assert status.exit_code == 0 and "damaged" in status.output, status.output
    suggest = run.invoke(cli, ["suggest", "passwort vergessen", "--home", str(home.path)])
    if how != "flipped embeddings":   # found when the embeddings are read, not on load
        assert suggest.exit_code == 1 and isinstance(suggest.exception, SystemExit), suggest.output
        assert "Hint:" in suggest.output and "deflect index" in suggest.output
    result = run.invoke(cli, ["index", "--quiet", "--home", str(home.path)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("the index was damaged (") and first.endswith("rebuilt it from the store")
    assert result.output.splitlines()[1].startswith("built ")
    b = IndexBundle.load(home.index_dir)
    b.verify_embeddings(home.index_dir)
    assert b.live_articles() == set(TOPICS)
    if how in ("truncated vectors", "flipped vectors"):   # documents and embeddings were intact: re-used
        assert fake_model.encoded == 0
    again = run.invoke(cli, ["index", "--quiet", "--home", str(home.path)])
    assert again.output.startswith("unchanged:"), again.output


def test_vectors_cached_in_the_store_are_reused_by_a_repair(home, fake_model):
    store = open_store(home.db_path)
    title = TOPICS["passwort"][0]
    store.cache_embeddings({store.embedding_key(fake_model.name, title): fake_model.encode([title])[0]})
    damage(home, "truncated docs")
    fake_model.encoded = 0
    stats = indexer.build(store, fake_model, home.index_dir)
    assert stats["damage"] and stats["embedded"] == stats["counts"]["documents"] - 1


# -- files of crashed saves --------------------------------------------------------------------
def test_files_of_a_crashed_save_are_removed_at_the_next_start(home, fake_model, monkeypatch):
    store = open_store(home.db_path)
    store.upsert_articles([NEW])

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")
    with monkeypatch.context() as m:
        m.setattr(bundle_file, "atomic_write", crash)   # the vector file is written, the rest not
        with pytest.raises(KeyboardInterrupt):
            indexer.build(store, fake_model, home.index_dir)
    kept = set(manifest_files(read_manifest(home.index_dir))) | {"manifest.json"}
    assert {p.name for p in home.index_dir.iterdir()} == kept   # a failed save takes its own files with it
    # a power cut leaves them behind
    (home.index_dir / "vectors-0123456789ab.faiss").write_bytes(b"half")
    (home.index_dir / "docs-0123456789ab.npz.tmp").write_bytes(b"half")
    orphans = {p.name for p in home.index_dir.iterdir()} - kept
    assert len(orphans) == 2 and any(o.startswith("vectors-") for o in orphans)
    (home.index_dir / "notes.txt").write_text("not ours")
    held = threading.Event()
    release = threading.Event()

    def other_save():
        with index_lock(home.index_dir, exclusive=True):
            held.set()
            release.wait(10)
    t = threading.Thread(target=other_save)
    t.start()
    held.wait(10)
    assert remove_orphans(home.index_dir) == []     # a save is under way: its new files are not orphans
    release.set()
    t.join()
    Deflector.open(home).close()
    assert {p.name for p in home.index_dir.iterdir()} == kept | {"notes.txt"}


def test_a_full_disk_fails_the_save_clearly_and_the_next_build_has_the_space(home, fake_model, monkeypatch):
    """The disk fills during `deflect index`: a clear error, no half-written files left (they would keep the
    disk full), the index in use unchanged; freed, the next build works and clears older leftovers."""
    import errno

    from deflect.errors import DeflectError

    store = open_store(home.db_path)
    store.upsert_articles([NEW])
    before = read_manifest(home.index_dir)["build_id"]

    def full(path, write):
        path.with_name(path.name + ".tmp").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")
    with monkeypatch.context() as m:
        m.setattr(bundle_file, "atomic_write", full)
        with pytest.raises(DeflectError, match="No space left on device") as failed:
            indexer.build(store, fake_model, home.index_dir)
    assert "Free space" in failed.value.hint
    kept = set(manifest_files(read_manifest(home.index_dir))) | {"manifest.json"}
    assert {p.name for p in home.index_dir.iterdir()} == kept and read_manifest(home.index_dir)["build_id"] == before
    (home.index_dir / "vectors-0123456789ab.faiss").write_bytes(b"left by a power cut")
    indexer.build(store, fake_model, home.index_dir)
    assert {p.name for p in home.index_dir.iterdir()} == set(manifest_files(read_manifest(home.index_dir))) | {
        "manifest.json"}


# -- changes pushed while a build runs ---------------------------------------------------------
class PausingEmbedder(FakeEmbedder):
    """Stops in its first ``encode`` until ``go`` is set (a long build, paused while others write)."""

    def __init__(self):
        super().__init__()
        self.started, self.go = threading.Event(), threading.Event()

    def encode(self, texts, progress=None, chunk=1024):
        if not self.started.is_set():
            self.started.set()
            assert self.go.wait(30)
        return super().encode(texts, progress, chunk)


@pytest.mark.parametrize("full", [True, False])
def test_changes_pushed_while_a_build_runs_are_not_lost(home, full):
    d = engine(home)
    builder = PausingEmbedder()
    if not full:      # an update with work to do: a changed ticket
        store = open_store(home.db_path)
        store.upsert_tickets([Ticket(id="T-urlaub-0", subject="urlaub zeitung pausieren ab montag", body="bitte",
                                     resolution="ok", article_id="urlaub", language="de")])
        store.close()
    result = {}

    def build():
        store = open_store(home.db_path)
        result.update(indexer.build(store, builder, home.index_dir, full=full))
        store.close()
    t = threading.Thread(target=build)
    t.start()
    assert builder.started.wait(30)
    d.upsert_article(NEW)                       # through the engine of the serving process
    d.delete_article("rechnung")
    d.add_tickets([Ticket(id="N-1", subject="gewinnspiel preis", body="gewinnspiel preis", resolution="ok",
                          article_id="gewinn", language="de")])
    builder.go.set()
    t.join(60)
    assert result["mode"] == ("full" if full else "update")
    assert result["caught_up"]["added"] >= 4 and result["caught_up"]["removed"] >= 3
    saved = IndexBundle.load(home.index_dir)
    assert saved.live_articles() == set(TOPICS) - {"rechnung"} | {"gewinn"}
    assert "N-1" in set(saved.ref[saved.kind != -1].tolist())
    assert d.reload_if_changed() is True
    assert d.suggest("wie kann ich beim gewinnspiel mitmachen", k=1).articles[0].id == "gewinn"
    assert "rechnung" not in [a.id for a in d.suggest("rechnung pdf herunterladen", k=5).articles]


def test_a_live_change_after_another_process_saved_keeps_that_save(home):
    d = engine(home)                             # loaded before the other process's save
    store = open_store(home.db_path)
    store.upsert_tickets(tickets("X", 2))        # `deflect ingest` + `deflect index` in another process
    indexer.build(store, FakeEmbedder(), home.index_dir)
    d.upsert_article(NEW)                       # must not overwrite that index with its older one
    saved = IndexBundle.load(home.index_dir)
    refs = set(saved.ref[saved.kind != -1].tolist())
    assert "gewinn" in saved.live_articles() and {t.id for t in tickets("X", 2)} <= refs
    assert set(d.bundle.ref[d.bundle.kind != -1].tolist()) == refs
    assert indexer.build(store, FakeEmbedder(), home.index_dir)["mode"] == "unchanged"


def test_health_reports_an_index_problem(tmp_path):
    from api_support import make_app
    app, fake = make_app(tmp_path)
    client = app.test_client()
    assert client.get("/api/v1/health").get_json()["index"] == {"ok": True, "problem": None}
    fake.index_problem = "index file docs-0123.npz failed its checksum"
    health = client.get("/api/v1/health").get_json()
    assert health["ok"] is True and health["index"] == {"ok": False, "problem": fake.index_problem}
