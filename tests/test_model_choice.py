"""`deflect index --model auto`: the embedding model chosen per help center from its own questions."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fakes import FakeEmbedder

from deflect.cli import cli
from deflect.decision.model_choice import MIN_QUESTIONS, choose_model
from deflect.errors import DeflectError
from deflect.formats import Article, Inquiry, Ticket
from deflect.store import open_store
from deflect.text import text_hash

ROOT = Path(__file__).resolve().parent.parent
CODES = ["Ananas", "Birnen", "Citrus", "Datteln", "Erdbeer", "Feigen", "Granat", "Holunder", "Ingwer", "Johannis"]


class BlindEmbedder(FakeEmbedder):
    """Vectors that know nothing of the words: a random direction per text."""

    def encode(self, texts, progress=None, chunk=1024):
        out = np.array([np.random.default_rng(int(hashlib.md5(t.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
                        for t in texts], np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def loader(**models):
    return lambda name: models[name]


@pytest.fixture
def store(tmp_path):
    """Ten articles whose bodies name their own fruit; asked about in the customers' words."""
    store = open_store(tmp_path / "deflect.db")
    store.upsert_articles([Article(id=f"a{i}", title=f"Lieferung Nummer {i}", language="de",
                                   body=f"Die {code}-Kiste kommt montags. Wer {code} bestellt, zahlt bei Abholung.")
                           for i, code in enumerate(CODES)])
    return store


def questions(n_per_article: int) -> list[Inquiry]:
    phrasings = ["Wann kommt meine {c} Lieferung?", "Wo bleibt die {c} Kiste", "{c} bestellt, wie zahlen?",
                 "Kann ich {c} abholen?", "Hilfe zur {c} Bestellung", "Ist {c} schon unterwegs?",
                 "{c} Kiste fehlt", "Preis der {c}", "{c} montags?", "Ich warte auf {c}", "{c} Abholung", "{c}??"]
    return [Inquiry(id=f"q{i}-{k}", text=phrasings[k].format(c=code), expected_article=f"a{i}", labelled=True)
            for i, code in enumerate(CODES) for k in range(n_per_article)]


def test_the_model_that_finds_the_own_articles_is_chosen_and_its_vectors_reused(store):
    sharp = FakeEmbedder()
    choice, reuse = choose_model(store, questions(12), ["blind", "sharp"],
                                 load=loader(blind=BlindEmbedder(), sharp=sharp))
    assert choice.model == "sharp"
    assert "better" in choice.reason and choice.questions == 120 and choice.articles == 10
    assert choice.scores["sharp"]["top1"] >= 0.8 and choice.scores["blind"]["top1"] <= 0.3
    body = next(a for a in store.articles() if a.id == "a3")
    doc = f"{body.title}\n{body.body}"
    assert np.allclose(reuse[text_hash(doc)], sharp.encode([doc])[0], atol=1e-6)
    assert "sharp" in choice.summary() and "120 questions about 10 articles" in choice.summary()


def test_the_default_stays_unless_another_is_clearly_better(store):
    both = loader(blind=BlindEmbedder(), sharp=FakeEmbedder(), twin=FakeEmbedder())
    assert choose_model(store, questions(12), ["sharp", "blind"], load=both)[0].model == "sharp"
    # a tie with the default is no reason to change; between two equally good others the cheaper (earlier) wins
    assert choose_model(store, questions(12), ["sharp", "twin"], load=both)[0].model == "sharp"
    assert choose_model(store, questions(12), ["blind", "sharp", "twin"], load=both)[0].model == "sharp"


def test_too_few_questions_keep_the_default_and_say_so(store):
    few = questions(12)[:MIN_QUESTIONS - 1]
    choice, reuse = choose_model(store, few, ["blind", "sharp"],
                                 load=loader(blind=BlindEmbedder(), sharp=FakeEmbedder()))
    assert choice.model == "blind" and reuse == {}
    assert "too few" in choice.reason and choice.scores == {}


def test_linked_tickets_count_as_questions(store):
    store.upsert_tickets([Ticket(id=f"t{i}", subject=q.text, body=q.text, resolution="Erledigt.",
                                 article_id=q.expected_article, language="de")
                          for i, q in enumerate(questions(11))])
    choice, _ = choose_model(store, None, ["blind", "sharp"], load=loader(blind=BlindEmbedder(), sharp=FakeEmbedder()))
    assert choice.model == "sharp" and choice.questions == 110


def test_a_labelled_file_naming_unknown_articles_is_refused(store):
    wrong = [*questions(12), Inquiry(id="x", text="Kiwi?", expected_article="kiwi", labelled=True)]
    with pytest.raises(DeflectError, match="1 articles the store does not have"):
        choose_model(store, wrong, ["blind", "sharp"], load=loader(blind=BlindEmbedder(), sharp=FakeEmbedder()))


@pytest.mark.slow
def test_index_model_auto_stores_the_choice_and_status_tells_it(tmp_path):
    """The demo help center (articles and linked tickets) with the real models: the model chosen is the one
    the index is built with and kept by the next `deflect index`; naming a model drops the choice."""
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(ROOT / "faq_articles"), "--home", str(home)]).exit_code == 0
    result = runner.invoke(cli, ["index", "--quiet", "--model", "auto", "--candidates", "use-m3", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("model: ")
    info = json.loads(runner.invoke(cli, ["status", "--json", "--home", str(home)]).output)
    chosen = info["model_choice"]["model"]
    assert chosen in ("use-m3+minilm", "use-m3") and info["index"]["model"] == chosen
    assert info["model_choice"]["questions"] >= MIN_QUESTIONS and set(info["model_choice"]["scores"]) == {
        "use-m3+minilm", "use-m3"}
    assert "chosen by --model auto" in runner.invoke(cli, ["status", "--home", str(home)]).output
    again = runner.invoke(cli, ["index", "--quiet", "--home", str(home)])
    assert again.exit_code == 0 and f"with {chosen} " in again.output and "unchanged" in again.output
    assert json.loads(runner.invoke(cli, ["status", "--json", "--home", str(home)]).output)["model_choice"] == \
        info["model_choice"]

    other = "use-m3" if chosen == "use-m3+minilm" else "use-m3+minilm"
    assert runner.invoke(cli, ["index", "--quiet", "--model", other, "--home", str(home)]).exit_code == 0
    info = json.loads(runner.invoke(cli, ["status", "--json", "--home", str(home)]).output)
    assert info["index"]["model"] == other and info["model_choice"] is None
    assert "chosen by" not in runner.invoke(cli, ["status", "--home", str(home)]).output


def test_labelled_without_auto_is_a_usage_error(tmp_path):
    labelled = tmp_path / "dev.jsonl"
    labelled.write_text('{"id": "1", "text": "x", "expected_article": "a"}\n')
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["index", "--labelled", str(labelled), "--home", str(home)])
    assert result.exit_code == 2 and "--model auto" in result.output
