"""Building the report: judge new items, cluster, keep topic ids stable, and store the result (the
topics, each item's topic, the report's own row); ``stored_report`` reads it back.

Topics keep a stable id (``G-0001``, never reused): items stay in the topic they were put in, new
items join the nearest topic when they are close enough, and only the rest is clustered again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from deflect.clock import iso, utcnow
from deflect.engine import Engine
from deflect.errors import InputError
from deflect.gaps.cluster import MIN_SIZE, GapReport
from deflect.gaps.describe import keywords, norm, topic_entry
from deflect.gaps.fix_kind import attach_fixes
from deflect.gaps.items import (
    NEAR_MISS,
    ArticleDocs,
    Corpus,
    Labelled,
    article_docs,
    cached_rows,
    english_share,
    gap_space,
    gather,
    labelled_rows,
    load_items,
)
from deflect.gaps.model import OPEN, Counts, Evidence, NotFound, Params, Report, Run, Topic
from deflect.gaps.not_found import not_found
from deflect.gaps.why import article_facts, reason_counts
from deflect.gaps.workflow import (
    list_topics,
    listed_rows,
    merge_topics,
    record_event,
    reopen_withdrawn,
    workflow_state,
)
from deflect.text import text_hash

PERIOD_DAYS = 30
REUSE_SIMILARITY = 0.9      # a new cluster this close to an inactive old topic takes its id
REGION = "~"                # gap_items.topic_id of a candidate found inside a covered region; "~G-0001":
                            # one cut off that topic's covered branches (a re-run starts from the whole topic)


@dataclass
class Previous:
    """What earlier runs left: the stored topic rows and each item's topic."""
    topics: dict[str, dict]
    ids: list[str]                  # the old topic ids, sorted: cluster k < len(ids) is topic ids[k]
    topic_of: list[str | None]      # per item


@dataclass
class Naming:
    """The clusters of one fit as topics."""
    ids: dict[int, str]             # cluster -> topic id
    active: set[str]                # open topics with members now
    next_id: int
    topic_of: list[str | None]      # per item: its topic now (REGION: inside a covered region)
    merged: dict[str, str]          # old topic -> the topic it was merged into by this run


def build_report(deflector: Engine, min_size: int = MIN_SIZE, period_days: int = PERIOD_DAYS,
                 statuses: tuple[str, ...] | None = OPEN, now: datetime | None = None,
                 estimator: GapReport | None = None) -> Report:
    """Judge new items, cluster, keep topic ids stable, store the report and return it, listing the
    topics with ``statuses`` (None: all)."""
    if min_size < 2:
        raise InputError(f"min_size must be at least 2 (got {min_size})")
    store = deflector.store
    now = now or utcnow()
    reopen_withdrawn(store, now)   # its article gone, a covered topic is a gap again
    est = estimator or GapReport(min_size=min_size)
    items = load_items(store)
    cached = cached_rows(store)
    corpus = gather(deflector, items, cached)
    docs = article_docs(deflector)
    labelled = labelled_rows(deflector)
    Vg, Ag, Lg = gap_space(deflector, corpus.vectors, docs.vectors, labelled.vectors, english=english_share(items))
    docs_g = ArticleDocs(Ag, docs.ids, docs.titles)
    previous = Previous(topics={r["id"]: r for r in store.db["gap_topics"].rows_where("merged_into is null")}, ids=[],
                        topic_of=[cached.get(it.key, {}).get("topic_id") for it in items])
    previous.ids = sorted(previous.topics)
    settled, known = _fit(est, corpus, Vg, docs_g, Labelled(Lg, labelled.ids, labelled.texts), previous)
    naming = _name(store, est, previous, settled)
    lab = est.labels_[:len(items)]
    entries = _entries(corpus, naming, est, previous, known, Vg, docs_g, now, period_days)
    spiking = {r[0] for r in store.db.execute("select topic_id from incidents where state = 'open'")}
    attach_fixes(store, entries, {it.key: it.text for it in items}, spiking)
    status = {k: (previous.topics.get(t) or {}).get("status", "new") for k, t in naming.ids.items()}
    in_topic = {k for k, s in status.items() if s != "covered"}
    questions = {a.id: {norm(q) for q in [a.title, *a.questions]} for a in store.articles()}
    Vs, docs_s = Vg, docs_g
    if len(items) and getattr(est, "projection_", None) is not None:  # large inputs: the reduced space
        docs_s = ArticleDocs(est.project(Ag) if len(Ag) else Ag, docs.ids, docs.titles)
        Vs = est.project(Vg)
    created = {r[0]: r[1] for r in store.db.execute("select id, created_at from articles")}
    missed = not_found(items, Vs, lab, in_topic, corpus.judged, docs_s, floor=1.0 - est.threshold_,
                       open_topics={k for k, s in status.items() if s in ("new", "planned")},
                       questions=questions, facts=article_facts(store.articles()), created=created)
    judged = corpus.judged
    counts = Counts(items=len(items), tickets=sum(it.source == "ticket" for it in items),
                    inquiries=sum(it.source == "inquiry" for it in items),
                    linked=int(judged.is_("linked").sum()), answered=int(judged.is_("answer").sum()),
                    not_answered=int(judged.unanswered().sum()), judged_now=int(judged.changed.sum()),
                    in_covered_regions=sum(bool(t) and t.startswith(REGION) for t in naming.topic_of),
                    labelled=len(labelled.ids),
                    not_found_reasons=reason_counts(missed))
    params = Params(min_size=est.min_size, period_days=period_days, distance_threshold=est.threshold_,
                    max_evidence_share=est.max_evidence_share, near_miss=NEAR_MISS)
    meta = Report(generated_at=iso(now), params=params, counts=counts, not_found=missed)
    _persist(store, corpus, naming, entries, previous, est, meta, now)
    return stored_report(store, statuses, now)


