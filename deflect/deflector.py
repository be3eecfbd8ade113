"""The deflection engine (``Deflector``, an ``deflect.engine.Engine``): suggest FAQ articles for an
inquiry, and decide whether to answer at all.

For an inquiry the engine combines these pieces of evidence per article:
- votes of its nearest documents (article titles/questions/bodies and resolved tickets; who may vote:
  ``deflect.neighbours``), each carrying the soft article labels spread from linked to unlinked tickets
  (``deflect.labels``) — neighbours that agents answered without any article vote for "no article";
- a linear classifier over the same embeddings (with a "no article" class);
- the best similarity to the article's own title, questions and body (an inquiry that is, word for
  word, one of an article's own questions gets that article first, even right after the question was
  added and before the classifier has seen it);
- for articles with little ticket history, a classifier over the article documents alone (titles,
  questions, bodies; ``deflect.index.classifier.fit_article_classifier``): votes and the main classifier learn mostly
  from tickets, so an article that few tickets were linked to -- a new one, or one agents rarely
  link -- lost to siblings with a long history even where its own questions fit the inquiry better.
  This term's share fades as the article's ticket history grows.
A calibrated model (``deflect.decision.calibrator``) turns these into a confidence, and the decision is
``answer`` when the confidence reaches the calibrated threshold; below it ``suggest`` (these articles
might help) when the right article is likely enough among the first three, else ``no_answer``
(``deflect.decision.floor``).
"""
from __future__ import annotations

import os
import threading

import numpy as np

from deflect.decision.calibrator import Calibrator
from deflect.decision.floor import decide, in_other_language, relevance, shown_count
from deflect.embedder import Embedder, load_embedder
from deflect.engine import FEATURES, ArticleHit, Scores, Suggestion, hit_score
from deflect.errors import DeflectError
from deflect.home import Home
from deflect.index import part_weights as parts
from deflect.index.article_text import ArticleTexts
from deflect.index.batching import MicroBatcher
from deflect.index.bundle import IndexBundle
from deflect.index.classifier import Classifier
from deflect.index.documents import BODY, TICKET
from deflect.index.files import remove_orphans
from deflect.index.learned import LearnedBoost, with_votes
from deflect.index.lexical import content_words
from deflect.index.lexical_weights import LexicalWeights, query_weights
from deflect.index.live_updates import LiveIndexUpdates
from deflect.index.lock import index_lock
from deflect.index.part_weights import Weights
from deflect.index.spelling import Respeller
from deflect.labels import row_weights
from deflect.language import detect_language
from deflect.locks import FairRLock
from deflect.neighbours import Neighbourhood
from deflect.privacy import without_placeholders
from deflect.settings import from_env
from deflect.store import Store, open_store
from deflect.text import without_invisible

KNN_WEIGHT = 0.3          # share of the neighbour votes in the ranking (the classifier has the rest)
ARTICLE_SIM_WEIGHT = 0.1  # bonus for similarity to the article's own title, questions and body
NEAR_DUPLICATE = 0.95     # an inquiry this similar to one of an article's own texts (a question variant
NEAR_DUPLICATE_BONUS = 1.0  # added to the article's questions, word for word) gets that article first
CODE_BONUS = 1.0          # an article the inquiry names exactly (code, title-only word): as if asked so
ARTICLE_MODEL_WEIGHT = 0.7   # bonus from the article-text classifier for an article without ticket
ARTICLE_MODEL_HISTORY = 3.0  # history, fading as weight x HISTORY / (HISTORY + tickets labelled with it)
EMBED_SLICE = 32          # texts embedded per hold of the query lock (a query waits for one slice at most)


