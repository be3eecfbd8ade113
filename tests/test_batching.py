"""Micro-batching of concurrent embedding calls (deflect.index.batching) and its use by the Deflector."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from deflect.index.batching import MicroBatcher


def _vectors(texts: list[str]) -> np.ndarray:
    """A stand-in model: row i is (len(text), first character code) of text i."""
    return np.array([[len(t), ord(t[0])] for t in texts], np.float32)


def _concurrently(fn, args: list, start_together: bool = True) -> list:
    results: list = [None] * len(args)
    barrier = threading.Barrier(len(args))

    def run(i: int) -> None:
        if start_together:
            barrier.wait()
        try:
            results[i] = fn(args[i])
        except Exception as exc:  # kept to assert which caller got which error
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_callers_share_forwards_and_each_gets_its_rows():
    calls: list[int] = []

    def slow_model(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        time.sleep(0.05)   # while one forward runs, the other callers queue up
        return _vectors(texts)

    batcher = MicroBatcher(slow_model, max_batch=32)
    inputs = [[f"{chr(97 + i)}" * (i + 1), "x" * (i + 3)] for i in range(12)]
    results = _concurrently(batcher, inputs)
    for texts, got in zip(inputs, results):
        assert np.array_equal(got, _vectors(texts))
    assert sum(calls) == 24 and len(calls) < 12   # fewer forwards than callers
    assert max(calls) > 2
    assert batcher.callers == 12 and batcher.forwards == len(calls)


def test_a_batch_never_exceeds_max_batch():
    sizes: list[int] = []

    def model(texts):
        sizes.append(len(texts))
        time.sleep(0.02)
        return _vectors(texts)

    batcher = MicroBatcher(model, max_batch=4)
    results = _concurrently(batcher, [["abc", "de"] for _ in range(10)])
    assert all(np.array_equal(r, _vectors(["abc", "de"])) for r in results)
    assert max(sizes) <= 4


def test_an_exception_reaches_only_the_caller_whose_texts_raised_it():
    def model(texts):
        time.sleep(0.02)
        if any(t.startswith("bad") for t in texts):
            raise ValueError("cannot embed bad text")
        return _vectors(texts)

    batcher = MicroBatcher(model)
    inputs = [["good one"], ["bad one"], ["fine"], ["also good", "ok"], ["bad again"], ["last"]]
    results = _concurrently(batcher, inputs * 2)
    for texts, got in zip(inputs * 2, results):
        if texts[0].startswith("bad"):
            assert isinstance(got, ValueError) and "bad text" in str(got)
        else:
            assert np.array_equal(got, _vectors(texts))


def test_a_lone_caller_is_dispatched_at_once_even_with_a_wait():
    batcher = MicroBatcher(_vectors, max_wait=2.0)
    for _ in range(3):
        start = time.perf_counter()
        assert np.array_equal(batcher(["hello"]), _vectors(["hello"]))
        assert time.perf_counter() - start < 1.0      # not the 2 s wait


def test_under_load_the_wait_is_bounded():
    def model(texts):
        time.sleep(0.01)
        return _vectors(texts)

    batcher = MicroBatcher(model, max_wait=0.05)
    _concurrently(batcher, [["abc"] for _ in range(6)])   # leaves the batcher "under load"
    start = time.perf_counter()
    batcher(["lonely"])
    assert time.perf_counter() - start < 0.5


def test_under_load_a_forward_waits_only_until_as_many_callers_as_before():
    """A worker's request threads are the most callers a forward can get: once as many have joined as
    joined a forward before, the next forward starts instead of waiting out ``max_wait``."""
    def model(texts):
        time.sleep(0.01)
        return _vectors(texts)

    batcher = MicroBatcher(model, max_wait=2.0)

    def round_of_three() -> float:
        ready = threading.Barrier(3)

        def caller(text: str) -> None:
            batcher.expect()   # announced before anyone calls: one forward serves the three
            ready.wait()
            assert np.array_equal(batcher([text]), _vectors([text]))

        threads = [threading.Thread(target=caller, args=(t,)) for t in ("a", "b", "c")]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start

    round_of_three()          # leaves the batcher "under load" with three callers in a forward
    assert round_of_three() < 1.0
    assert (batcher.forwards, batcher.callers) == (2, 6)


@pytest.fixture(scope="module")
def queries() -> list[str]:
    return ["Wie kann ich mein Abo kündigen?", "I forgot my password", "Zeitung nass",
            "Kann ich das E-Paper offline lesen, auch im Flugzeug ohne Internet?", "Rechnung",
            "How can I pay for my subscription with a credit card or PayPal?"]


def test_batched_forward_equals_single_forwards(demo_deflector, queries):
    singles = np.vstack([demo_deflector.embed([q]) for q in queries])
    together = demo_deflector.embed_batcher.forward(queries)
    assert together.shape == singles.shape
    np.testing.assert_allclose(together, singles, atol=2e-5)


def test_concurrent_suggestions_equal_sequential_ones(demo_deflector, queries):
    batcher = demo_deflector.suggest_batcher
    before = batcher.forwards, batcher.callers
    alone = [demo_deflector.suggest(q, k=3) for q in queries]
    together = _concurrently(lambda q: demo_deflector.suggest(q, k=3), queries * 3)
    for one, other in zip(alone * 3, together):
        assert not isinstance(other, Exception)
        assert [a.id for a in other.articles] == [a.id for a in one.articles]
        assert other.decision == one.decision
        assert other.confidence == pytest.approx(one.confidence, abs=1e-3)
        np.testing.assert_allclose(other.vector, one.vector, atol=2e-5)
    forwards, callers = batcher.forwards - before[0], batcher.callers - before[1]
    assert callers == len(queries) * 4 and forwards < callers   # some suggestions were answered together


def test_a_forward_waits_for_announced_callers_and_they_share_it():
    sizes: list[int] = []

    def model(texts):
        sizes.append(len(texts))
        return _vectors(texts)

    batcher = MicroBatcher(model, max_gather=2.0)
    joined = threading.Event()

    def late_caller() -> None:
        batcher.expect()       # e.g. a request still reading its body and checking its fields
        joined.wait(0.1)
        time.sleep(0.05)
        batcher(["late"])

    thread = threading.Thread(target=late_caller)
    thread.start()
    while batcher._coming == 0:
        time.sleep(0.001)
    joined.set()
    assert np.array_equal(batcher(["early"]), _vectors(["early"]))
    thread.join()
    assert sizes == [2] and batcher.forwards == 1


def test_a_withdrawn_or_silent_announcement_delays_a_forward_only_boundedly():
    batcher = MicroBatcher(_vectors, max_gather=2.0)
    gone = threading.Thread(target=lambda: (batcher.expect(), time.sleep(0.05), batcher.withdraw()))
    gone.start()
    while batcher._coming == 0:
        time.sleep(0.001)
    start = time.perf_counter()
    batcher(["alone"])
    assert time.perf_counter() - start < 1.0           # released by the withdrawal, not after 2 s
    gone.join()
    silent = threading.Thread(target=batcher.expect)   # announced and never called nor withdrawn
    silent.start()
    silent.join()
    start = time.perf_counter()
    assert np.array_equal(batcher(["still answered"]), _vectors(["still answered"]))
    assert time.perf_counter() - start < 4.0           # after the 2 s gather at most


def test_a_lone_announced_caller_is_not_delayed():
    batcher = MicroBatcher(_vectors, max_gather=2.0)
    for _ in range(3):
        batcher.expect()
        batcher.expect()   # counted once
        start = time.perf_counter()
        batcher(["hello"])
        batcher.withdraw()   # after its call: nothing left to withdraw
        assert time.perf_counter() - start < 1.0      # not the 2 s gather
    assert batcher._coming == 0


def test_packed_minilm_gives_the_models_own_vectors(demo_deflector, queries):
    parts = [p for p in demo_deflector.embedder._parts if getattr(p, "packed", None) is not None]
    assert parts, "the default model's MiniLM part is computed packed"
    part = parts[0]
    texts = [*queries, "x", "  Hallo   Welt  ", "Konto " * 300, "Ümlaut ß € 😀 Ticket #123"]
    expected = part.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(part.packed.encode(texts), expected, atol=1e-5)
    np.testing.assert_allclose(part.encode(texts[:1]), expected[:1], atol=1e-5)


def test_each_caller_learns_which_forward_answered_it_once():
    def model(texts):
        time.sleep(0.05)
        return _vectors(texts)

    batcher = MicroBatcher(model)
    batches = _concurrently(lambda texts: (batcher(texts), batcher.take_batch(), batcher.take_batch())[1:],
                            [["a"], ["b"], ["c"], ["d"]])
    assert all(second is None for _, second in batches)
    for number, callers in (first for first, _ in batches):
        assert sum(1 for (n, _), _ in batches if n == number) == callers