def stored_report(store, statuses: tuple[str, ...] | None = OPEN, now: datetime | None = None,
                  members: bool = True) -> Report | None:
    """The report the last run stored, listing the topics with ``statuses`` (None: all) in their
    workflow state now (``members``: with their members); None when no report was built yet."""
    meta = _meta(store)
    if meta is None:
        return None
    topics = list_topics(store, statuses, now, members)
    counts = Counts(**{**json.loads(meta["counts"]), "topics": len(topics)})
    return Report(generated_at=meta["generated_at"], params=Params(**json.loads(meta["params"])), counts=counts,
                  topics=topics, not_found=[NotFound.from_dict(g) for g in json.loads(meta["not_found"])])


def stored_report_json(store, statuses: tuple[str, ...] | None = OPEN, now: datetime | None = None,
                       run: Run | None = None) -> str | None:
    """``{"ok": true, ...stored_report(...).to_dict(), "run": ...}`` as JSON text, put together from the
    stored JSON of each topic without reading its members back (milliseconds for a large report)."""
    meta = _meta(store)
    if meta is None:
        return None
    now = now or utcnow()
    rows = listed_rows(store, statuses, now)
    topics = ", ".join(f'{r["report"][:-1]}, "members": {r["members"] or "[]"}, '
                       f'{json.dumps(workflow_state(r, now), ensure_ascii=False)[1:]}' for r in rows)
    counts = json.dumps({**json.loads(meta["counts"]), "topics": len(rows)})
    run_json = json.dumps(run.to_dict() if run else None, ensure_ascii=False)
    return (f'{{"ok": true, "generated_at": {json.dumps(meta["generated_at"])}, "params": {meta["params"]}, '
            f'"counts": {counts}, "topics": [{topics}], "not_found": {meta["not_found"]}, "run": {run_json}}}')


def _meta(store) -> dict | None:
    cur = store.db.execute("select generated_at, params, counts, not_found from gap_report where id = 1")
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def _stored_centroid(row: dict, dim: int) -> np.ndarray:
    """A topic's saved centroid; zeros when there is none or it was saved in another space (another
    model, or a report from before the gap space): the topic's current members give it again."""
    blob = row.get("centroid")
    vec = np.frombuffer(blob, np.float32) if blob else np.zeros(0, np.float32)
    return vec if len(vec) == dim else np.zeros(dim, np.float32)


