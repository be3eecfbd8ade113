"""The OpenAPI part of incidents, notices and a topic's fix kind (web/api/incidents.py); ``add`` puts
it into the document's paths and schemas."""
from __future__ import annotations


def add(paths: dict, schemas: dict, h: dict) -> None:
    """``h``: the document's helpers and shared schema pieces (web/openapi.py's names)."""
    INT, LANG, NNUM, NSTR, NUM, OK, STR = (h[n] for n in ("INT", "LANG", "NNUM", "NSTR", "NUM", "OK", "STR"))
    _obj, _op, _path, _query, _ref, text_schema = (h[n] for n in ("_obj", "_op", "_path", "_query", "_ref",
                                                                  "text_schema"))

    texts = {"type": "object", "propertyNames": LANG, "additionalProperties": STR,
             "description": "The notice per language, e.g. {\"de\": \"...\", \"en\": \"...\"}."}
    texts_in = {**texts, "minProperties": 1, "additionalProperties": text_schema(500, nullable=False)}
    moment = {"type": ["string", "null"], "format": "date-time", "maxLength": 40,
              "pattern": "^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-5][0-9]",
              "description": "ISO 8601 time (UTC unless an offset is given). Without ends_at the notice is "
                             "shown while its topic has an open incident and for 12 hours after, or until it is "
                             "ended (/notices/{notice_id}/end)."}
    schemas.update({
        "Notice": _obj({"id": INT, "incident_id": INT, "topic_id": STR, "texts": texts, "starts_at": STR,
                        "ends_at": NSTR, "created_at": STR, "created_by": NSTR,
                        "sessions_seen": {"type": "integer", "description": "Widget sessions shown it."},
                        "sessions_no_contact": {"type": "integer", "description":
                                                "Of those, sessions that did not contact support afterwards."}},
                       ["id", "incident_id", "topic_id", "texts", "starts_at", "ends_at"]),
        "Incident": _obj({"id": INT, "topic_id": STR, "title": NSTR, "label": NSTR,
                          "fix_kind": {"type": ["string", "null"], "enum": ["article", "product", "process", None]},
                          "state": {"type": "string", "enum": ["open", "closed"]},
                          "started_at": STR, "detected_at": STR, "ended_at": NSTR,
                          "count": {"type": "integer", "description": "Inquiries in the alarming window."},
                          "baseline": {**NUM, "description": "The usual count of that window (median)."},
                          "spread": NUM, "score": NUM, "notified_at": NSTR,
                          "notices": {"type": "array", "items": _ref("Notice")}},
                         ["id", "topic_id", "state", "started_at", "detected_at", "count", "baseline", "score",
                          "notices"]),
        "IncidentsResponse": _obj({"ok": OK, "incidents": {"type": "array", "items": _ref("Incident")}},
                                  ["ok", "incidents"]),
        "NoticeInput": _obj({"texts": texts_in, "starts_at": moment, "ends_at": moment,
                             "by": text_schema(100)}, ["texts"], extra=True),
        "NoticeResponse": _obj({"ok": OK, "notice": _ref("Notice")}, ["ok", "notice"]),
        "LiveNotice": _obj({"id": INT, "topic_id": STR, "texts": texts, "starts_at": STR, "ends_at": NSTR},
                           ["id", "topic_id", "texts", "starts_at", "ends_at"]),
        "NoticesResponse": _obj({"ok": OK, "notices": {"type": "array", "items": _ref("LiveNotice")}},
                                ["ok", "notices"]),
        "NoticeMatchRequest": _obj({"text": text_schema(1000, 3, nullable=False),
                                    "language": {"type": ["string", "null"], "enum": ["de", "en", None]},
                                    "session": text_schema(128), "inquiry_id": text_schema(64)}, ["text"],
                                   extra=True),
        "MatchedNotice": _obj({"id": INT, "incident_id": INT, "topic_id": STR, "language": STR, "text": STR,
                               "prefix": {"type": "string", "description": "\"Bekannte Störung: \" / \"Known "
                                          "issue: \"."}, "starts_at": STR, "ends_at": NSTR, "similarity": NNUM},
                              ["id", "incident_id", "topic_id", "language", "text", "prefix"]),
        "NoticeMatchResponse": _obj({"ok": OK, "notice": {"oneOf": [_ref("MatchedNotice"), {"type": "null"}]}},
                                    ["ok", "notice"]),
        "FixKindInput": _obj({"kind": {"type": ["string", "null"], "enum": ["article", "product", "process", None],
                                       "description": "null: back to the classifier's kind at the next run."},
                              "by": text_schema(100)}, ["kind"], extra=True),
        "FixKindResponse": _obj({"ok": OK, "id": STR, "fix": {"oneOf": [_ref("GapFix"), {"type": "null"}]}},
                                ["ok", "id", "fix"]),
    })
    admin = {"secured": "admin", "tag": "admin"}
    paths.update({
        "/api/v1/incidents": {"get": _op(
            "Incidents: gap topics whose volume in the last minutes or hours is far above their usual level "
            "(median/MAD of the same window on comparable days over the last weeks), open ones first.",
            "200", "IncidentsResponse", ["400", "401", "403"], **admin,
            params=[_query("state", {"type": "string", "enum": ["open", "all"], "default": "open"},
                           "open: the live incidents; all: closed ones too.")])},
        "/api/v1/incidents/check": {"post": _op(
            "Assign the inquiries logged since the last check to topics and check every topic now (the "
            "service also does it in the background after widget questions).",
            "200", "IncidentsResponse", ["401", "403", "409"], **admin)},
        "/api/v1/incidents/{incident_id}/notices": {"post": _op(
            "Publish a notice for an incident (text per language, start, end): the widget shows it above its "
            "answers to customers whose question belongs to the incident's topic.",
            "201", "NoticeResponse", ["400", "401", "403", "404", "409", "413", "415"], request="NoticeInput",
            **admin,
            params=[_path("incident_id", "The incident's id (a number).", INT)])},
    })
    paths["/api/v1/notices/{notice_id}/end"] = {"post": _op(
        "End a notice now: the widget no longer shows it (a notice already ended keeps its end).",
        "200", "NoticeResponse", ["401", "403", "404"], **admin,
        params=[_path("notice_id", "The notice's id (a number).", INT)])}
    paths["/api/v1/incidents/{incident_id}/notices"]["post"]["responses"]["409"]["description"] = \
        "ends_at is not after starts_at (the notice would never be shown)."
    paths.update({
        "/api/v1/gaps/{topic_id}/kind": {"put": _op(
            "Set a topic's fix kind (article, product, process); it sticks to the topic across runs.",
            "200", "FixKindResponse", ["400", "401", "403", "404", "413", "415"], request="FixKindInput", **admin,
            params=[_path("topic_id", "Topic id from the report.", {"type": "string", "maxLength": 128})])},
        "/api/v1/notices": {"get": _op(
            "The notices live now (the widget asks /notices/match only while there are any).",
            "200", "NoticesResponse", [])},
        "/api/v1/notices/match": {"post": _op(
            "The live notice for a customer's question (its topic, nearest centroid), in the customer's "
            "language; records that the session saw it. null when none matches.",
            "200", "NoticeMatchResponse", ["400", "409", "413", "415", "429"], request="NoticeMatchRequest")},
    })
