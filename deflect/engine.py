"""What an engine is to the rest of deflect: the ``Engine`` interface that the service, the gap report,
the CLI and the calibration use, and the results it gives (``Suggestion`` with ``ArticleHit`` and
``TicketHit``; ``Scores`` and the evidence ``FEATURES``). ``deflect.deflector.Deflector`` is the engine.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from deflect.decision.calibrator import Calibrator
from deflect.decision.floor import shown_count
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index.bundle import IndexBundle
from deflect.index.classifier import Classifier
from deflect.index.learned import LearnedBoost
from deflect.store import Store

# word_cover: the share of the inquiry's word information its first article holds (``WordCover``), whatever
# the word-match weight of the ranking: a question about a text missing from the help center shares its
# subject's words with a sister article, not its particular ones. 0 without texts (the calibrator then
# leaves it out, see ``MIN_SPREAD``); NaN (not known) for an inquiry in another language than its article.
# cross_cover: the same across languages (``CrossCover``), only where word_cover is not known (NaN elsewhere);
# the decision reads it only for such inquiries (``Calibrator``'s ``substitutes``).
FEATURES = ("mix_top", "mix_margin", "knn_top", "knn_none", "clf_top", "clf_none", "article_sim",
            "neighbour_sim", "word_cover", "cross_cover")


@dataclass
class ArticleHit:
    """A suggested article: its score is the ranking's, not a probability; ``snippet`` is the passage
    of its body that best matches the inquiry (plain text; None for an article without a body)."""

    id: str
    title: str
    score: float
    url: str | None = None
    language: str | None = None
    snippet: str | None = None


def hit_score(value: float) -> float:
    """An article's ranking score as suggestions report it: within 0..1, four decimals."""
    return round(float(min(max(value, 0.0), 1.0)), 4)


@dataclass
class TicketHit:
    """A similar resolved ticket (its texts as stored, personal data redacted)."""

    id: str
    score: float
    subject: str
    body: str
    resolution: str
    article_id: str | None
    language: str | None = None


@dataclass
class Suggestion:
    """What deflect answers for one inquiry."""

    decision: str                    # "answer" | "suggest" | "no_answer" (deflect.decision.floor)
    confidence: float                # 0..1, calibrated probability that the first article is right
    articles: list[ArticleHit]       # best first (also for no_answer: the nearest candidates)
    language: str
    tickets: list[TicketHit] = field(default_factory=list)   # similar resolved tickets (only if asked)
    id: str | None = None
    shown: int | None = None         # how many of ``articles`` the customer is shown (None: by the rule)
    features: dict[str, float] = field(default_factory=dict, repr=False)
    vector: np.ndarray | None = field(default=None, repr=False)   # the inquiry's embedding

    def shown_articles(self) -> list[ArticleHit]:
        """The articles the customer is shown: the answer (two when nearly tied), up to three that
        might help, or none (``deflect.decision.floor.shown_count``)."""
        n = self.shown if self.shown is not None else shown_count(self.decision, [a.score for a in self.articles])
        return self.articles[:n]

    def to_dict(self) -> dict:
        vector, self.vector = self.vector, None
        try:
            data = asdict(self)
        finally:
            self.vector = vector
        data.pop("features")
        data.pop("vector")
        return data


@dataclass
class Scores:
    """Per-inquiry evidence, vectorised over a batch."""

    ranking: np.ndarray      # (n, n_articles) score used for ordering
    features: np.ndarray     # (n, len(FEATURES))
    neighbours: np.ndarray   # (n, k) document positions, -1 = none
    similarities: np.ndarray
    coded: np.ndarray | None = None   # (n,) the inquiry names its first article exactly (a code, "E-409"; a title word)


@runtime_checkable
class Engine(Protocol):
    """Suggests articles for inquiries and keeps its index current with live changes.

    ``bundle`` is the loaded index (None where an engine has none); ``model`` the name of the
    embedding model its vectors come from (None when unknown). ``calibrator`` is settable: a new
    calibration takes effect at once. ``learned`` (settable the same way) is the evidence from
    feedback that moves suggestions (None: nothing learned). Every model call is safe from several threads.
    """

    calibrator: Calibrator | None
    learned: LearnedBoost | None

    @property
    def home(self) -> Home: ...

    @property
    def store(self) -> Store: ...

    @property
    def bundle(self) -> IndexBundle | None: ...

    @property
    def model(self) -> str | None: ...

    @property
    def index_problem(self) -> str | None:
        """What is wrong with the index on disk while the loaded one keeps answering (it could not be
        reloaded: damaged or missing files); None when nothing is known to be wrong."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 embeddings (n, dim) with the index's model."""
        ...

    def embed_queries(self, texts: list[str], weights: dict[str, tuple[float, ...]] | None = None) -> np.ndarray:
        """Inquiries' query vectors: ``embed`` with the model's parts weighted per query language
        (``weights``, default those saved with the calibration; ``deflect.index.part_weights``)."""
        ...

    def judge(self, vectors: np.ndarray, exclude: list[int | np.ndarray | None] | None = None,
              classifier: Classifier | None = None,
              hidden: int | None = None, texts: list[str] | None = None,
              lexical: dict[str, float] | None = None) -> tuple[np.ndarray, list[str | None]]:
        """Evidence ``FEATURES`` and the first article id per vector; ``exclude[i]`` leaves document
        positions out of item i's neighbours, ``classifier`` replaces the index's, article column
        ``hidden`` is treated as if the article did not exist, and ``texts`` (the vectors' texts) add
        the lexical evidence, weighted per query language by ``lexical`` (default: the weights saved with
        the calibration; ``deflect.index.lexical_weights``)."""
        ...

    def judge_top(self, vectors: np.ndarray, exclude: list[int | np.ndarray | None] | None = None,
                  classifier: Classifier | None = None, hidden: int | None = None, k: int = 3,
                  texts: list[str] | None = None, lexical: dict[str, float] | None = None,
                  cross: bool | None = None) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """``judge`` with the first ``k`` articles per vector, (id, ranking score) best first; ``cross``: the
        word cover across languages for every inquiry in another language than its article (True), or only
        where the decision reads it (None: elsewhere NaN)."""
        ...

    def suggest(self, text: str, language: str | None = None, k: int = 5, with_tickets: int = 0) -> Suggestion:
        """Up to ``k`` articles (and ``with_tickets`` similar resolved tickets) and the decision."""
        ...

    def suggest_batch(self, texts: list[str], k: int = 5, exclude_tickets: list[str | None] | None = None,
                      vectors: np.ndarray | None = None, with_tickets: int = 0,
                      languages: list[str | None] | None = None) -> list[Suggestion]:
        """``suggest`` for many texts; ``exclude_tickets[i]`` leaves that ticket out of item i's
        neighbours, ``vectors`` (the texts' embeddings) skips embedding."""
        ...

    def upsert_article(self, article: Article) -> dict[str, list[str]]:
        """Store an article and make it searchable at once; the store's outcome (``unchanged`` ids...)."""
        ...

    def delete_article(self, article_id: str) -> None:
        """Remove an article from the store and the index (NotFoundError if there is none)."""
        ...

    def add_tickets(self, tickets: Iterable[Ticket]) -> dict[str, int]:
        """Store resolved tickets and make them searchable at once; counts of new/changed/unchanged."""
        ...

    def reload_if_changed(self) -> bool:
        """Reload the index if another process changed it; True if it did."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...