def _fit(est: GapReport, corpus: Corpus, Vg: np.ndarray, docs: ArticleDocs, labelled: Labelled,
         previous: Previous) -> tuple[np.ndarray, dict[int, tuple]]:
    """Fit the estimator on the items, the article documents and labelled questions being covered
    material. Returns the items that stay in a covered region, and the still valid evidence of old
    topics (by cluster)."""
    judged, n, topics = corpus.judged, len(corpus.items), previous.topics
    Ag = np.vstack([docs.vectors, labelled.vectors]) if len(labelled.ids) and len(docs.ids) else (
        labelled.vectors if len(labelled.ids) else docs.vectors)
    # sticky membership: items stay in their topic; covered/dismissed topics keep theirs for good
    index_of = {t: k for k, t in enumerate(previous.ids)}
    topic_of = [_start_from(t, topics) for t in previous.topic_of]
    labels = np.array([index_of.get(t, -1) if t else -1 for t in topic_of], np.int64)
    closed = np.array([bool(t) and topics.get(t, {}).get("status") in ("covered", "dismissed")
                       for t in topic_of], bool).reshape(n)
    # candidates an earlier run found inside a covered region stay there while nothing changed
    away = judged.turned_away if judged.turned_away is not None else np.zeros(n, bool)
    settled = np.array([t == REGION and not (judged.changed[i] or corpus.fresh[i] or away[i])
                        for i, t in enumerate(topic_of)], bool).reshape(n)
    cand = (judged.unanswered() & ~settled) | closed
    dim = Vg.shape[1] if n else (Ag.shape[1] if len(Ag) else 1)
    centroids = np.array([_stored_centroid(topics[t], dim) for t in previous.ids],
                         np.float32).reshape(len(previous.ids), dim)
    X = np.vstack([Vg, Ag]) if n and len(Ag) else (Vg if n else Ag)
    pad = len(X) - n
    covered = np.r_[judged.is_("linked", "answer"), np.ones(pad, bool)]
    hard = np.r_[judged.is_("linked"), np.ones(pad, bool)]
    article = np.r_[judged.article, np.array(docs.ids + labelled.ids, dtype=object)] if pad else judged.article
    examples = np.r_[np.zeros(n + len(docs.ids), bool), np.ones(len(labelled.ids), bool)]
    # evidence of old topics stays valid while the engine judges the same and the topic has not grown much
    fixed = np.array([topics[t]["status"] in ("covered", "dismissed") for t in previous.ids], bool)
    known = {}
    for k, t in enumerate(previous.ids):
        prev = json.loads(topics[t]["report"] or "{}").get("evidence") or {}
        if prev.get("fingerprint") == corpus.fingerprint and \
                prev.get("tested_size", 0) >= 0.8 * int((labels == k).sum()):
            known[k] = (prev["share"], prev["hard_share"], prev.get("article"), prev["tested_size"])
    if not n:
        est.fit_empty()
        return settled, known
    est.fit(X, np.r_[cand, np.zeros(pad, bool)], covered, article, hard=hard,
            labels=np.r_[labels, np.full(pad, -1)], centroids=centroids if len(previous.ids) else None,
            known={k: v[:3] for k, v in known.items()},
            new=np.r_[corpus.fresh | judged.changed, np.zeros(pad, bool)], fixed=fixed,
            texts=[it.text for it in corpus.items] + [docs.titles.get(a, "") for a in docs.ids] + labelled.texts,
            examples=examples, away=np.r_[away, np.zeros(pad, bool)])
    return settled, known


def _start_from(stored: str | None, topics: dict[str, dict]) -> str | None:
    """An item's topic for the next fit: one cut off an open topic's covered branches is that topic's
    member again (the cut is made anew after the merge pass); cut off a closed or gone topic, it stays in
    its covered region."""
    if not stored or not stored.startswith(REGION) or stored == REGION:
        return stored
    owner = topics.get(stored[len(REGION):])
    return owner["id"] if owner and owner.get("status") in OPEN else REGION


def _name(store, est: GapReport, previous: Previous, settled: np.ndarray) -> Naming:
    """Topic ids for the clusters: old topics keep theirs while they are gaps (planned, covered and
    dismissed ones always); a new gap takes the id of a close inactive topic, else the next free one."""
    topics, sizes = previous.topics, est.sizes_
    ids: dict[int, str] = {}
    active: set[str] = set()
    next_id = int(store.get_setting("gaps_next_id", 1))
    merged = getattr(est, "merged_", {})
    for k, t in enumerate(previous.ids):
        status, size = topics[t]["status"], sizes[k] if k < len(sizes) else 0
        if k in merged:
            continue
        if status in ("covered", "dismissed", "planned") or (size > 0 and est.is_gap_[k]):
            ids[k] = t
            if status in OPEN and size > 0:
                active.add(t)
    released = {k for k in range(len(previous.ids)) if k not in ids}
    inactive = [t for k, t in enumerate(previous.ids) if topics[t]["status"] == "new" and t not in active
                and k not in merged]
    for k in range(est.n_existing_, len(sizes)):
        if not est.is_gap_[k]:
            continue
        reuse = None
        if inactive:
            sims = [float(est.centroids_[k] @ _stored_centroid(topics[t], len(est.centroids_[k])))
                    if topics[t]["centroid"] else -1.0 for t in inactive]
            j = int(np.argmax(sims))
            if sims[j] >= REUSE_SIMILARITY:
                reuse = inactive.pop(j)
        if reuse is None:
            reuse = f"G-{next_id:04d}"
            next_id += 1
        ids[k] = reuse
        active.add(reuse)
    n = len(previous.topic_of)
    topic_of = [ids.get(int(k)) if k >= 0 and int(k) not in released else None for k in est.labels_[:n]]
    shed = getattr(est, "shed_", np.zeros(0, np.int64))
    for i in np.flatnonzero(shed[:n] >= 0):
        topic_of[i] = REGION + ids[int(shed[i])] if int(shed[i]) in ids else REGION
    for i in np.flatnonzero(settled | est.rejected_[:n]):
        topic_of[i] = topic_of[i] or REGION
    redirects = {previous.ids[gone]: ids[keep] for gone, keep in merged.items() if gone < len(previous.ids)}
    return Naming(ids, active, next_id, topic_of, redirects)


