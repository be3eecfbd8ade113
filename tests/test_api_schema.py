"""The OpenAPI document says what the API validates: schemathesis generates requests from it (valid and
invalid ones) and checks every answer against it, on a small help desk with a stored gap report."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from api_support import ARTICLES, make_app, new_key  # noqa: E402
from fakes import FakeDeflector  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.errors import FailureGroup  # noqa: E402
from test_api import SHARES, TICKETS, crc_words  # noqa: E402

from deflect.gaps.runs import run_now  # noqa: E402
from deflect.home import Home  # noqa: E402


def _served() -> tuple:
    """The app over a small help desk with a stored gap report, and an admin key. Built at import:
    schemathesis makes one test per operation from the document the app serves."""
    tmp = Path(tempfile.mkdtemp(prefix="deflect-schema-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    fake = FakeDeflector(Home.resolve(tmp / "home").ensure(), ARTICLES, TICKETS + SHARES, vector=crc_words)
    run_now(fake)
    # Wrong keys are part of what schemathesis sends; throttling them would turn everything after the
    # tenth into a 429 and hide the other checks.
    app, _ = make_app(tmp, DEFLECTOR=fake, FAILED_KEY_LIMIT=0)
    return app, new_key(fake, "admin")


APP, KEY = _served()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case):
    if case.media_type in ("text/markdown", "application/x-ndjson"):
        return  # text formats (front matter, JSON lines) whose content a JSON schema cannot describe
    headers = {"Authorization": f"Bearer {KEY}"}
    response = case.call(headers=headers)
    try:
        case.validate_response(response, headers=headers)
    except FailureGroup as group:
        # a body over the size limit is refused with 413 before it is read, as documented; the check for
        # refused invalid data knows no 413 (ST201: "schema-violating request accepted")
        if response.status_code != 413 or any(failure.code != "ST201" for failure in group.exceptions):
            raise
