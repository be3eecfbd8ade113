"""API v1 for the content team and integrations (key scope ``admin``): metrics, the gap report and its
workflow, article pushes from a CMS or help desk."""
from __future__ import annotations

import re
from dataclasses import replace

import frontmatter
import yaml
from flask import Blueprint, Response, current_app, jsonify, request

from deflect.errors import NotFoundError
from deflect.formats import ARTICLE_ID, FRONT_MATTER_HINT, Article, front_matter_problem, title_text, url_problem
from deflect.gaps.model import Report, RunOptions
from deflect.gaps.notices import reach_since as notice_reach_since
from deflect.gaps.render import to_csv, to_xlsx
from deflect.gaps.report import stored_report, stored_report_json
from deflect.gaps.runs import get_run, latest_run, refresh_in_background, start_in_background
from deflect.gaps.workflow import check_coverage, dismiss, get_topic, merged_into, plan, reopen, reopen_withdrawn
from deflect.html_text import markdown_without_html
from deflect.language import detect_language
from deflect.xlsx import MIME_TYPE as XLSX_TYPE

from .. import metrics as metrics_lib
from ..auth import require_key
from ..errors import ApiError
from ..experiment import experiment_metrics
from ..limits import int_arg, json_body, list_field, text_field
from ..state import get_store, write_lock
from .common import deflector

bp = Blueprint("admin", __name__, url_prefix="/api/v1")

ISO_LANG = re.compile(r"^[a-z]{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")


@bp.get("/metrics")
@require_key("admin")
def metrics():
    days = int_arg("days", 30, 1, 366)
    top = int_arg("top", 10, 1, 100)
    channel = request.args.get("channel", "widget")
    if channel not in ("widget", "agent", "cli", "all"):
        raise ApiError("'channel' must be one of: widget, agent, cli, all")
    result = metrics_lib.compute(get_store(), days=days, top=top,
                                 channel=None if channel == "all" else channel)
    return jsonify({"ok": True, **result, **experiment_metrics(get_store(), days),
                    "notices": notice_reach_since(get_store(), result["from"])})


GAP_STATUSES = {"open": ("new", "planned"), "all": None, "new": ("new",), "planned": ("planned",),
                "covered": ("covered",), "dismissed": ("dismissed",)}