def _entries(corpus: Corpus, naming: Naming, est: GapReport, previous: Previous, known: dict[int, tuple],
             Vg: np.ndarray, docs: ArticleDocs, now: datetime, period_days: int) -> dict[str, Topic]:
    """The report entry of every topic with members (``Vg``, ``docs``: in the gap space)."""
    items = corpus.items
    words = keywords([it.text for it in items], est.labels_[:len(items)],
                     [k for k in naming.ids if est.sizes_[k] > 0])
    members_of: dict[str, list[int]] = {}
    for i, t in enumerate(naming.topic_of):
        if t and not t.startswith(REGION):
            members_of.setdefault(t, []).append(i)
    entries: dict[str, Topic] = {}
    for k, t in naming.ids.items():
        rows = members_of.get(t, [])
        if not rows:
            continue
        status = (previous.topics.get(t) or {}).get("status", "new")
        entry = topic_entry(t, status, rows, items, Vg, est.centroids_[k], words.get(k, []), docs, now,
                            period_days, corpus.judged)
        share, hard_share = float(est.evidence_share_[k]), float(est.hard_share_[k])
        entry.evidence_share = None if np.isnan(share) else round(share, 3)
        entry.evidence = None if np.isnan(hard_share) else Evidence(
            share, hard_share, est.evidence_article_[k], corpus.fingerprint,
            known[k][3] if k in known else len(rows))
        entries[t] = entry
    return entries


def _persist(store, corpus: Corpus, naming: Naming, entries: dict[str, Topic], previous: Previous,
             est: GapReport, meta: Report, now: datetime) -> None:
    """Store the run: changed items (vector, judgement, topic), the topics, the report's own row."""
    stamp, judged, items = iso(now), corpus.judged, corpus.items
    rows = []
    for i, it in enumerate(items):
        if not (corpus.fresh[i] or judged.changed[i] or naming.topic_of[i] != previous.topic_of[i]):
            continue
        rows.append({"key": it.key, "source": it.source, "item_id": it.id, "text_hash": text_hash(it.text),
                     "vector": np.asarray(corpus.vectors[i], np.float32).tobytes() if corpus.keep_vector[i] else None,
                     "fingerprint": corpus.fingerprint, "decision": judged.decision[i],
                     "confidence": float(judged.confidence[i]), "article_id": judged.article[i],
                     "topic_id": naming.topic_of[i], "updated_at": stamp})
    centroid_of = {t: est.centroids_[k] for k, t in naming.ids.items()}
    with store.db.transaction():
        if rows:
            store.db["gap_items"].upsert_all(rows, pk="key", batch_size=1000)
        keys = {it.key for it in items}
        gone = [r[0] for r in store.db.execute("select key from gap_items") if r[0] not in keys]
        store.db["gap_items"].delete_where_in("key", gone)
        # listed: the topics the report shows -- open ones the run found, and every topic someone gave a
        # status (with its last entry when it has no members now)
        store.db.execute("update gap_topics set active = 0, "
                         "listed = case when status != 'new' and report is not null then 1 else 0 end")
        for t, entry in entries.items():
            row = {"id": t, "active": int(t in naming.active), "label": entry.label, "title": entry.suggested_title,
                   "keywords": json.dumps(entry.keywords, ensure_ascii=False),
                   "representative": entry.representative, "language": entry.language, "size": entry.size,
                   "cost": entry.cost.customers if entry.cost else 0,
                   "centroid": np.asarray(centroid_of[t], np.float32).tobytes(), "updated_at": stamp,
                   "first_seen": entry.first_seen, "last_seen": entry.last_seen,
                   "listed": int(entry.status != "new" or entry.size >= est.min_size)}
            row["report"], row["members"] = entry.entry_json()
            if t not in previous.topics:
                row.update(status="new", created_at=stamp)
                store.db["gap_topics"].insert(row, pk="id")
                record_event(store, t, "created", {"size": entry.size}, stamp)
            else:
                store.db["gap_topics"].update(t, row)
        for gone, keep in naming.merged.items():
            merge_topics(store, gone, keep, stamp)
        store.set_setting("gaps_next_id", naming.next_id)
        store.db["gap_report"].upsert({
            "id": 1, "generated_at": meta.generated_at, "params": json.dumps(meta.params.to_dict()),
            "counts": json.dumps(meta.counts.to_dict()),
            "not_found": json.dumps([g.to_dict() for g in meta.not_found], ensure_ascii=False)}, pk="id")
