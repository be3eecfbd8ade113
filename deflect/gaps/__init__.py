"""The uncovered-topics report: which recurring customer questions the FAQ does not answer, and the
workflow that closes each gap.

Sources are the resolved tickets and the logged inquiries. Each is judged by the engine's calibrated
decision (a ticket without itself: leave-one-out; an inquiry logged since the articles and the
calibration last changed keeps the decision it got); a ticket an agent linked to an article is covered.

The items the engine would not answer are clustered -- except near misses, which it judged more likely
right than wrong (confidence at least ``NEAR_MISS``; the answer threshold usually lies higher, as a wrong
answer costs more than no answer): they are covered questions it did not dare to answer, material for the
"not found although covered" list, not for a new article. The clustering is average-linkage
agglomerative over cosine distance -- unless nearly all items are English, in the multilingual part of
the vectors (``gap_space``: an English-only part of the model would split a topic by language) -- cut at
a threshold calibrated on the covered topics (``auto_factor`` times the typical spread of the linked
tickets and questions of one article: how far apart two phrasings of one question lie differs a lot
between domains and models). Each cluster is then tested as a whole
against its neighbourhood: where the members' nearest neighbours hold linked tickets and article
documents at anything like their share overall, the cluster lies inside a covered region -- the FAQ has
the answer, the engine just missed these phrasings -- and it is split along its tree until its parts pass
or become too small. Clusters of at least ``min_size`` that pass are the gap topics; unanswered inquiries whose
neighbours agents resolved with one article make the "not found although covered" list. Large inputs
are clustered in chunks (a sample is clustered, the rest joins by the same average-linkage rule) and
searched in a reduced space.

Topics keep a stable id (``G-0001``, never reused). Workflow: ``new -> planned (owner, due) ->
covered | dismissed``; ``check_coverage`` (called after every index build or article upsert) marks open
topics whose members the engine now answers. The report is built by a run and stored; readers take
the stored one.

Modules: ``items`` (what the report is built from), ``cluster`` and ``neighbourhood`` (the estimator),
``describe`` (a topic's words and entry), ``not_found``, ``report`` (a run's steps and the stored
report), ``runs`` (one run at a time per home), ``workflow``, ``model`` (the typed report objects and
their JSON schema), ``render`` (table and CSV).
"""
