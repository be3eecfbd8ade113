"""The OpenAPI document matches reality: the same routes and methods, and real responses fit the schemas."""
from __future__ import annotations

import re
import threading

import pytest
from api_support import bearer, make_app, new_key

from deflect.engine import TicketHit


def resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def validate(doc: dict, schema: dict, value, path: str = "$") -> list[str]:
    """A small JSON-schema check (type, enum, const, required, properties, additionalProperties,
    items, oneOf, minimum/maximum, minLength/maxLength) -- enough for this document."""
    schema = resolve(doc, schema)
    errors: list[str] = []
    if "oneOf" in schema:
        matches = [s for s in schema["oneOf"] if not validate(doc, s, value, path)]
        return [] if len(matches) == 1 else [f"{path}: matches {len(matches)} of oneOf"]
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, t) for t in types):
            return [f"{path}: {value!r} is not {types}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", 10**9) or len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: length {len(value)} out of range")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key!r}")
        for key, item in value.items():
            if key in props:
                errors += validate(doc, props[key], item, f"{path}.{key}")
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: undocumented field {key!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += validate(doc, schema["items"], item, f"{path}[{i}]")
    return errors


@pytest.fixture()
def env(tmp_path):
    """The app over a home with a stored gap report (one topic, G-0001)."""
    from fakes import FakeDeflector
    from test_api import SHARES, TICKETS, crc_words

    from deflect.gaps.runs import run_now
    from deflect.home import Home

    fake = FakeDeflector(Home.resolve(tmp_path / "home").ensure(), tickets=TICKETS + SHARES, vector=crc_words)
    run_now(fake)
    app, _ = make_app(tmp_path, RATE_LIMIT={"suggest": 4}, DEFLECTOR=fake)
    client = app.test_client()
    return app, client, fake, client.get("/api/v1/openapi.json").get_json()


def test_every_route_is_documented_with_its_methods(env):
    app, _, _, doc = env
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: set(ops) for path, ops in doc["paths"].items()}
    assert routes == documented


def test_document_refs_resolve(env):
    doc = env[3]
    text = str(doc)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in doc["components"]["schemas"], name


def check(doc, method: str, path: str, response) -> None:
    op = doc["paths"][path][method]
    status = str(response.status_code)
    assert status in op["responses"], f"{method.upper()} {path}: status {status} is not documented"
    content = op["responses"][status].get("content", {})
    if response.mimetype == "application/json" and content.get("application/json", {}).get("schema"):
        errors = validate(doc, content["application/json"]["schema"], response.get_json())
        assert not errors, f"{method.upper()} {path} {status}: {errors}"


