"""The word-match (lexical) weight per help center and query language: learnt at calibration from the
customers' own questions (linked tickets, a labelled file) where words find the own articles clearly
better, never from the help center's own texts (which the word-match index holds word for word), saved
with the calibration, used at query time (weight 0: not computed) and shown by `deflect status`."""
from __future__ import annotations

import hashlib
import json

import numpy as np
from click.testing import CliRunner

from deflect.cli import cli
from deflect.decision.calibrator import Calibrator
from deflect.decision.lexical_choice import learn_lexical_weights
from deflect.decision.refit import calibrate_from_history
from deflect.deflector import Deflector
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index.bundle import IndexBundle
from deflect.index.lexical_weights import query_weights
from deflect.store import open_store

CODES = ["X4711", "K2030", "B7781", "Q1203", "M5566", "T9090", "R3141", "L2718", "Z1618", "P4242",
         "H8080", "D6060"]


class NoiseEmbedder:
    """A model that knows nothing of a text's meaning: every text a fixed random unit vector."""

    name, dim = "noise", 32

    def encode(self, texts, progress=None, chunk=1024):
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            v = np.random.default_rng(int(hashlib.md5(text.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
            out[i] = v / np.linalg.norm(v)
        if progress:
            progress(len(texts))
        return out


def _articles() -> list[Article]:
    return [Article(id=f"tarif-{code.lower()}", title=f"Der Tarif {code}", language="de",
                    body=f"Der Tarif {code} ist unser Angebot. Alles zum Tarif {code} finden Sie hier.")
            for code in CODES]


def _tickets(per_article: int = 10) -> list[Ticket]:
    out = [Ticket(f"t-{code}-{j}", f"Ich habe eine Frage zu {code} und der Rechnung Nummer {j}",
                  f"Bitte helfen Sie mir mit {code}, es ist {j} Tage her", "erledigt", f"tarif-{code.lower()}", "de")
           for code in CODES for j in range(per_article)]
    # unlinked tickets of one question the FAQ does not cover (the same words: each other's neighbours)
    out += [Ticket(f"u-{j}", "Ich habe eine ganz andere Sache", "Wo ist das Gewinnspiel", "erledigt", None, "de")
            for j in range(20)]
    return out


def _engine(tmp_path, tickets: list[Ticket]) -> Deflector:
    embedder = NoiseEmbedder()
    home = Home(tmp_path / "home").ensure()
    store = open_store(home.db_path, check_same_thread=False)
    store.upsert_articles(_articles())
    store.upsert_tickets(tickets)
    indexer.build(store, embedder, home.index_dir)
    return Deflector(home, store, IndexBundle.load(home.index_dir), embedder, None)


def test_words_that_find_the_own_articles_get_a_weight_saved_and_used_with_the_calibration(tmp_path):
    engine = _engine(tmp_path, _tickets())
    engine.lexical_weight = 0.0   # the setting's default, whatever the environment says
    weights, report = learn_lexical_weights(engine)
    assert weights.get("de", 0) > 0, report
    assert report["de"]["mrr"] > report["de"]["mrr_setting"] and report["de"]["samples"] >= 100
    calibrate_from_history(engine)   # learns them, fits the decision with them, keeps them with it
    assert engine.lexical_weights == weights
    reopened = Deflector.open(engine.home, embedder=engine.embedder)
    reopened.lexical_weight = 0.0
    assert reopened.lexical_weights == weights
    answer = reopened.suggest("Ich habe eine Frage zu Q1203, bitte")
    assert answer.articles[0].id == "tarif-q1203"


def test_a_language_with_weight_0_is_not_word_matched(tmp_path, monkeypatch):
    engine = _engine(tmp_path, _tickets())
    engine.lexical_weight = 0.0
    engine.calibrator = Calibrator()
    engine.calibrator.lexical_weights_ = {"de": 0.4}
    asked: list[list[str]] = []
    original = engine._texts.lexical_scores
    monkeypatch.setattr(engine._texts, "lexical_scores", lambda texts, n, m: asked.append(list(texts))
                        or original(texts, n, m))
    vectors = engine.embed(["Ich habe eine Frage zu X4711", "What is the price of X4711 for me"])
    engine.score(vectors, texts=["Ich habe eine Frage zu X4711", "What is the price of X4711 for me"])
    assert asked == [["Ich habe eine Frage zu X4711"]]   # the English query (no weight learnt, setting 0): none
    assert list(query_weights(["Ich habe eine Frage", "What is it"], {"de": 0.4}, 0.2)) == [np.float32(0.4),
                                                                                        np.float32(0.2)]


def test_the_help_centers_own_texts_teach_no_weight(tmp_path):
    engine = _engine(tmp_path, [])   # no tickets, no labelled file: only its own texts, which words find
    assert learn_lexical_weights(engine) == ({}, {})


def test_too_few_linked_tickets_keep_the_setting(tmp_path):
    engine = _engine(tmp_path, _tickets(per_article=3))
    engine.lexical_weight = 0.0
    weights, report = learn_lexical_weights(engine)
    assert weights == {} and report["de"]["weight"] is None and "too few" in report["de"]["why"]


def test_calibrator_keeps_the_weights_and_status_shows_them(tmp_path, monkeypatch):
    monkeypatch.delenv("DEFLECT_LEXICAL_WEIGHT", raising=False)
    engine = _engine(tmp_path, _tickets())
    calibrate_from_history(engine)
    learnt = engine.lexical_weights
    assert Calibrator.from_dict(engine.calibrator.to_dict()).lexical_weights_ == learnt
    engine.close()
    runner = CliRunner()
    text = runner.invoke(cli, ["status", "--home", str(tmp_path / "home")])
    assert text.exit_code == 0, text.output
    assert f"word match:  de: {learnt['de']:g} (own article found with MRR" in text.output
    assert "other languages: off (the setting)" in text.output
    # all its tickets are German like its articles: nothing teaches the word cover across languages
    assert "words across languages: not read (the labelled questions in another language" in text.output
    data = json.loads(runner.invoke(cli, ["status", "--json", "--home", str(tmp_path / "home")]).output)
    assert data["lexical_weights"]["weights"] == learnt
    assert data["lexical_weights"]["learnt"]["de"]["samples"] >= 100


def test_the_demo_help_center_learns_from_its_tickets_and_keeps_english_questions_off(demo_deflector):
    """The demo's English tickets are too few to learn from: English questions get the setting (off by
    default), so no word match draws them to English articles of other topics."""
    report = demo_deflector.store.get_setting("calibration")["report"]["lexical_weights"]
    assert report["de"]["samples"] >= 100 and "mrr_setting" in report["de"]
    assert report["en"]["weight"] is None and "too few" in report["en"]["why"]
    assert "en" not in demo_deflector.lexical_weights
