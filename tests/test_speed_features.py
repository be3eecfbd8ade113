"""Speed and scale features of the index: the index type follows the corpus size (recorded in the
manifest), incremental updates give the same searchable state as a rebuild without re-embedding,
and live article/ticket updates through the engine are persisted.

A small deterministic bag-of-words embedder (``fakes.FakeEmbedder``) stands in for the model, so this
file runs in seconds.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from fakes import HASH_DIM, FakeEmbedder

from deflect.deflector import Deflector
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index import bundle as bundle_file
from deflect.index.bundle import IndexBundle
from deflect.index.documents import BODY, DELETED, TICKET
from deflect.store import open_store

TOPICS = {
    "zustellung": ("Zeitung nicht erhalten", ["zeitung nicht gekommen briefkasten", "zustellung fehlt heute"]),
    "passwort": ("Passwort vergessen", ["passwort vergessen login", "kann mich nicht anmelden passwort"]),
    "rechnung": ("Rechnung herunterladen", ["rechnung pdf herunterladen", "wo finde ich meine rechnung"]),
    "urlaub": ("Urlaubsunterbrechung", ["urlaub zeitung pausieren", "zustellung im urlaub aussetzen"]),
}


def make_articles() -> list[Article]:
    return [Article(id=a, title=title, body=f"Hilfe zu {title}.", language="de", questions=qs)
            for a, (title, qs) in TOPICS.items()]


def make_tickets(n_per_topic: int, start: int = 0, linked_every: int = 2, prefix: str = "T") -> list[Ticket]:
    tickets = []
    for a, (_, qs) in TOPICS.items():
        for i in range(start, start + n_per_topic):
            text = f"{qs[i % len(qs)]} bitte {i}"
            tickets.append(Ticket(id=f"{prefix}-{a}-{i}", subject=text, body=text, resolution="erledigt",
                                  article_id=a if i % linked_every == 0 else None, language="de"))
    # an uncovered topic: no article, never linked
    for i in range(start, start + n_per_topic):
        text = f"gewinnspiel teilnahme preis {i}"
        tickets.append(Ticket(id=f"{prefix}-gewinn-{i}", subject=text, body=text, resolution="erledigt",
                              article_id=None, language="de"))
    return tickets


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def store(home):
    s = open_store(home.db_path)
    s.upsert_articles(make_articles())
    s.upsert_tickets(make_tickets(10))
    yield s
    s.close()


def live_docs(bundle: IndexBundle) -> dict[tuple, int]:
    """{(kind, ref, hash, article id or None): position} of the searchable documents."""
    out = {}
    for p in np.flatnonzero(bundle.kind != DELETED):
        seed = int(bundle.seed[p])
        out[(int(bundle.kind[p]), bundle.ref[p], bundle.hashes[p],
             bundle.article_ids[seed] if seed >= 0 else None)] = int(p)
    return out


def nearest(bundle: IndexBundle, embedder, text: str) -> str:
    _, ids = bundle.vectors.search(embedder.encode([text]), 1)
    return str(bundle.ref[ids[0, 0]])


# -- index type --------------------------------------------------------------------------------
def test_index_type_follows_corpus_size_and_is_recorded(store, home, monkeypatch):
    emb = FakeEmbedder()
    small = indexer.build(store, emb, home.index_dir)
    n = small["counts"]["documents"]
    assert small["index"]["kind"] == "flat" and small["index"]["params"]["requested"] == "auto"
    assert "exact search" in small["index"]["reason"]
    monkeypatch.setattr(indexer, "APPROX_THRESHOLD", n // 2)
    large = indexer.build(store, emb, home.index_dir, rebuild=True)
    assert large["mode"] == "full" and emb.encoded == n          # rebuild re-used every vector
    index = large["index"]
    assert index["kind"] == "ivf" and index["count"] == n
    assert index["params"]["threshold"] == n // 2 and index["params"]["nlist"] >= 1
    assert index["params"]["nprobe"] >= 1 and index["params"]["qtype"] == "Flat"   # exact vectors
    assert "approximate search IVF" in index["reason"]
    on_disk = json.loads((home.index_dir / "manifest.json").read_text())
    assert on_disk["index"] == index
    loaded = IndexBundle.load(home.index_dir)
    assert loaded.vectors.kind == "ivf" and len(loaded.vectors) == n
    monkeypatch.setattr(indexer, "COMPRESS_THRESHOLD", n // 2)          # very large: compressed vectors
    huge = indexer.build(store, emb, home.index_dir, rebuild=True)
    assert huge["index"]["params"]["qtype"] == "SQ8" and huge["index"]["params"]["by_residual"]
    assert "IVF" in huge["index"]["params"]["factory"] and "SQ8" in huge["index"]["reason"]


def test_requested_kind_is_kept_and_a_different_kind_rebuilds(store, home):
    emb = FakeEmbedder()
    hnsw = indexer.build(store, emb, home.index_dir, kind="hnsw")
    assert hnsw["index"]["kind"] == "hnsw" and hnsw["index"]["reason"] == "requested: hnsw"
    assert hnsw["index"]["params"]["M"] > 0 and hnsw["index"]["params"]["ef_search"] > 0
    store.upsert_tickets(make_tickets(1, start=50))
    update = indexer.build(store, emb, home.index_dir, kind="hnsw")
    assert update["mode"] == "update" and update["index"]["kind"] == "hnsw"
    flat = indexer.build(store, emb, home.index_dir, kind="flat")
    assert flat["mode"] == "full" and flat["index"]["kind"] == "flat"


def test_growing_past_the_threshold_switches_to_approximate(store, home, monkeypatch):
    emb = FakeEmbedder()
    first = indexer.build(store, emb, home.index_dir)
    monkeypatch.setattr(indexer, "APPROX_THRESHOLD", first["counts"]["documents"] + 5)
    indexer.build(store, emb, home.index_dir, rebuild=True)   # flat, with the lower threshold recorded
    store.upsert_tickets(make_tickets(3, start=100))
    grown = indexer.build(store, emb, home.index_dir)
    assert grown["mode"] == "update" and grown["index"]["kind"] == "ivf"
    assert nearest(IndexBundle.load(home.index_dir), emb, "gewinnspiel teilnahme preis 101") == "T-gewinn-101"


def test_large_flat_build_uses_an_approximate_graph_for_labels(store, home, monkeypatch):
    monkeypatch.setattr(indexer, "EXACT_GRAPH_PAIRS", 10)
    built = indexer.build(store, FakeEmbedder(), home.index_dir, kind="flat")
    assert built["build"]["graph"]["index"].startswith("ivf (temporary")
    assert built["build"]["graph"]["searched"] == built["counts"]["tickets"] - built["counts"]["linked_tickets"]


# -- manifest ----------------------------------------------------------------------------------
def test_manifest_records_model_counts_files_and_build(store, home):
    emb = FakeEmbedder()
    m = indexer.build(store, emb, home.index_dir)
    assert m["model"] == "fake-bow" and m["dim"] == HASH_DIM and m["format"] == bundle_file.FORMAT
    assert m["counts"]["articles"] == len(TOPICS) and m["counts"]["tickets"] == 50
    assert m["counts"]["linked_tickets"] == 20 and m["counts"]["deleted_rows"] == 0
    assert m["build"]["mode"] == "full" and m["build"]["graph"]["searched"] == 30
    assert m["embedding_rows"] == m["counts"]["documents"] and m["last_update"] is None
    assert set(m["timings"]) == {"embed", "index", "labels", "classifier", "save"}
    names = {p.name for p in home.index_dir.iterdir()}
    assert names == {"manifest.json", m["files"]["vectors"], m["files"]["docs"], m["files"]["embeddings"]}
    assert m["article_hashes"] == store.article_hashes()


# -- incremental updates -----------------------------------------------------------------------
def test_appending_tickets_updates_in_place_like_a_rebuild(store, home):
    emb = FakeEmbedder()
    first = indexer.build(store, emb, home.index_dir)
    before = IndexBundle.load(home.index_dir)
    store.upsert_tickets(make_tickets(2, start=10))            # the day's new tickets
    emb.encoded = 0
    update = indexer.build(store, emb, home.index_dir)
    assert update["mode"] == "update" and update["added"] == 10 and update["removed"] == 0
    assert update["embedded"] == 10 and emb.encoded == 10       # only the new tickets were embedded
    assert update["build_id"] != first["build_id"] and update["last_update"]["added"] == 10
    assert update["last_update"]["classifier_refitted"] is False
    after = IndexBundle.load(home.index_dir)
    # old rows untouched: same positions, labels and classifier
    n = len(before.kind)
    assert (after.kind[:n] == before.kind).all() and (after.labels[:n] != before.labels).nnz == 0
    assert np.array_equal(after.classifier.coef, before.classifier.coef)
    # same searchable documents as a rebuild from scratch
    rebuilt_dir = home.path / "rebuilt"
    indexer.build(store, FakeEmbedder(), rebuilt_dir, full=True)
    rebuilt = IndexBundle.load(rebuilt_dir)
    assert set(live_docs(after)) == set(live_docs(rebuilt))
    emb_after = after.load_embeddings(home.index_dir)
    assert emb_after.shape == (len(after.kind), HASH_DIM)
    new = np.flatnonzero(np.isin(after.ref, [t.id for t in make_tickets(2, start=10)]))
    assert np.allclose(np.asarray(emb_after[new], np.float32), emb.encode(list(after_texts(after, new))),
                       atol=2e-3)
    # new unlinked tickets get (nearly) the labels a rebuild spreads to them: a covered topic's
    # ticket its article, a ticket of the uncovered topic nothing
    for ticket in make_tickets(2, start=10):
        mine = after.labels[after.ref.tolist().index(ticket.id)].toarray()[0]
        full = rebuilt.labels[rebuilt.ref.tolist().index(ticket.id)].toarray()[0]
        assert np.abs(mine - full).max() < 0.05, ticket.id
        if ticket.id.startswith("T-gewinn"):
            assert mine.sum() == 0
        else:
            assert after.article_ids[int(mine.argmax())] == ticket.id.split("-")[1]
    assert nearest(after, emb, "gewinnspiel teilnahme preis 11") == "T-gewinn-11"


def after_texts(bundle, positions):
    store_rows = {t.id: t for t in make_tickets(2, start=10)}
    for p in positions:
        t = store_rows[bundle.ref[p]]
        yield t.body


def test_changed_article_is_replaced_without_touching_the_rest(store, home):
    emb = FakeEmbedder()
    indexer.build(store, emb, home.index_dir)
    before = IndexBundle.load(home.index_dir)
    article = store.get_article("rechnung")
    article.questions = [*article.questions, "rechnung per email bekommen"]
    article.body = "Ihre Rechnung finden Sie im Kundenkonto als PDF."
    store.upsert_articles([article])
    emb.encoded = 0
    update = indexer.build(store, emb, home.index_dir)
    assert update["mode"] == "update" and update["embedded"] == 2 and emb.encoded == 2
    assert update["added"] == 2 and update["removed"] == 1          # new question, body replaced
    after = IndexBundle.load(home.index_dir)
    assert nearest(after, emb, "rechnung per email bekommen") == "rechnung"
    old_body = [p for p in np.flatnonzero(before.ref == "rechnung") if before.kind[p] == BODY][0]
    assert after.kind[old_body] == DELETED and len(after.vectors) == len(before.vectors) + 1
    assert after.article_ids == before.article_ids                     # columns never move
    assert set(live_docs(after)) == set(live_docs(_rebuilt(store, home)))


def test_new_and_deleted_articles_update_labels_and_classifier(store, home):
    emb = FakeEmbedder()
    indexer.build(store, emb, home.index_dir)
    store.upsert_articles([Article(id="gewinn", title="Gewinnspiel", body="Teilnahme am Gewinnspiel.",
                                   language="de", questions=["gewinnspiel teilnahme preis"])])
    store.delete_article("urlaub")
    update = indexer.build(store, emb, home.index_dir)
    assert update["mode"] == "update" and update["last_update"]["new_articles"] == 1
    assert update["last_update"]["deleted_articles"] == 1 and update["last_update"]["classifier_refitted"]
    assert update["counts"]["articles"] == len(TOPICS)
    b = IndexBundle.load(home.index_dir)
    urlaub, gewinn = b.article_ids.index("urlaub"), b.article_ids.index("gewinn")
    assert b.labels[:, urlaub].nnz == 0 and urlaub not in b.classifier.classes
    assert gewinn in b.classifier.classes
    assert not ((b.ref == "urlaub") & (b.kind != DELETED)).any()
    # tickets that linked the deleted article lost the link (store) and were re-added unlinked
    relinked = [p for p in np.flatnonzero(b.kind == TICKET) if b.ref[p].startswith("T-urlaub-")]
    assert relinked and all(b.seed[p] == -1 for p in relinked)
    assert set(live_docs(b)) == set(live_docs(_rebuilt(store, home)))


def test_link_change_reuses_the_vector(store, home):
    emb = FakeEmbedder()
    indexer.build(store, emb, home.index_dir)
    ticket = make_tickets(10)[1]
    assert ticket.article_id is None
    ticket.article_id = "zustellung"
    store.upsert_tickets([ticket])
    emb.encoded = 0
    update = indexer.build(store, emb, home.index_dir)
    assert update["mode"] == "update" and update["added"] == 1 and update["removed"] == 1
    assert update["embedded"] == 0 and emb.encoded == 0
    b = IndexBundle.load(home.index_dir)
    p = [p for p in np.flatnonzero(b.ref == ticket.id) if b.kind[p] == TICKET][0]
    assert b.article_ids[b.seed[p]] == "zustellung" and b.labels[p, b.seed[p]] == 1.0


def test_unchanged_store_does_no_work_and_big_changes_rebuild(store, home):
    emb = FakeEmbedder()
    first = indexer.build(store, emb, home.index_dir)
    same = indexer.build(store, emb, home.index_dir)
    assert same["mode"] == "unchanged" and same["build_id"] == first["build_id"]
    store.upsert_tickets(make_tickets(20, start=200))   # more than UPDATE_LIMIT of the index is new
    big = indexer.build(store, emb, home.index_dir)
    assert big["mode"] == "full" and big["embedded"] == 100


def test_embedding_segments_are_appended_and_merged(store, home, monkeypatch):
    monkeypatch.setattr(bundle_file, "MERGE_ROWS", 0)
    monkeypatch.setattr(bundle_file, "MAX_SEGMENTS", 3)
    emb = FakeEmbedder()
    indexer.build(store, emb, home.index_dir)
    for day in range(1, 4):
        store.upsert_tickets(make_tickets(1, start=300 + day))
        m = indexer.build(store, emb, home.index_dir)
        b = IndexBundle.load(home.index_dir)
        segments = [m["files"]["embeddings"], *m["embedding_segments"]]
        assert len(segments) == (day + 1 if day < 3 else 1)      # appended, merged at MAX_SEGMENTS
        assert {p.name for p in home.index_dir.glob("embeddings-*")} == set(segments)
        vectors = b.load_embeddings(home.index_dir)
        assert vectors.shape == (len(b.kind), HASH_DIM) and m["embedding_rows"] == len(b.kind)
        last = len(b.kind) - 1
        text = next(t.body for t in make_tickets(1, start=300 + day) if t.id == b.ref[last])
        assert np.allclose(np.asarray(vectors[last], np.float32), emb.encode([text])[0], atol=2e-3)
        picked = b.gather_embeddings(home.index_dir, np.array([last, 0, 3]))
        assert np.array_equal(picked, np.asarray(vectors[[last, 0, 3]], np.float32))


def _rebuilt(store, home) -> IndexBundle:
    target = home.path / "rebuilt"
    indexer.build(store, FakeEmbedder(), target, full=True)
    return IndexBundle.load(target)


# -- live updates through the engine -----------------------------------------------------------
@pytest.fixture
def deflector(store, home):
    emb = FakeEmbedder()
    indexer.build(store, emb, home.index_dir)
    d = Deflector(home, store, IndexBundle.load(home.index_dir), emb, None)
    return d


def test_upsert_article_is_searchable_at_once_and_persisted(deflector, home):
    article = Article(id="gewinn", title="Gewinnspiel Teilnahme", body="So nehmen Sie teil.", language="de",
                      questions=["wie kann ich beim gewinnspiel mitmachen"])
    deflector.upsert_article(article)
    top = deflector.suggest("gewinnspiel mitmachen", k=1)
    assert top.articles[0].id == "gewinn"
    b = IndexBundle.load(home.index_dir)
    assert b.load_embeddings(home.index_dir).shape == (len(b.kind), HASH_DIM)
    assert "gewinn" in b.live_articles()
    # the next `deflect index` re-uses the stored vectors and gives the new article its class
    emb = FakeEmbedder()
    m = indexer.build(deflector.store, emb, home.index_dir)
    assert m["mode"] == "update" and emb.encoded == 0 and m["last_update"]["classifier_refitted"]
    assert b.article_ids.index("gewinn") in IndexBundle.load(home.index_dir).classifier.classes


def test_add_tickets_is_searchable_at_once_and_persisted(deflector, home):
    new = make_tickets(1, start=500, prefix="N")
    counts = deflector.add_tickets(new)
    assert counts["new"] == len(new)
    assert nearest(deflector.bundle, deflector.embedder, "gewinnspiel teilnahme preis 500") == "N-gewinn-500"
    hits = deflector.suggest("passwort vergessen login bitte 500", with_tickets=1).tickets
    assert hits[0].id == "N-passwort-500"
    again = deflector.add_tickets(new)                       # unchanged: nothing happens
    assert again["unchanged"] == len(new)
    b = IndexBundle.load(home.index_dir)
    assert (b.ref == "N-gewinn-500").sum() == 1 and b.load_embeddings(home.index_dir).shape[0] == len(b.kind)
    emb = FakeEmbedder()
    assert indexer.build(deflector.store, emb, home.index_dir)["mode"] == "unchanged" and emb.encoded == 0


def test_delete_article_leaves_no_votes_for_it(deflector, home):
    deflector.delete_article("urlaub")
    s = deflector.suggest("urlaub zeitung pausieren", k=len(TOPICS))
    assert "urlaub" not in [a.id for a in s.articles]
    b = IndexBundle.load(home.index_dir)
    assert b.labels[:, b.article_ids.index("urlaub")].nnz == 0


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_index_updates_incrementally_and_rebuilds_on_request(store, home, monkeypatch):
    from click.testing import CliRunner

    from deflect import deflector, embedder
    from deflect.cli import cli
    fake = FakeEmbedder()
    monkeypatch.setattr(embedder, "load_embedder", lambda model=None, device=None: fake)
    monkeypatch.setattr(deflector, "load_embedder", lambda model=None, device=None: fake)
    run = CliRunner()
    first = run.invoke(cli, ["index", "--quiet", "--home", str(home.path)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("built 66 documents") and "[flat]" in first.output
    store.upsert_tickets(make_tickets(1, start=900))
    update = run.invoke(cli, ["index", "--quiet", "--home", str(home.path)])
    assert update.exit_code == 0 and update.output.startswith("updated 71 documents"), update.output
    assert "5 embedded, 5 added, 0 removed" in update.output
    same = run.invoke(cli, ["index", "--quiet", "--home", str(home.path)])
    assert same.output.startswith("unchanged: 71 documents") and "0 embedded" in same.output
    fake.encoded = 0
    rebuilt = run.invoke(cli, ["index", "--quiet", "--rebuild", "--home", str(home.path)])
    assert rebuilt.output.startswith("built 71 documents") and fake.encoded == 0   # vectors re-used
    full = run.invoke(cli, ["index", "--quiet", "--full", "--home", str(home.path)])
    assert full.output.startswith("built 71 documents") and fake.encoded == 71   # everything re-embedded


def test_cli_index_device_cuda_without_a_gpu_is_a_clear_error(home):
    import torch
    from click.testing import CliRunner

    from deflect.cli import cli
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = CliRunner().invoke(cli, ["index", "--device", "cuda", "--home", str(home.path)])
    assert result.exit_code == 1
    assert "no CUDA GPU" in result.output and "Leave out --device" in result.output


def test_a_question_added_to_an_existing_article_finds_it_first(deflector):
    # a question in words no document has goes to the article that ranked last for it: the classifier
    # knows nothing of the new question, the article's own new question (word for word) must still win
    question = "quoxel formular beantragen zxq"
    last = deflector.suggest(question, k=len(TOPICS)).articles[-1].id
    article = next(a for a in deflector.store.articles() if a.id == last)
    deflector.upsert_article(replace(article, questions=[*article.questions, question]))
    after = deflector.suggest(question, k=len(TOPICS))
    assert after.articles[0].id == last and 0.0 <= after.articles[0].score <= 1.0


def test_a_live_change_is_not_starved_by_a_stream_of_queries(deflector):
    import threading
    import time

    stop, answered = threading.Event(), []

    def ask():
        while not stop.is_set():
            deflector.suggest("passwort vergessen login")
            answered.append(1)

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for t in askers:
        t.start()
    try:
        time.sleep(0.05)
        article = Article(id="gewinn", title="Gewinnspiel Teilnahme", body="So nehmen Sie teil.", language="de",
                          questions=[f"gewinnspiel frage {i}" for i in range(12)])
        deflector.upsert_article(article)
    finally:
        stop.set()
        for t in askers:
            t.join()
    assert deflector.suggest("gewinnspiel frage 3", k=1).articles[0].id == "gewinn"
    assert answered   # queries went on while the change was applied
