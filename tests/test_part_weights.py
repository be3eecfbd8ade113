"""Per help center and query language shares of the model's parts: learnt from the help center's own
texts when one part finds the own articles clearly better, applied to the queries only (the index
stays), a part with share 0 not run, equal shares giving exactly the usual vectors, and shown by
`deflect status`."""
from __future__ import annotations

import hashlib
import json

import numpy as np
from click.testing import CliRunner
from fakes import hashed_words

from deflect.cli import cli
from deflect.decision import part_choice
from deflect.decision.part_choice import learn_part_weights
from deflect.decision.refit import calibrate_from_history
from deflect.deflector import Deflector
from deflect.formats import Article
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index import part_weights
from deflect.index.bundle import IndexBundle
from deflect.index.documents import DELETED
from deflect.store import open_store

TOPICS = ["passwort", "rechnung", "zeitung", "urlaub", "adresse", "kündigung", "lastschrift", "zustellung",
          "epaper", "gutschein", "abo", "zahlung", "login", "prämie", "anzeige", "leserbrief", "archiv", "rätsel",
          "beilage", "ferien"]
WORDS = ["vergessen", "ändern", "bitte", "konto", "seite", "fehler", "heute", "morgen", "woche", "monat"]


def _noise(text: str, dim: int = 32) -> np.ndarray:
    """A unit vector that knows nothing about the text's meaning (a part that is no help)."""
    seed = int(hashlib.md5(text.encode()).hexdigest()[:8], 16)
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class _Part:
    def __init__(self, encode, dim: int):
        self.fn, self.dim, self.texts = encode, dim, 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return np.array([self.fn(t) for t in texts], np.float32).reshape(len(texts), self.dim)


class TwoPartEmbedder:
    """An ensemble like ``use-m3+minilm`` made of a part that knows the words and one that does not."""

    name = "words+noise"

    def __init__(self):
        self._parts = [_Part(hashed_words, 64), _Part(_noise, 32)]
        self.dim = 96

    @property
    def parts(self) -> list[str]:
        return self.name.split("+")

    def part_dims(self) -> list[int]:
        return [p.dim for p in self._parts]

    def encode_parts(self, texts, which):
        return [p.encode(texts) if i in which else None for i, p in enumerate(self._parts)]

    def encode(self, texts, progress=None, chunk=1024):
        vecs = np.concatenate([p.encode(texts) for p in self._parts], axis=1) / np.sqrt(2)
        if progress:
            progress(len(texts))
        return vecs.astype(np.float32)


def _articles() -> list[Article]:
    out = []
    for i, topic in enumerate(TOPICS):
        questions = [f"ich habe eine frage zu {topic} {WORDS[(i + j) % 10]} {WORDS[(i + 2 * j) % 10]}"
                     for j in range(6)]
        out.append(Article(id=topic, title=f"Alles über {topic}", language="de", questions=questions,
                           body=f"Die {topic} ist wichtig. Wir helfen bei {topic} jederzeit gerne weiter."))
    return out


def _engine(tmp_path, embedder) -> Deflector:
    home = Home(tmp_path / "home").ensure()
    store = open_store(home.db_path, check_same_thread=False)
    store.upsert_articles(_articles())
    indexer.build(store, embedder, home.index_dir)
    return Deflector(home, store, IndexBundle.load(home.index_dir), embedder, None)