def test_responses_match_the_schemas(env, monkeypatch):
    from deflect.gaps import runs

    _, client, fake, doc = env
    # the gap run started by the first POST stays "going on" until the calls are made, so the next POST
    # answers 200 with it (a run over the fake engine could otherwise end before the next request)
    release, background = threading.Event(), runs._background
    monkeypatch.setattr(runs, "_background", lambda *args: (release.wait(30), background(*args)))
    admin, agent = new_key(fake, "admin"), new_key(fake, "agent")
    fake.raw_tickets = [TicketHit("T-1", 0.9, "Passwort", "forgot it", "Reset link sent.", None, "en")]
    calls = [
        ("post", "/api/v1/suggest", {"json": {"text": "Wie kann ich mein Abo kündigen?", "session": "s"}}),
        ("post", "/api/v1/suggest", {"json": {"text": "Aktien kaufen"}}),
        ("post", "/api/v1/suggest", {"json": {"text": "x"}}),
        ("post", "/api/v1/suggest", {"data": "x", "content_type": "text/plain"}),
        ("post", "/api/v1/suggest", {"json": {"text": "rate limited now"}}),
        ("post", "/api/v1/feedback", {"json": {"inquiry_id": "{iid}", "helpful": True}}),
        ("post", "/api/v1/feedback", {"json": {"inquiry_id": "missing", "helpful": True}}),
        ("post", "/api/v1/agent/suggest", {"json": {"subject": "Abo", "body": "Abo kündigen"},
                                           "headers": bearer(agent)}),
        ("post", "/api/v1/agent/suggest", {"json": {"body": "shares?"}, "headers": bearer(agent)}),
        ("post", "/api/v1/agent/suggest", {"json": {"body": "Abo kündigen"}}),
        ("get", "/api/v1/metrics", {"headers": bearer(admin)}),
        ("get", "/api/v1/metrics", {"headers": bearer(agent)}),
        ("get", "/api/v1/metrics?days=0", {"headers": bearer(admin)}),
        ("get", "/api/v1/gaps", {"headers": bearer(admin)}),
        ("get", "/api/v1/gaps?format=csv", {"headers": bearer(admin)}),
        ("post", "/api/v1/gaps/runs", {"json": {"min_size": 5}, "headers": bearer(admin)}),
        ("post", "/api/v1/gaps/runs", {"headers": bearer(admin)}),
        ("post", "/api/v1/gaps/runs", {"json": {"min_size": 1}, "headers": bearer(admin)}),
        ("get", "/api/v1/gaps/runs/{run_id}", {"headers": bearer(admin)}),
        ("get", "/api/v1/gaps/runs/{run_id}", {"headers": bearer(agent)}),
        ("patch", "/api/v1/gaps/{topic_id}", {"json": {"status": "planned", "owner": "a"},
                                              "headers": bearer(admin)}),
        ("patch", "/api/v1/gaps/{topic_id}", {"json": {"status": "planned", "owner": "a", "due": "2030-01-01"},
                                              "headers": bearer(admin)}),
        ("patch", "/api/v1/gaps/{topic_id}", {"json": {"status": "what"}, "headers": bearer(admin)}),
        ("patch", "/api/v1/gaps/{topic_id}", {"json": {"status": "planned", "owner": "a", "due": "2001-01-01"},
                                              "headers": bearer(admin)}),
        ("get", "/api/v1/gaps/{topic_id}", {"headers": bearer(admin)}),
        ("get", "/api/v1/gaps/{topic_id}", {"headers": bearer(agent)}),
        ("put", "/api/v1/articles/{article_id}", {"json": {"title": "T", "body": "Body text"},
                                                  "headers": bearer(admin)}),
        ("put", "/api/v1/articles/{article_id}", {"json": {"title": "T", "body": "Body text 2"},
                                                  "headers": bearer(admin)}),
        ("put", "/api/v1/articles/{article_id}", {"data": "x" * 2_000_000, "content_type": "text/markdown",
                                                  "headers": bearer(admin)}),
        ("delete", "/api/v1/articles/{article_id}", {"headers": bearer(admin)}),
        ("delete", "/api/v1/articles/{article_id}", {"headers": bearer(admin)}),
        ("get", "/api/v1/health", {}),
        ("get", "/api/v1/openapi.json", {}),
    ]
    iid = None
    seen = set()
    for method, template, kwargs in calls:
        url = template.replace("{topic_id}", "G-0001").replace("{article_id}", "new-article")
        url = url.replace("{run_id}", "1")
        if iid and "json" in kwargs:
            kwargs = {**kwargs, "json": {k: (iid if v == "{iid}" else v) for k, v in kwargs["json"].items()}}
        response = getattr(client, method)(url, **kwargs)
        if response.status_code == 200 and template == "/api/v1/suggest" and iid is None:
            iid = response.get_json()["id"]
        check(doc, method, template.split("?")[0], response)
        seen.add((template.split("?")[0], response.status_code))
    release.set()
    for thread in threading.enumerate():
        if thread.name.startswith("deflect-gaps-run-"):
            thread.join(30)
    # the run exercised the documented error statuses that matter most
    assert {("/api/v1/suggest", 429), ("/api/v1/suggest", 415), ("/api/v1/agent/suggest", 401),
            ("/api/v1/metrics", 403), ("/api/v1/articles/{article_id}", 201),
            ("/api/v1/articles/{article_id}", 413), ("/api/v1/articles/{article_id}", 404),
            ("/api/v1/gaps/runs", 202), ("/api/v1/gaps/runs", 200), ("/api/v1/gaps/runs/{run_id}", 200),
            ("/api/v1/gaps/{topic_id}", 200), ("/api/v1/gaps/{topic_id}", 422)} <= seen