class Deflector(LiveIndexUpdates):
    """Loads the store, the index and the calibration of a home folder once; answers inquiries."""

    def __init__(self, home: Home, store: Store, bundle: IndexBundle, embedder: Embedder,
                 calibrator: Calibrator | None):
        self.home = home
        self.store = store
        self.bundle = bundle
        self.embedder = embedder
        self.calibrator = calibrator
        self.suggest_floor: float | None = from_env("suggest_floor")   # moves the fitted floor (a setting)
        # word-match evidence in the ranking for query languages with no weight learnt at calibration (a setting)
        self.lexical_weight: float = from_env("lexical_weight")
        self._respell: Respeller | None = None   # set with the articles (_prepare)
        self.learned: LearnedBoost | None = None   # feedback evidence (deflect.feedback.learning sets it)
        self._lock = FairRLock()              # queries, and swapping in changed index data (first come, first served)
        self._write_lock = threading.RLock()  # one change or save at a time; queries do not wait for saves
        self._manifest_mtime = self._mtime()
        self._reload_problem: str | None = None
        # False for a published snapshot (deflect.index.snapshots): live changes are answered from memory
        # and kept in the store, the next published snapshot carries them; the snapshot is never rewritten
        self.saves_index = True
        # concurrent queries of this process share one model forward (see deflect.index.batching), and
        # concurrent live suggestions also one search and scoring
        self.embed_batcher = MicroBatcher(self._embed_slices, max_batch=EMBED_SLICE)
        self.query_batcher = MicroBatcher(self._embed_weighted, max_batch=EMBED_SLICE)   # (text, shares) items
        self.suggest_batcher = MicroBatcher(self._suggest_together, max_batch=EMBED_SLICE)
        self._prepare()

    @classmethod
    def open(cls, home: Home | str | None = None, model: str | None = None,
             device: str | None = None, embedder: Embedder | None = None) -> Deflector:
        """Open a home folder's store, index (checked against ``model`` if given) and calibration;
        ``embedder`` (an already loaded model) is used when the index was built with it."""
        home = home if isinstance(home, Home) else Home.resolve(home)
        store = open_store(home.database, check_same_thread=False)
        bundle = IndexBundle.load(home.index_dir, expected_model=model)
        if embedder is None or embedder.name != bundle.model:
            embedder = load_embedder(bundle.model, device=device)
        if embedder.dim != bundle.dim:
            raise DeflectError(f"model {bundle.model!r} gives {embedder.dim}-dim vectors, the index has "
                               f"{bundle.dim}", hint="Rebuild the index with `deflect index --full`.")
        remove_orphans(home.index_dir)
        return cls(home, store, bundle, embedder, Calibrator.load(store))

    # -- loading --------------------------------------------------------------------------------
    def _mtime(self) -> float:
        try:
            return os.stat(self.home.index_dir / "manifest.json").st_mtime
        except OSError:
            return 0.0

    def _prepare(self) -> None:
        b = self.bundle
        self._articles = {a.id: a for a in self.store.articles()}
        self._respell = Respeller((text for a in self._articles.values() for text in (a.title, *a.questions, a.body)),
                                  typos=from_env("typo_respelling") == "on")
        positions = b.article_positions
        order = np.argsort(b.seed[positions], kind="stable")
        self._art_vectors = np.ascontiguousarray(b.article_vectors[order], dtype=np.float32)
        self._art_of = b.seed[positions][order]
        self._art_starts = np.flatnonzero(np.r_[True, np.diff(self._art_of) != 0]) if len(order) else np.array([])
        self._art_hashes = b.hashes[positions][order]
        self._art_is_body = b.kind[positions][order] == BODY
        self._art_rows = {int(a): (int(lo), int(hi)) for a, lo, hi in zip(
            self._art_of[self._art_starts], self._art_starts, np.r_[self._art_starts[1:], len(order)])}
        self._texts = ArticleTexts(self._articles, list(b.article_ids), getattr(self, "_texts", None))
        self._neighbours = Neighbourhood(b, self.store)
        self._prepare_article_model()

    def _prepare_article_model(self) -> None:
        """The article-text classifier and its weight per article column (``ARTICLE_MODEL_WEIGHT``,
        fading with the ticket label mass the article has)."""
        b = self.bundle
        self._article_model = b.article_model()
        n = max(b.n_articles, b.labels.shape[1])
        history = np.zeros(n, np.float32)
        if b.labels.shape[1]:
            history[:b.labels.shape[1]] = np.asarray(b.labels.T @ (b.kind == TICKET).astype(np.float32)).ravel()
        self._article_model_weight = (ARTICLE_MODEL_WEIGHT * ARTICLE_MODEL_HISTORY
                                      / (ARTICLE_MODEL_HISTORY + history)).astype(np.float32)

    def reload_if_changed(self) -> bool:
        """Reload the index if another process rebuilt or updated it; True if reloaded. Queries go on
        with the old index while the new one loads; a reload waits for no change of this process and
        for no other process's save (the next call looks again). Index files that cannot be loaded
        (damaged, missing) leave the loaded index answering, and ``index_problem`` says why."""
        mtime = self._mtime()
        if mtime == self._manifest_mtime:
            return False
        if not self._write_lock.acquire(blocking=False):   # this process is changing/saving the index
            return False
        try:
            with index_lock(self.home.index_dir, blocking=False) as unlocked:
                if not unlocked:
                    return False
                mtime = self._mtime()
                if mtime == self._manifest_mtime:
                    return False
                try:
                    bundle = IndexBundle.load(self.home.index_dir)
                except DeflectError as exc:   # tried again when the manifest changes (a repair)
                    self._reload_problem = f"the index on disk could not be loaded, the loaded one answers: {exc}"
                    self._manifest_mtime = mtime
                    return False
                embedder = self.embedder if bundle.model == self.embedder.name else load_embedder(bundle.model)
                calibrator = Calibrator.load(self.store)
                with self._lock:
                    self.bundle, self.embedder, self.calibrator = bundle, embedder, calibrator
                    self._manifest_mtime = mtime
                    self._reload_problem = None
                    self._prepare()
            remove_orphans(self.home.index_dir)
            return True
        finally:
            self._write_lock.release()

    @property
    def index_problem(self) -> str | None:
        """What is wrong with the index files on disk (the loaded index keeps answering), or with its
        saved embeddings; None when nothing is known to be wrong."""
        return self._reload_problem or self.bundle.problem

    # -- scoring --------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The name of the embedding model of the loaded index."""
        return self.bundle.model

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 embeddings (n, dim) with the index's model. Up to ``EMBED_SLICE``
        texts (a live query) are embedded in one forward with those of concurrent callers
        (``embed_batcher``), unless this thread holds the query lock (the forward takes it)."""
        texts = list(texts)
        if 0 < len(texts) <= EMBED_SLICE and not self._lock.held():
            return self.embed_batcher(texts)
        return self._embed_slices(texts)

    def _embed_slices(self, texts: list[str]) -> np.ndarray:
        """The model runs under the query lock (tokenizers are not thread-safe), ``EMBED_SLICE`` texts
        at a time, so a query waits for one slice at most and a change for the query in progress (the
        lock is fair); texts go shortest first, short ones not padded to long ones."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.embedder.dim), np.float32)
        for start in range(0, len(order), EMBED_SLICE):
            part = order[start:start + EMBED_SLICE]
            with self._lock:
                out[part] = self.embedder.encode([texts[i] for i in part])
        return out

    @property
    def part_weights(self) -> Weights | None:
        """The query-side shares of the model's parts per query language, saved with the calibration
        (``deflect.index.part_weights``); None: the parts count alike."""
        return getattr(self.calibrator, "part_weights_", None) if self.calibrator is not None else None

    @property
    def lexical_weights(self) -> LexicalWeights:
        """The word-match weights per query language learnt at calibration (``deflect.index.lexical_weights``);
        a language not named gets the ``lexical_weight`` setting."""
        return dict(getattr(self.calibrator, "lexical_weights_", None) or {}) if self.calibrator is not None else {}

    def ranking_and_words(self, vectors: np.ndarray, exclude: list[int | np.ndarray | None] | None,
                          texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, articles) the ranking scores without word-match evidence (see ``score``; codes count) and that evidence,
        unweighted: the ranking with word-match weight w is ``ranking + w * words`` (what learning the
        weight needs, ``deflect.decision.lexical_choice``)."""
        texts = list(texts)
        with self._lock:
            ranking = self.score(vectors, exclude).ranking
            ranking = ranking + CODE_BONUS * self._texts.named_matches(texts, ranking.shape[1])
            return ranking, self._texts.lexical_scores(texts, len(texts), ranking.shape[1])

    def embed_queries(self, texts: list[str], weights: Weights | None = None) -> np.ndarray:
        """Query vectors of inquiries: ``embed`` with each part weighted by the shares of the text's
        language (``weights``, default ``part_weights``); a part with share 0 is not run. With equal
        shares exactly ``embed``."""
        weights = self.part_weights if weights is None else weights
        # "kuendigen" as the help center writes it: "kündigen"
        texts = [self._respell(t) for t in texts] if self._respell is not None else list(texts)
        if not parts.weights_differ(weights):
            return self.embed(texts)
        items = [(text, parts.shares_of(weights, parts.query_language(text))) for text in texts]
        if 0 < len(items) <= EMBED_SLICE and not self._lock.held():
            return self.query_batcher(items)
        return self._embed_weighted(items)

    def _embed_weighted(self, items: list[tuple[str, tuple[float, ...] | None]]) -> np.ndarray:
        """``_embed_slices`` for (text, shares) items: one forward per slice of texts with the same shares."""
        out = np.zeros((len(items), self.embedder.dim), np.float32)
        groups: dict[tuple[float, ...] | None, list[int]] = {}
        for i, (_, shares) in enumerate(items):
            groups.setdefault(shares, []).append(i)
        for shares, members in groups.items():
            members.sort(key=lambda i: len(items[i][0]))
            for start in range(0, len(members), EMBED_SLICE):
                part = members[start:start + EMBED_SLICE]
                with self._lock:
                    out[part] = parts.query_vectors(self.embedder, [items[i][0] for i in part], shares)
        return out

    def _logged_vector(self, vector: np.ndarray) -> np.ndarray | None:
        """An inquiry's embedding as stored for the gap report: the usual vector (None where a part
        was not run for it, the gap report embeds it then)."""
        if parts.similarity_scale(vector[None, :]) is None:
            return vector
        return parts.unweighted(vector, self.embedder.part_dims())

    def score(self, vectors: np.ndarray, exclude: list[int | np.ndarray | None] | None = None,
              classifier: Classifier | None = None, hidden: int | None = None,
              texts: list[str] | None = None, learned: LearnedBoost | None = None,
              lexical: LexicalWeights | None = None, cross: bool | None = None) -> Scores:
        """Evidence per article for each query vector (and its text, for the lexical evidence; without
        texts there is none). For judging documents of the index as if they were new: ``exclude[i]``
        drops a document position (or an array of them) from item i's neighbours, ``classifier``
        replaces the index's, and article column ``hidden`` is treated as if the article did not exist.
        ``learned`` (feedback evidence) moves the ranking of the articles it has evidence about; the
        features stay those of the retrieval evidence (the votes reach the confidence in ``suggest_batch``,
        counted once). ``lexical``: the word-match weights per query language (default ``lexical_weights``;
        a language not named gets the setting)."""
        b = self.bundle
        n, n_art = len(vectors), b.n_articles
        sims, nbrs = self._neighbours.voters(vectors, exclude)
        valid = nbrs >= 0
        weights = row_weights(nbrs, sims)
        knn = b.votes(nbrs, weights)   # = csr(weights) @ labels, without a sparse matrix per query
        if knn.shape[1] < n_art:  # articles added since the labels were spread
            knn = np.pad(knn, ((0, 0), (0, n_art - knn.shape[1])))
        if hidden is not None:
            knn[:, hidden] = 0.0
        knn_none = np.clip(1.0 - knn.sum(1), 0.0, 1.0)
        classifier = classifier if classifier is not None else b.classifier
        if classifier is not None and hidden is not None:
            classifier = classifier.without(np.array([hidden]))
        if classifier is not None:
            clf = classifier.proba(vectors, n_art)
            clf_art, clf_none = clf[:, :n_art], clf[:, n_art]
            mix = KNN_WEIGHT * knn + (1 - KNN_WEIGHT) * clf_art
        else:
            clf_art, clf_none, mix = knn, knn_none, knn
        if texts is not None:   # evidence like the others: it moves the confidence too
            weight = query_weights(texts, self.lexical_weights if lexical is None else lexical, self.lexical_weight)
            rows = np.flatnonzero(weight > 0)   # a query with weight 0 is not word-matched at all
            if len(rows):
                words = np.zeros_like(mix)
                words[rows] = weight[rows, None] * self._texts.lexical_scores([texts[i] for i in rows], len(rows),
                                                                              n_art)
                mix = mix + words
        boost = learned.boost(vectors, b.article_ids[:n_art]) if learned is not None and len(learned) else 0.0
        art_sim = np.full((n, n_art), -1.0, np.float32)
        if len(self._art_vectors):
            s = vectors @ self._art_vectors.T
            art_sim[:, self._art_of[self._art_starts]] = np.maximum.reduceat(s, self._art_starts, axis=1)
        ranking = (mix + boost + ARTICLE_SIM_WEIGHT * art_sim + NEAR_DUPLICATE_BONUS * (art_sim >= NEAR_DUPLICATE)
                   + self._article_model_bonus(vectors, n_art, hidden))
        named = self._texts.named_matches(texts, n_art) if texts is not None else None
        if named is not None:
            ranking = ranking + CODE_BONUS * named
        if hidden is not None:
            ranking[:, hidden] = -np.inf
        if n_art == 0:
            features = np.zeros((n, len(FEATURES)), np.float32)
        else:
            order = np.argsort(-ranking, axis=1)
            top = order[:, 0]
            second = mix[np.arange(n), order[:, 1]] if n_art > 1 else np.zeros(n, np.float32)
            idx = np.arange(n)
            cover = self._texts.word_cover(texts, top) if texts is not None else np.zeros(n, np.float32)
            wanted = self._reads_cross_cover() if cross is None else cross
            across = self._texts.cross_cover(texts, top, np.isnan(cover), self._word_vectors, self.embedder.name) \
                if texts is not None and wanted else np.full(n, np.nan, np.float32)
            features = np.column_stack([
                mix[idx, top], mix[idx, top] - second, knn[idx, top], knn_none, clf_art[idx, top],
                clf_none, art_sim[idx, top], np.where(valid[:, 0], sims[:, 0], 0.0), cover, across,
            ]).astype(np.float32)
        coded = named[np.arange(n), np.argmax(ranking, axis=1)] > 0 \
            if named is not None and n_art and hidden is None else None
        return Scores(ranking, features, nbrs, sims, coded)

    def _reads_cross_cover(self) -> bool:
        """Whether the decision reads ``cross_cover`` (else it is not worth its word vectors: NaN)."""
        reduced = getattr(self.calibrator, "reduced_", None)
        column = FEATURES.index("cross_cover")
        return reduced is not None and len(reduced[0]) > column and bool(reduced[0][column] != 0)

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        """Vectors of single words from the model's multilingual part (``CrossCover``), under the query lock
        ``EMBED_SLICE`` words at a time (a calibration's many new words do not hold up a query for long)."""
        parts = []
        for start in range(0, len(words), EMBED_SLICE):
            with self._lock:
                parts.append(self.embedder.word_vectors(words[start:start + EMBED_SLICE]))
        return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)

    def _article_model_bonus(self, vectors: np.ndarray, n_articles: int, hidden: int | None) -> np.ndarray:
        """(n, n_articles): the article-text classifier's probabilities (``hidden`` left out), times
        each article's weight; 0 without that classifier."""
        model = self._article_model
        if model is None:
            return np.zeros((len(vectors), n_articles), np.float32)
        if hidden is not None:
            model = model.without(np.array([hidden]))
        return model.proba(vectors, n_articles)[:, :n_articles] * self._article_model_weight[:n_articles]

    def judge(self, vectors: np.ndarray, exclude: list[int | np.ndarray | None] | None = None,
              classifier: Classifier | None = None,
              hidden: int | None = None, texts: list[str] | None = None,
              lexical: LexicalWeights | None = None) -> tuple[np.ndarray, list[str | None]]:
        """Evidence features and first article id per vector (see ``score`` for the arguments):
        what calibration needs to judge documents of the index as if they were new inquiries."""
        with self._lock:
            scores = self.score(vectors, exclude, classifier, hidden, texts, lexical=lexical)
            ids = self.bundle.article_ids
            firsts = [ids[a] if ids[a] in self._articles else None
                      for a in np.argmax(scores.ranking, axis=1)] if len(ids) else [None] * len(vectors)
            return scores.features, firsts

    def judge_top(self, vectors: np.ndarray, exclude: list[int | np.ndarray | None] | None = None,
                  classifier: Classifier | None = None, hidden: int | None = None, k: int = 3,
                  texts: list[str] | None = None, lexical: LexicalWeights | None = None,
                  cross: bool | None = None) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """``judge`` with the first ``k`` articles per vector and their scores, as ``suggest`` ranks them
        (what fitting the relevance floor needs); ``cross``: the word cover across languages too (fitting a
        decision: True), or only where the decision reads it (None)."""
        with self._lock:
            scores = self.score(vectors, exclude, classifier, hidden, texts, lexical=lexical, cross=cross)
            ids = self.bundle.article_ids
            ranked: list[list[tuple[str, float]]] = []
            for row in scores.ranking:
                order = np.argsort(-row)[:k] if len(ids) else []
                ranked.append([(ids[a], hit_score(row[a])) for a in order
                               if ids[a] in self._articles and np.isfinite(row[a])])
            return scores.features, ranked

    def _confidence(self, features: np.ndarray) -> tuple[np.ndarray, float]:
        if self.calibrator is not None:
            return self.calibrator.predict_proba(features), self.calibrator.threshold_
        return np.clip(features[:, 0], 0.0, 1.0), 0.5

    def _relevance(self, scores: Scores, orders: np.ndarray, confidence: np.ndarray, threshold: float,
                   languages: list[str]) -> tuple[np.ndarray, float]:
        """P(the right article is among those a suggestion shows) and the floor for "might help"; the
        floor's similarity guard is its own where an inquiry is in another language than its first article
        (``orders``: each inquiry's articles, best first)."""
        floor = self.calibrator.floor_ if self.calibrator is not None else None
        ids = self.bundle.article_ids
        firsts = [next((self._articles[ids[a]].language for a in order if ids[a] in self._articles), None)
                  for order in orders]
        return relevance(floor, scores.features, confidence, threshold, self.suggest_floor,
                         in_other_language(languages, firsts))

    # -- answering ------------------------------------------------------------------------------
    def suggest(self, text: str, language: str | None = None, k: int = 5,
                with_tickets: int = 0) -> Suggestion:
        """Suggest up to ``k`` articles (and ``with_tickets`` similar resolved tickets). Concurrent calls
        are answered together (``suggest_batcher``: one model forward, one search and one scoring for
        all), unless this thread holds the query lock (the batch takes it)."""
        if self._lock.held():
            return self.suggest_batch([text], k=k, with_tickets=with_tickets, languages=[language])[0]
        return self.suggest_batcher([(text, language, k, with_tickets)])[0]

    def _suggest_together(self, calls: list[tuple[str, str | None, int, int]]) -> list[Suggestion]:
        """``suggest`` for the (text, language, k, with_tickets) of several callers: one ``suggest_batch``
        per distinct (k, with_tickets), in the callers' order."""
        results: list[Suggestion | None] = [None] * len(calls)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (_, _, k, with_tickets) in enumerate(calls):
            groups.setdefault((k, with_tickets), []).append(i)
        for (k, with_tickets), members in groups.items():
            answers = self.suggest_batch([calls[i][0] for i in members], k=k, with_tickets=with_tickets,
                                         languages=[calls[i][1] for i in members])
            for i, answer in zip(members, answers):
                results[i] = answer
        return results  # type: ignore[return-value]

    def suggest_batch(self, texts: list[str], k: int = 5, exclude_tickets: list[str | None] | None = None,
                      vectors: np.ndarray | None = None, with_tickets: int = 0,
                      languages: list[str | None] | None = None) -> list[Suggestion]:
        """Batch version; ``exclude_tickets[i]`` leaves that ticket out of item i's neighbours
        (to judge a ticket that is itself in the index); ``vectors`` (the texts' usual embeddings) skips
        embedding: they are weighted as queries are (``part_weights``)."""
        texts = [without_invisible(t) for t in texts]   # a soft hyphen or zero-width space splits no word
        embedded_with = None
        if vectors is not None and parts.weights_differ(self.part_weights):
            vectors = parts.reweighted(vectors, texts, self.part_weights, self.embedder.part_dims())
        if vectors is None:  # embedded as the documents are: without redaction placeholders; before the
            embedded_with = self.embedder   # query lock is taken, so concurrent queries share a forward
            vectors = self.embed_queries([without_placeholders(text) for text in texts])
        with self._lock:
            if embedded_with is not None and embedded_with is not self.embedder:  # a reload changed the model
                vectors = self.embed_queries([without_placeholders(text) for text in texts])
            exclude = None
            if exclude_tickets is not None:
                exclude = self._neighbours.positions(exclude_tickets)
            scores = self.score(vectors, exclude, texts=texts, learned=self.learned)
            confidence, threshold = self._confidence(scores.features)
            langs = [(languages[i] if languages else None) or detect_language(text) for i, text in enumerate(texts)]
            orders = np.argsort(-scores.ranking, axis=1)   # each inquiry's articles, best first
            relevant, floor = self._relevance(scores, orders, confidence, threshold, langs)
            if scores.coded is not None:   # the article the customer names exactly might help at least
                relevant = np.where(scores.coded, np.maximum(relevant, floor), relevant)
            if self.learned is not None and len(self.learned) and self.bundle.n_articles:
                # customers' votes on the first article are evidence about exactly what the confidence
                # estimates: Bayes' rule adds their log-likelihood ratio to its log-odds (LearnedBoost.log_odds)
                votes = self.learned.log_odds(vectors, self.bundle.article_ids[:self.bundle.n_articles],
                                              np.argmax(scores.ranking, axis=1))
                voted = with_votes(confidence, votes)
                # they move only the first article's share of "the right one is among those shown"
                relevant = np.clip(relevant - (confidence - voted), voted, 1.0)
                confidence = voted
            # a question without a content word yet ("Hallo", "Wie kann ich", half-typed) is answered and
            # suggested nothing, however a decision fitted on few questions rates it
            asked = np.array([bool(content_words(t)) for t in texts], bool).reshape(len(texts))
            relevant = np.where(asked, relevant, 0.0)
            confidence = np.where(asked, confidence, 0.0)
            b = self.bundle
            results = []
            for i, lang in enumerate(langs):
                hits = []
                for a in orders[i][:k]:
                    article = self._articles.get(b.article_ids[a])
                    if article is None:
                        continue
                    hits.append(ArticleHit(article.id, article.title, hit_score(scores.ranking[i, a]),
                                           article.url, article.language, self._best_passage(vectors[i], a)))
                conf = float(confidence[i]) if hits else 0.0
                tickets = self._neighbours.similar_tickets(vectors[i], with_tickets,
                                                           exclude_tickets[i] if exclude_tickets else None)
                decision = decide(conf, threshold, float(relevant[i]), floor, bool(hits)) if asked[i] else "no_answer"
                results.append(Suggestion(
                    decision=decision, shown=shown_count(decision, [h.score for h in hits]),
                    confidence=round(conf, 4), articles=hits, language=lang, tickets=tickets,
                    features=dict(zip(FEATURES, map(float, scores.features[i]))),
                    vector=self._logged_vector(vectors[i]),
                ))
            return results

    def _best_passage(self, vector: np.ndarray, column: int) -> str | None:
        """The passage of an article's body most similar to the inquiry (None without a body)."""
        lo, hi = self._art_rows.get(int(column), (0, 0))
        body = np.flatnonzero(self._art_is_body[lo:hi]) + lo
        if not len(body):
            return None
        best = body[int(np.argmax(self._art_vectors[body] @ vector))]
        return self._texts.passages.get(self._art_hashes[best])

    def close(self) -> None:
        self.store.close()