def test_the_part_that_finds_the_own_articles_wins_and_a_part_with_share_0_is_not_run(tmp_path):
    embedder = TwoPartEmbedder()
    engine = _engine(tmp_path, embedder)
    weights, report = learn_part_weights(engine)
    assert weights["de"][0] > weights["de"][1], report   # the part that knows the words counts more
    assert report["de"]["mrr"] > report["de"]["mrr_equal"]
    calibrate_from_history(engine)   # learns them, fits the decision with them, keeps them with it
    assert engine.part_weights == weights
    # a reopened engine answers with the saved shares
    assert Deflector.open(engine.home, embedder=embedder).part_weights == weights
    # shares that leave the second part out for German queries: it is not run for them
    engine.calibrator.part_weights_ = {"de": (1.0, 0.0)}
    before = embedder._parts[1].texts
    answer = engine.suggest("ich habe eine frage zu rechnung fehler")
    assert answer.articles[0].id == "rechnung"
    assert embedder._parts[1].texts == before
    assert answer.vector is None   # not the usual vector: the gap report embeds it itself
    # an English query has no shares of its own: both parts run, the usual vector
    english = engine.suggest("what is the invoice for my account please")
    assert embedder._parts[1].texts == before + 1
    np.testing.assert_allclose(english.vector, embedder.encode(["what is the invoice for my account please"])[0],
                               atol=1e-6)


def test_weighted_queries_score_the_weighted_mean_of_the_parts_cosines(tmp_path):
    embedder = TwoPartEmbedder()
    engine = _engine(tmp_path, embedder)
    text = "frage zu zeitung"
    docs = engine.bundle.load_embeddings(engine.home.index_dir)[:5].astype(np.float32)
    doc_parts = part_weights.unit_parts(docs, [64, 32])
    query = part_weights.query_vectors(embedder, [text], (0.75, 0.25))
    q_parts = [p.encode([text]) for p in embedder._parts]
    expected = 0.75 * (q_parts[0] @ doc_parts[0].T) + 0.25 * (q_parts[1] @ doc_parts[1].T)
    np.testing.assert_allclose(query @ docs.T, expected, atol=2e-3)   # documents are stored as float16
    # the engine's neighbour similarities are those weighted means too, not the normalised query's
    sims, nbrs = engine.bundle.vectors.search(query, 3)
    scaled = engine.score(query).similarities
    np.testing.assert_allclose(scaled[0, :3], sims[0] * np.linalg.norm(query), rtol=1e-5)


def test_equal_shares_change_nothing(tmp_path):
    embedder = TwoPartEmbedder()
    engine = _engine(tmp_path, embedder)
    texts = ["ich habe eine frage zu urlaub bitte", "passwort vergessen"]
    usual = engine.embed(texts)
    np.testing.assert_array_equal(engine.embed_queries(texts, {"de": (0.5, 0.5)}), usual)
    np.testing.assert_array_equal(engine.embed_queries(texts, {}), usual)
    assert part_weights.similarity_scale(usual) is None
    assert part_weights.weights_differ({"de": (0.5, 0.5), "en": (0.5, 0.5)}) is False


def test_status_shows_the_learnt_shares(tmp_path):
    embedder = TwoPartEmbedder()
    engine = _engine(tmp_path, embedder)
    calibrate_from_history(engine)
    engine.close()
    runner = CliRunner()
    text = runner.invoke(cli, ["status", "--home", str(tmp_path / "home")])
    assert text.exit_code == 0, text.output
    # the noise part finds nothing: the words part counts more (judged without the texts, alone)
    data = json.loads(runner.invoke(cli, ["status", "--json", "--home", str(tmp_path / "home")]).output)
    shares = data["part_weights"]["shares"]["de"]
    assert shares["words"] > shares["noise"]
    said = f"words {shares['words']:.2f} noise {shares['noise']:.2f}"
    assert f"model parts: de: {said} (own article found with MRR" in text.output, text.output
    assert "other languages: alike" in text.output
    assert data["part_weights"]["learnt"]["de"]["samples"] >= 100


def test_too_few_questions_keep_the_parts_alike(tmp_path):
    embedder = TwoPartEmbedder()
    home = Home(tmp_path / "small").ensure()
    store = open_store(home.db_path, check_same_thread=False)
    store.upsert_articles(_articles()[:6])
    indexer.build(store, embedder, home.index_dir)
    engine = Deflector(home, store, IndexBundle.load(home.index_dir), embedder, None)
    weights, report = learn_part_weights(engine)
    assert weights == {} and report["de"]["shares"] is None


