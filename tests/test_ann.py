"""Tests for deflect.index.ann.VectorIndex (synthetic data, no model)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from deflect.errors import DeflectError, IndexMismatchError, IndexMissingError
from deflect.index import ann, ann_file
from deflect.index.ann import VectorIndex, VectorIndexError

KINDS = ["flat", "ivf", "hnsw"]
# small-corpus settings: ivf probes every list, so only quantisation error remains
EXHAUSTIVE = {"flat": {}, "ivf": {"nlist": 8, "nprobe": 8}, "hnsw": {"ef_search": 256}}


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def random_vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((n, d)))


def clustered(n: int, d: int = 64, clusters: int = 40, noise: float = 0.08, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = unit(rng.standard_normal((clusters, d)))
    x = unit(centers[rng.integers(0, clusters, n)] + noise * rng.standard_normal((n, d)))
    q = unit(centers[rng.integers(0, clusters, 200)] + noise * rng.standard_normal((200, d)))
    return x, q


def brute_force(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int):
    sims = unit(q) @ unit(x).T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def build(kind: str, x: np.ndarray, ids: np.ndarray) -> VectorIndex:
    return VectorIndex.build(x, ids, kind, **EXHAUSTIVE[kind])


# ---------------------------------------------------------------- exact search
def test_flat_equals_brute_force():
    x, q = random_vectors(600, seed=1), random_vectors(25, seed=2)
    ids = np.arange(600, dtype=np.int64) * 3 + 5
    index = VectorIndex.build(x, ids, "flat")
    scores, found = index.search(q, 10)
    want_scores, want_ids = brute_force(x, ids, q, 10)
    assert scores.dtype == np.float32 and found.dtype == np.int64 and found.shape == (25, 10)
    np.testing.assert_array_equal(found, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_inputs_are_normalised_defensively():
    x, q = random_vectors(200, seed=3), random_vectors(5, seed=4)
    ids = np.arange(200)
    scaled = x.astype(np.float64) * np.linspace(0.5, 7, 200)[:, None]  # float64, not normalised
    index = VectorIndex.build(scaled, ids, "flat")
    q_scaled = np.asfortranarray(q * 3.0)
    scores, found = index.search(q_scaled, 5)
    want_scores, want_ids = brute_force(x, ids, q, 5)
    np.testing.assert_array_equal(found, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    assert np.allclose(q_scaled, q * 3.0)  # caller's array untouched
    one_scores, one_ids = index.search(q[0], 5)  # a single 1-D query
    assert one_ids.shape == (1, 5) and one_ids[0, 0] == want_ids[0, 0]


@pytest.mark.parametrize("kind", KINDS)
def test_fewer_results_than_k_and_empty(kind):
    index = VectorIndex(16, kind)
    scores, found = index.search(random_vectors(3, 16), 4)
    assert found.shape == (3, 4) and (found == -1).all() and np.isneginf(scores).all()
    index.add(random_vectors(5, 16, seed=9), np.arange(5))
    scores, found = index.search(random_vectors(2, 16), 8)
    assert (found[:, :5] >= 0).all() and (found[:, 5:] == -1).all()
    assert np.isneginf(scores[:, 5:]).all() and np.isfinite(scores[:, :5]).all()
    assert index.search(random_vectors(2, 16), 0)[1].shape == (2, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_self_queries_find_themselves(kind):
    x = random_vectors(800, seed=5)
    ids = np.arange(800) + 1000
    index = build(kind, x, ids)
    assert len(index) == 800
    _, found = index.search(x[:100], 1)
    assert (found[:, 0] == ids[:100]).mean() >= 0.98


# ---------------------------------------------------------------- auto kind
def test_auto_switches_when_growing_past_threshold():
    x, _ = clustered(900, d=32)
    ids = np.arange(900)
    index = VectorIndex(32, "auto", threshold=500)
    index.add(x[:500], ids[:500])
    desc = index.describe()
    assert desc["kind"] == "flat" and desc["params"]["threshold"] == 500 and desc["count"] == 500
    index.add(x[500:], ids[500:])
    desc = index.describe()
    assert desc["kind"] == "ivf" and desc["count"] == 900 and desc["dim"] == 32
    assert desc["params"]["requested"] == "auto" and desc["params"]["threshold"] == 500
    assert desc["params"]["trained_on"] == 900 and desc["params"]["nlist"] >= 1
    assert desc["params"]["factory"].startswith("IVF") and desc["params"]["qtype"] == "SQ8"
    json.dumps(desc)  # manifest-ready
    _, found = index.search(x[:50], 1)
    assert (found[:, 0] == ids[:50]).mean() >= 0.95  # the flat vectors moved over
    index.remove(ids[:800])  # shrinking never switches back
    assert index.describe()["kind"] == "ivf" and len(index) == 100


def test_failed_switch_keeps_the_exact_index(monkeypatch):
    x = random_vectors(300, 16, seed=21)
    index = VectorIndex.build(x[:200], np.arange(200), threshold=250)

    def broken_train(self, vectors):
        raise MemoryError("simulated")

    monkeypatch.setattr(VectorIndex, "_train", broken_train)
    with pytest.raises(MemoryError):
        index.add(x[200:], np.arange(200, 300))
    assert index.describe()["kind"] == "flat" and len(index) == 200
    _, found = index.search(x[:20], 1)
    np.testing.assert_array_equal(found[:, 0], np.arange(20))


@pytest.mark.parametrize("approx", ["ivf", "hnsw"])
def test_auto_build_picks_kind_by_size(approx):
    x, _ = clustered(700, d=16)
    ids = np.arange(700)
    small = VectorIndex.build(x, ids, threshold=700, approx=approx)
    assert small.describe()["kind"] == "flat"
    large = VectorIndex.build(x, ids, threshold=699, approx=approx)
    desc = large.describe()
    assert desc["kind"] == approx and desc["params"]["approx"] == approx and desc["count"] == 700
    assert VectorIndex.build(x, ids).describe()["params"]["threshold"] == ann.DEFAULT_THRESHOLD == 200_000


@pytest.mark.parametrize("approx", ["ivf", "hnsw"])
def test_approximate_recall_on_clustered_data(approx):
    x, q = clustered(4000, d=64, clusters=50, seed=11)
    ids = np.arange(4000) * 2
    index = VectorIndex.build(x, ids, "auto", threshold=1000, approx=approx)
    assert index.describe()["kind"] == approx
    _, found = index.search(q, 10)
    _, truth = brute_force(x, ids, q, 10)
    assert recall(found, truth) >= 0.95


# ---------------------------------------------------------------- remove / upsert
@pytest.mark.parametrize("kind", KINDS)
def test_remove(kind):
    x = random_vectors(500, seed=6)
    ids = np.arange(500) * 10
    index = build(kind, x, ids)
    gone = ids[:60]
    assert index.remove(np.concatenate([gone, [7, 99999]])) == 60  # unknown ids ignored
    assert len(index) == 440
    assert index.remove(gone) == 0  # already removed
    assert index.remove([]) == 0
    _, found = index.search(x[:60], 20)
    assert not np.isin(found, gone).any()
    _, found = index.search(x[60:100], 1)
    assert (found[:, 0] == ids[60:100]).mean() >= 0.95
    assert index.describe()["count"] == 440
    assert index.remove(ids) == 440 and len(index) == 0
    assert (index.search(x[:2], 3)[1] == -1).all()


@pytest.mark.parametrize("kind", KINDS)
def test_upsert_replaces_vectors(kind):
    x = random_vectors(400, seed=7)
    ids = np.arange(400) + 1
    index = build(kind, x, ids)
    new = random_vectors(20, seed=8)
    index.add(new, ids[:20])
    assert len(index) == 400
    _, found = index.search(new, 1)
    assert (found[:, 0] == ids[:20]).all()
    _, found = index.search(x[:20], 1)  # the old vectors are gone
    assert (found[:, 0] != ids[:20]).all()
    # duplicate ids in one batch: the last vector wins
    index.add(np.stack([x[0], x[1]]), np.array([5000, 5000]))
    assert len(index) == 401
    _, found = index.search(x[1], 1)
    assert found[0, 0] == 5000


def test_hnsw_tombstones_then_compaction():
    x = random_vectors(1000, seed=12)
    ids = np.arange(1000)
    index = VectorIndex.build(x, ids, "hnsw", compact_fraction=0.25, ef_search=256)
    index.remove(ids[:100])
    assert index.describe()["params"]["tombstones"] == 100 and len(index) == 900
    index.add(random_vectors(50, seed=13), ids[100:150])  # upserts add tombstones too
    assert index.describe()["params"]["tombstones"] == 150
    _, found = index.search(x[:150], 10)
    assert not np.isin(found, ids[:100]).any()
    index.remove(ids[150:300])  # 300 dead of 1050 > 25 %: compacted
    desc = index.describe()
    assert desc["params"]["tombstones"] == 0 and desc["count"] == 750
    _, found = index.search(x[300:400], 1)
    assert (found[:, 0] == ids[300:400]).mean() >= 0.98
    _, found = index.search(x[:300], 10)
    assert not np.isin(found, ids[:100]).any() and not np.isin(found, ids[150:300]).any()


# ---------------------------------------------------------------- persistence
@pytest.mark.parametrize("kind", KINDS + ["auto"])
def test_write_read_round_trip(tmp_path, kind):
    x = random_vectors(700, seed=14)
    ids = np.arange(700) * 2 + 1
    params = {"threshold": 300} if kind == "auto" else EXHAUSTIVE[kind]
    index = VectorIndex.build(x, ids, kind, **params)
    index.remove(ids[:30])  # hnsw: tombstones are persisted too
    path = tmp_path / "sub" / "vectors.faiss"
    index.write(path)
    assert path.is_file() and not path.with_name("vectors.faiss.tmp").exists()
    desc = json.loads(json.dumps(index.describe()))  # as stored in a JSON manifest
    loaded = VectorIndex.read(path, desc)
    assert loaded.describe() == index.describe() and len(loaded) == 670
    q = random_vectors(30, seed=15)
    for a, b in zip(index.search(q, 10), loaded.search(q, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    loaded.add(x[:30], ids[:30])  # still mutable after loading
    assert len(loaded) == 700
    if kind == "auto":  # the threshold survives the round trip and keeps working
        assert loaded.describe()["kind"] == "ivf"


def test_read_takes_search_knobs_from_description(tmp_path):
    x, _ = clustered(2000, d=16)
    index = VectorIndex.build(x, np.arange(2000), "ivf", nlist=32, nprobe=4)
    index.write(tmp_path / "v.idx")
    desc = index.describe()
    desc["params"]["nprobe"] = 32
    assert VectorIndex.read(tmp_path / "v.idx", desc).describe()["params"]["nprobe"] == 32


def test_read_errors(tmp_path):
    with pytest.raises(IndexMissingError) as err:
        VectorIndex.read(tmp_path / "nope.faiss", {})
    assert err.value.hint
    index = VectorIndex.build(random_vectors(300, seed=16), np.arange(300), "flat")
    path = tmp_path / "v.faiss"
    index.write(path)
    good = path.read_bytes()
    desc = index.describe()
    with pytest.raises(IndexMismatchError):
        VectorIndex.read(path, {**desc, "dim": 64})
    with pytest.raises(IndexMismatchError):
        VectorIndex.read(path, {**desc, "count": 299})
    bad_cases = {
        "truncated": good[: len(good) // 2],
        "flipped": good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:],
        "garbage": b"not an index at all" * 10,
        "empty": b"",
    }
    for name, data in bad_cases.items():
        path.write_bytes(data)
        with pytest.raises(IndexMismatchError) as err:
            VectorIndex.read(path, desc)
        assert err.value.hint, name
        assert isinstance(err.value, DeflectError)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "vectors.faiss"
    old = VectorIndex.build(random_vectors(200, seed=17), np.arange(200), "flat")
    old.write(path)
    before = path.read_bytes()
    new = VectorIndex.build(random_vectors(500, seed=18), np.arange(500), "flat")

    calls = {"n": 0}
    real_call = ann_file._CrcWriter.__call__

    def failing_call(self, data):  # the disk fills up after the first block
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(28, "No space left on device")
        return real_call(self, data)

    monkeypatch.setattr(ann_file._CrcWriter, "__call__", failing_call)
    with pytest.raises(DeflectError):
        new.write(path)
    assert calls["n"] > 1
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".tmp").exists()
    assert len(VectorIndex.read(path, old.describe())) == 200

    def failing_fsync(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(ann_file.os, "fsync", failing_fsync)
    with pytest.raises(DeflectError) as err:
        new.write(path)
    assert err.value.hint
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".tmp").exists()
    new.write(path)  # and a successful write replaces it
    assert len(VectorIndex.read(path, new.describe())) == 500


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kind", KINDS)
def test_validation_errors(kind):
    index = build(kind, random_vectors(100, 16, seed=19), np.arange(100))
    with pytest.raises(VectorIndexError) as err:
        index.add(random_vectors(3, 8), np.arange(3))
    assert "dimension" in str(err.value) and err.value.hint
    with pytest.raises(VectorIndexError):
        index.search(random_vectors(2, 24), 3)
    bad = random_vectors(3, 16)
    bad[1, 4] = np.nan
    with pytest.raises(VectorIndexError):
        index.add(bad, np.array([0, 1, 2]))  # upsert of existing ids must not lose them
    assert len(index) == 100
    bad[1, 4] = np.inf
    with pytest.raises(VectorIndexError):
        index.search(bad, 3)
    with pytest.raises(VectorIndexError):
        index.add(random_vectors(3, 16), np.arange(2))
    with pytest.raises(VectorIndexError):
        index.add(random_vectors(2, 16), np.array([1, -1]))
    with pytest.raises(VectorIndexError):
        index.add(random_vectors(2, 16), np.array([1.5, 2.0]))
    with pytest.raises(VectorIndexError):
        index.search(random_vectors(1, 16), -1)
    assert len(index) == 100 and issubclass(VectorIndexError, DeflectError)


def test_constructor_errors():
    with pytest.raises(VectorIndexError):
        VectorIndex(0)
    with pytest.raises(VectorIndexError):
        VectorIndex(8, "annoy")
    with pytest.raises(VectorIndexError) as err:
        VectorIndex(8, "flat", nprobe=3)
    assert "nprobe" in str(err.value)
    with pytest.raises(VectorIndexError):
        VectorIndex(8, "ivf", qtype="PQ4")
    with pytest.raises(VectorIndexError):
        VectorIndex(8, "auto", approx="flat")


def test_set_threads():
    ann.set_threads(1)
    ann.set_threads(2)
    with pytest.raises(VectorIndexError):
        ann.set_threads(0)
