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
                f"inquiries ({report.get('covered', '?')} linked, {report.get('uncovered', '?')} unlinked far from "
                f"any article, {report.get('unseen', '?')} asked as if their article did not exist)")
    elif source == "labelled":
        what = f"{cal.get('n_samples')} labelled inquiries" + (f" from file {report['file']}" if report.get("file")
                                                                else "") + f" ({report.get('covered', '?')} covered)"
    else:
        what = f"{source} ({cal.get('n_samples')} samples)"
    return f"{what}; fitted {cal.get('fitted_at')}" if when else what
