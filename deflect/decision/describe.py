"""What a stored calibration was fitted on, in words: for ``deflect status``, ``deflect calibrate``
and the service's health JSON (no heavy imports: the service answers health without the model)."""
from __future__ import annotations


def describe_calibration(cal: dict | None, when: bool = True) -> str:
    """What a stored calibration was fitted on, in words, and (``when``) since when."""
    if not cal:
        return "none: run `deflect calibrate [LABELLED.jsonl]`"
    report = cal.get("report") or {}
    source = cal.get("source")
    if source == "help center":
        parts = [f"{report.get(k, 0)} {k}" for k in ("questions", "titles", "passages") if report.get(k)]
        what = (f"self-supervised from {report.get('articles', '?')} articles' texts ({', '.join(parts)}; "
                f"{report.get('hidden', 0)} asked as if their article did not exist)")
    elif source == "tickets":
        what = (f"from tickets: {report.get('samples', cal.get('n_samples'))} resolved tickets judged as new "
                f"inquiries ({report.get('covered', '?')} with an article, linked or inferred, "
                f"{report.get('uncovered', '?')} unlinked far from any article, {report.get('unseen', '?')} asked as "
                "if their article did not exist)")
    elif source == "labelled":
        what = f"{cal.get('n_samples')} labelled inquiries" + (f" from file {report['file']}" if report.get("file")
                                                                else "") + f" ({report.get('covered', '?')} covered)"
    else:
        what = f"{source} ({cal.get('n_samples')} samples)"
    return f"{what}; fitted {cal.get('fitted_at')}" if when else what


# A labelled file with fewer covered questions or fewer questions without an article than these gives a decision
# that follows the few it shows: xsid_de without ticket history (12-14 covered, 10 without an article in its
# dev.jsonl) answered 0.00, 0.83 and 0.32 of the test's questions without an article on seeds 3-5; banking77
# without history (171 and 150) answered 0.02-0.08 on seeds 0-3.
FEW_COVERED = 50
FEW_UNCOVERED = 20
# Below these a labelled file is refused (``--force`` takes it): fitted on a handful of questions, or on one
# kind only, the decision learns noise (more "no article" neighbours read as more confidence) and answers
# questions no article covers, in place of a calibration that was sound.
MIN_COVERED = 10
MIN_UNCOVERED = 5


def label_shortfall(covered: int, uncovered: int) -> str | None:
    """Why a labelled file is too small to fit the decision on, or None."""
    if covered >= MIN_COVERED and uncovered >= MIN_UNCOVERED:
        return None
    return (f"the labelled file has {covered} questions with their article and {uncovered} without; at least "
            f"{MIN_COVERED} and {MIN_UNCOVERED} are needed to fit the answer/no-answer decision on it")


def calibration_caveat(cal: dict | None) -> str | None:
    """A warning in words when the calibration was fitted by an older release (on fewer evidence features
    than the engine now computes: it still answers, but worse) or a labelled one rests on too few
    inquiries of either kind, else None."""
    from deflect.engine import FEATURES  # here: the service's health is answered without the engine
    known = len((cal or {}).get("coef") or FEATURES)
    if known < len(FEATURES):
        return (f"fitted by an older release of deflect, on {known} of the {len(FEATURES)} kinds of evidence the "
                "engine now weighs: run `deflect calibrate` (after `deflect index`) to use them all")
    report = (cal or {}).get("report") or {}
    if (cal or {}).get("source") == "tickets" and int(report.get("uncovered", FEW_UNCOVERED)) < FEW_UNCOVERED:
        return (f"few resolved tickets without an article ({report['uncovered']} far from any article): the decision "
                "knows little about questions from outside the help center; it is fitted again as tickets arrive, "
                "or calibrate with a labelled file")
    if (cal or {}).get("source") != "labelled" or "covered" not in report:
        return None
    covered = int(report["covered"])
    uncovered = int(report.get("samples", cal.get("n_samples", 0))) - covered
    if covered >= FEW_COVERED and uncovered >= FEW_UNCOVERED:
        return None
    return (f"few labelled inquiries ({covered} with an article, {uncovered} without; at least {FEW_COVERED} "
            f"and {FEW_UNCOVERED} advised): the decision follows these few; label more, with questions from "
            "several subjects the help center has no article for")


def describe_part_weights(cal: dict | None, model: str | None) -> dict | None:
    """The query-side shares of an ensemble model's parts per query language that a stored calibration
    was fitted with (``deflect.index.part_weights``): ``{"shares": {language: {part: share}}, "learnt":
    the per-language report, "summary": in words}``; None for a single model or without a calibration."""
    parts = (model or "").split("+")
    if not cal or len(parts) < 2:
        return None
    shares = {lang: dict(zip(parts, map(float, values))) for lang, values in (cal.get("part_weights") or {}).items()}
    learnt = (cal.get("report") or {}).get("part_weights") or {}
    words = []
    for lang in sorted(set(shares) | set(learnt)):
        entry = learnt.get(lang, {})
        if lang in shares:
            said = " ".join(f"{p} {w:.2f}" for p, w in shares[lang].items())
            words.append(f"{lang}: {said} (own article found with MRR {entry.get('mrr')} against "
                         f"{entry.get('mrr_equal')} alike, {entry.get('samples')} questions)")
        else:
            words.append(f"{lang}: alike ({entry.get('why') or 'not better than alike'}, "
                         f"{entry.get('samples', 0)} questions)")
    summary = "; ".join(words) + "; other languages: alike" if words else "all parts alike (not learnt)"
    return {"shares": shares, "learnt": learnt, "summary": summary}


# whether the decision reads how much of an inquiry's words its article holds across languages (``CrossCover``)
CROSS_COVER = {True: "read for inquiries in another language than their article (the labelled questions show "
                     "it helps)",
               False: "not read (the labelled questions in another language than their article are too few, or "
                      "it does not help them)"}


def describe_lexical_weights(cal: dict | None, setting: float) -> dict:
    """The word-match weights per query language a stored calibration was fitted with
    (``deflect.index.lexical_weights``; ``setting``: the ``lexical_weight`` setting, which the other
    languages get): ``{"weights": {language: weight}, "learnt": the per-language report, "setting",
    "summary": in words}``."""
    weights = {lang: float(w) for lang, w in ((cal or {}).get("lexical_weights") or {}).items()}
    learnt = ((cal or {}).get("report") or {}).get("lexical_weights") or {}
    other = f"{setting:g} (the setting)" if setting else "off (the setting)"
    words = []
    for lang in sorted(set(weights) | set(learnt)):
        entry = learnt.get(lang, {})
        if lang in weights:
            words.append(f"{lang}: {weights[lang]:g} (own article found with MRR {entry.get('mrr')} against "
                         f"{entry.get('mrr_setting')} with the setting, {entry.get('samples')} questions)")
        else:
            words.append(f"{lang}: {other} ({entry.get('why') or 'no weight better'}, "
                         f"{entry.get('samples', 0)} questions)")
    summary = "; ".join(words + [f"other languages: {other}"]) if words else f"{other}, not learnt"
    return {"weights": weights, "learnt": learnt, "setting": setting, "summary": summary}
