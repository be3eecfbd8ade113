"""Which open gap topic a text belongs to: the nearest topic centroid (the report's gap space), when it
is as close as the report's clustering threshold allows."""
from __future__ import annotations

import json

import numpy as np

from deflect.engine import Engine
from deflect.gaps.items import gap_space


def topic_centroids(store) -> tuple[list[str], np.ndarray, float]:
    """The open topics' ids and centroids (gap space), and the similarity a text needs to join one."""
    rows = store.db.execute("select id, centroid from gap_topics where status in ('new', 'planned') "
                            "and centroid is not null order by id").fetchall()
    params = store.db.execute("select params from gap_report where id = 1").fetchone()
    threshold = json.loads(params[0]).get("distance_threshold", 0.5) if params else 0.5
    vecs = [np.frombuffer(r[1], np.float32) for r in rows]
    dim = max((len(v) for v in vecs), default=0)
    keep = [(r[0], v) for r, v in zip(rows, vecs, strict=True) if len(v) == dim and dim]
    C = np.array([v for _, v in keep], np.float32).reshape(len(keep), dim)
    return [t for t, _ in keep], C, 1.0 - float(threshold)


def similarities(deflector: Engine, texts: list[str]) -> tuple[list[str], np.ndarray, float]:
    """The open topics' ids, each text's similarity to each of them (texts x topics), and the similarity a
    text needs to join one."""
    ids, C, floor = topic_centroids(deflector.store)
    if not ids or not texts:
        return [], np.zeros((len(texts), 0), np.float32), floor
    V = deflector.embed(texts)
    if V.shape[1] != C.shape[1]:
        V = gap_space(deflector, V, english=0.0)[0]
    if V.shape[1] != C.shape[1]:
        return [], np.zeros((len(texts), 0), np.float32), floor
    return ids, V @ (C / np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)).T, floor


def assign(deflector: Engine, texts: list[str]) -> list[tuple[str | None, float]]:
    """Each text's nearest open topic (None when none is close enough) and the similarity."""
    ids, sims, floor = similarities(deflector, texts)
    if not ids:
        return [(None, 0.0)] * len(texts)
    best = sims.argmax(axis=1)
    return [(ids[b], float(sims[i, b])) if sims[i, b] >= floor else (None, float(sims[i, b]))
            for i, b in enumerate(best)]