@bp.get("/gaps")
@require_key("admin")
def gaps_report():
    """The stored report (a run builds it); before the first one, that run is started."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise ApiError("'format' must be json, csv or xlsx")
    lang = request.args.get("lang", "en")
    if lang not in ("en", "de"):
        raise ApiError("'lang' must be en or de")
    status = request.args.get("status", "open")
    if status not in GAP_STATUSES:
        raise ApiError("'status' must be one of: " + ", ".join(GAP_STATUSES))
    for name in ("min_size", "period_days"):
        if name in request.args:
            raise ApiError(f"'{name}' is an option of a run", hint="POST /api/v1/gaps/runs with "
                           '{"min_size": ..., "period_days": ...} builds the report with it.')
    store, statuses = get_store(), GAP_STATUSES[status]
    run = latest_run(store)
    if fmt in ("csv", "xlsx"):
        report = stored_report(store, statuses, members=False) or Report()
        body, mimetype = (to_csv(report), "text/csv") if fmt == "csv" else (to_xlsx(report, lang), XLSX_TYPE)
        return Response(body, mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="deflect-gaps.{fmt}"'})
    body = stored_report_json(store, statuses, run=run)
    if body is not None:
        return Response(body, mimetype="application/json")
    if run is None:   # none was ever built: the first one starts now
        run, _ = start_in_background(deflector(), store, None, "api")
    return jsonify({"ok": True, **replace(Report(), run=run).to_dict()})


@bp.post("/gaps/runs")
@require_key("admin")
def gaps_run():
    """Build the report in the background: 202 with the new run, or 200 with the one running now."""
    data = json_body() if request.get_data() else {}
    options = RunOptions(min_size=_int_field(data, "min_size", 2, 10000),
                         period_days=_int_field(data, "period_days", 1, 3660))
    run, started = start_in_background(deflector(), get_store(), options, "api")
    return jsonify({"ok": True, "run": run.to_dict()}), (202 if started else 200)


@bp.get("/gaps/runs/<int:run_id>")
@require_key("admin")
def gaps_run_state(run_id: int):
    return jsonify({"ok": True, "run": get_run(get_store(), run_id).to_dict()})


def _int_field(data: dict, name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():  # JSON does not tell 5 from 5.0
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(f"'{name}' must be a whole number from {low} to {high}")
    return value


@bp.get("/gaps/<topic_id>")
@require_key("admin")
def gaps_topic(topic_id: str):
    """One topic; an id merged into another topic answers 301 with that topic."""
    if len(topic_id) > 128:
        raise ApiError("topic id too long")
    store = get_store()
    target = merged_into(store, topic_id)
    topic = get_topic(store, target or topic_id)
    body = jsonify({"ok": True, "merged_into": target, "topic": topic.to_dict()})
    if target is None:
        return body
    body.status_code = 301
    body.headers["Location"] = f"{request.script_root}/api/v1/gaps/{target}"
    return body


@bp.patch("/gaps/<topic_id>")
@require_key("admin")
def gaps_update(topic_id: str):
    if len(topic_id) > 128:
        raise ApiError("topic id too long")
    data = json_body()
    status = text_field(data, "status", required=True, choices=("planned", "dismissed", "new"))
    store = get_store()
    if status == "planned":
        owner = text_field(data, "owner", required=True, max_len=100)
        due = text_field(data, "due", required=True, max_len=10)
        if not DATE.match(due):
            raise ApiError("'due' must be a date YYYY-MM-DD")
        force = data.get("force", False)
        if not isinstance(force, bool):
            raise ApiError("'force' must be true or false")
        topic = plan(store, topic_id, owner, due, force=force)
    elif status == "dismissed":
        reason = text_field(data, "reason", required=True, max_len=500)
        topic = dismiss(store, topic_id, reason)
    else:
        topic = reopen(store, topic_id)
    return jsonify({"ok": True, "id": topic.id, "status": topic.status, "topic": topic.to_dict()})


# -- admin: article pushes from a CMS or helpdesk -------------------------------------------------
def _check_article_id(article_id: str) -> None:
    if not ARTICLE_ID.fullmatch(article_id):
        raise ApiError("article id must be 1 to 128 letters, digits, '.', '_' or '-'")


def _markdown_fields() -> dict:
    try:
        text = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("request body is not UTF-8 text") from None
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        problem, line = front_matter_problem(text, exc)
        raise ApiError(f"invalid YAML front matter on line {line}: {problem}", hint=FRONT_MATTER_HINT) from None
    if not isinstance(post.metadata, dict):
        raise ApiError("front matter must be a YAML mapping")
    data = {k: (str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
            for k, v in post.metadata.items()}
    data["body"] = post.content
    return data


def _article_from(data: dict, article_id: str) -> Article:
    given_id = data.get("id")
    if given_id is not None and str(given_id) != article_id:
        raise ApiError(f"the body's id {given_id!r} differs from the URL's {article_id!r}")
    title = text_field(data, "title", required=True, max_len=300)
    body = text_field(data, "body", required=True, max_len=500_000)
    language = data.get("language")
    if language is None or language == "":
        language = detect_language(f"{title} {body[:500]}")
    elif not isinstance(language, str) or not ISO_LANG.match(language):
        raise ApiError("'language' must be an ISO 639-1 code such as 'de' or 'en'")
    url = data.get("url")
    url = None if url == "" else url
    if url is not None and (not isinstance(url, str) or len(url) > 2000 or url_problem(url)):
        raise ApiError("'url' must be a path starting with '/' or an http(s) URL of at most 2000 characters")
    if url is not None:
        text_field({"url": url}, "url", max_len=2000)   # a lone surrogate or a control character: 400
    return Article(id=article_id, title=title_text(title), body=markdown_without_html(body),
                   language=language,
                   questions=list_field(data, "questions", max_items=100, max_len=500),
                   tags=list_field(data, "tags", max_items=50, max_len=100), url=url, source="api")


def _article_dict(article: Article) -> dict:
    return {"id": article.id, "title": article.title, "language": article.language,
            "questions": article.questions, "tags": article.tags, "url": article.url}


@bp.put("/articles/<article_id>")
@require_key("admin")
def put_article(article_id: str):
    _check_article_id(article_id)
    request.max_content_length = int(current_app.config.get("ARTICLE_MAX_CONTENT_LENGTH", 1024 * 1024))
    if request.mimetype in MARKDOWN_TYPES:
        data = _markdown_fields()
    elif request.mimetype == "application/json":
        data = json_body()
    else:
        raise ApiError("send the article as application/json or text/markdown (with front matter)", 415)
    article = _article_from(data, article_id)
    existed = get_store().has_article(article_id)
    d = deflector()
    covered: list[str] = []
    with write_lock():
        outcome = d.upsert_article(article)
        changed = not (isinstance(outcome, dict) and article_id in (outcome.get("unchanged") or []))
        if changed:
            covered = _after_article_change(d)
    return jsonify({"ok": True, "created": not existed, "changed": changed, "article": _article_dict(article),
                    "covered_topics": covered}), (200 if existed else 201)


def _after_article_change(d, check: bool = True) -> list[str]:
    """Gap topics the change now covers (``check_coverage``), and the stored report built again in the
    background. The article is stored already, so a failure here is logged, not returned."""
    covered: list[str] = []
    try:
        covered = list(check_coverage(d)) if check else []
        refresh_in_background(d, get_store(), "article")
    except Exception:  # never fail an accepted article push over the report
        current_app.logger.exception("deflect: gap report update after an article change failed")
    return covered


@bp.delete("/articles/<article_id>")
@require_key("admin")
def delete_article(article_id: str):
    _check_article_id(article_id)
    if not get_store().has_article(article_id):
        raise NotFoundError(f"no article {article_id!r}")
    d = deflector()
    with write_lock():
        d.delete_article(article_id)
        reopen_withdrawn(get_store())   # a topic it covered is a gap again
    _after_article_change(d, check=False)
    return jsonify({"ok": True, "deleted": article_id})