def test_given_usual_vectors_are_weighted_as_queries_are(tmp_path):
    embedder = TwoPartEmbedder()
    engine = _engine(tmp_path, embedder)
    calibrate_from_history(engine)
    text = "ich habe eine frage zu adresse ändern"
    usual = embedder.encode([text])
    given = engine.suggest_batch([text], vectors=usual)[0]   # as the gap report judges its items
    asked = engine.suggest(text)
    assert [a.id for a in given.articles] == [a.id for a in asked.articles]
    assert abs(given.confidence - asked.confidence) < 0.01


class WordsAndEnglishEmbedder(TwoPartEmbedder):
    """Named like the default ensemble: the English-only part (``minilm``) knows the words of the questions
    best, the multilingual one (``use-m3``) a little less well."""

    name = "use-m3+minilm"

    def __init__(self):
        super().__init__()
        self._parts = [_Part(lambda t: _unit(0.5 * hashed_words(t) + _noise(t, 64)), 64), _Part(hashed_words, 64)]
        self.dim = 128


def test_english_questions_of_a_german_help_center_keep_the_multilingual_part(tmp_path, monkeypatch):
    """English questions that only ever find English articles must not teach the engine to drop the part
    that finds German articles for English questions."""
    embedder = WordsAndEnglishEmbedder()
    home = Home(tmp_path / "mixed").ensure()
    store = open_store(home.db_path, check_same_thread=False)
    english = [Article(id=f"en-{topic}", title=f"All about {topic}", language="en", body="",
                       questions=[f"what is the {topic} of my {WORDS[(i + j) % 10]} and the {WORDS[(i + 3 * j) % 10]}"
                                  for j in range(6)])
               for i, topic in enumerate(["invoice", "password", "delivery", "holiday", "address", "voucher",
                                                  "payment", "login", "newsletter", "refund"])]
    store.upsert_articles(_articles() + english)
    indexer.build(store, embedder, home.index_dir)
    engine = Deflector(home, store, IndexBundle.load(home.index_dir), embedder, None)
    monkeypatch.setattr(part_choice, "MIN_SAMPLES", 40)   # a small help center, to keep the test quick
    weights, report = learn_part_weights(engine)
    assert report["en"]["cross_language"]
    assert weights.get("en", (0.5, 0.5))[1] <= 0.5, report
    # were the help center's articles English only, the English-only part could count more
    monkeypatch.setattr(part_choice, "FOREIGN_ARTICLES", 1.0)
    weights, report = learn_part_weights(engine)
    assert "cross_language" not in report["en"]


def test_questions_of_the_index_are_judged_by_an_engine_without_them(tmp_path):
    """A question variant must find its article without its own text anywhere in the engine: not as a
    neighbour, not in the classifiers that learnt the articles' texts (which find it with any shares)."""
    engine = _engine(tmp_path, TwoPartEmbedder())
    texts, own, exclude = part_choice.judged_questions(engine, None, None, 0)
    judges = part_choice.judging_engines(engine, own, exclude, None, 0)
    asked = np.concatenate([rows for _, rows in judges])
    assert sorted(asked.tolist()) == list(range(len(texts)))   # every question judged once
    for judge, rows in judges:
        with_doc = exclude[rows][exclude[rows] >= 0]
        if judge is engine:
            assert not len(with_doc)
            continue
        assert len(with_doc) and (judge.bundle.kind[with_doc] == DELETED).all()
        _, found = judge.bundle.vectors.search(engine.bundle.load_embeddings(engine.home.index_dir)[with_doc]
                                               .astype(np.float32), 1)
        assert not np.isin(found, with_doc).any()   # no longer in the index
        assert len(judge.bundle.article_vectors) == len(engine.bundle.article_vectors) - len(with_doc)
