"""A small JSON client for help-desk APIs: retries with back-off, honouring 429 + Retry-After, and
surviving dropped connections. The auth headers go out with each request and appear in no message.

Redirects are refused: following one would hand the API token to whatever host it names, and turn a
POST (an internal note) into a GET that "succeeds" without posting anything.

Reads (GET, and a POST that only reads: ``post(..., read=True)``) are retried after any transient
failure. Writes (POST) are retried only when the server said it did nothing (429, 503): after a dropped
connection a write may have happened, and a note posted twice is worse than one not posted (the next
webhook tries again)."""
from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from deflect.errors import DeflectError

RETRY_STATUSES = {429, 500, 502, 503, 504}
WRITE_RETRY_STATUSES = {429, 503}
DID_NOTHING = {429, 500, 503}   # answers after which the request may be sent again later, a write too
TRANSIENT = (ConnectionError, http.client.HTTPException, socket.timeout, TimeoutError)
# hints, filled in with the connection's ``connect`` command and ``name`` (HelpdeskClient.hint)
RESUMES = "a sync that stopped resumes where it stopped when run again (`deflect sync {name}`)"
UNREACHABLE_HINT = ("Check that the help desk is up and that the connection's address is right (to change it, "
                    "connect again: `{connect}` with its token options); " + RESUMES + ".")
NOT_JSON_HINT = ("The address answers with something else than the help desk's API (a login page, a proxy): "
                 "connect again with the help desk's own address (`{connect}` with its token options); "
                 + RESUMES + ".")
SERVER_HINT = "The help desk had a problem with the request; try again later: " + RESUMES + "."
NOT_FOUND_HINT = ("The help desk has nothing at that address: check the connection's URL (Chatwoot: and its account "
                  "id); to change them, connect again: `{connect}` with its token options.")


class HelpdeskError(DeflectError):
    """The help desk refused or failed a request; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0, hint: str | None = None, retryable: bool = False):
        super().__init__(message, hint)
        self.http_status = status
        self.retryable = retryable   # the help desk did nothing with the request: trying later is safe


def retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header: delay seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError):
        return None


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None   # urllib then raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_RefuseRedirects)


class HelpdeskClient:
    """JSON over HTTP to one help desk at ``base_url`` with ``headers`` (its auth)."""

    def __init__(self, base_url: str, headers: dict[str, str], *, attempts: int = 6, backoff: float = 0.5,
                 max_wait: float = 120.0, timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": "deflect-connector", **headers}
        self.attempts, self.backoff, self.max_wait, self.timeout = attempts, backoff, max_wait, timeout
        self.sleep = sleep
        self.retries = 0   # how many requests were repeated (for the sync's report)
        # what the hints name (a connector sets its own)
        self.connect_command, self.connection_name = "deflect connect KIND --name NAME --url URL", "NAME"

    def url(self, path: str, params: dict | None = None) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    def get(self, path: str, params: dict | None = None):
        return self.request("GET", path, params)

    def post(self, path: str, body: dict, *, read: bool = False):
        """``read``: the POST only reads (Zammad's knowledge base), so it is retried as a GET is."""
        return self.request("POST", path, body=body, read=read)

    def request(self, method: str, path: str, params: dict | None = None, body: dict | None = None,
                read: bool = False):
        """The decoded JSON answer; HelpdeskError when the help desk refuses or keeps failing."""
        url = self.url(path, params)
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self._headers, **({"Content-Type": "application/json"} if data is not None else {}))
        read = read or method == "GET"
        retry_on = RETRY_STATUSES if read else WRITE_RETRY_STATUSES
        for attempt in range(1, self.attempts + 1):
            wait: float | None
            try:
                request = urllib.request.Request(url, data=data, method=method, headers=headers)
                with _OPENER.open(request, timeout=self.timeout) as response:
                    raw = response.read()
                return json.loads(raw) if raw.strip() else None
            except urllib.error.HTTPError as exc:
                status = exc.code
                if status not in retry_on or attempt == self.attempts:
                    raise self._refused(method, path, status, exc) from None
                wait = retry_after(exc.headers.get("Retry-After"))
                exc.close()
            except (urllib.error.URLError, *TRANSIENT) as exc:
                reason = getattr(exc, "reason", exc)
                if not read or attempt == self.attempts:
                    unsent = read or isinstance(reason, (ConnectionRefusedError, socket.gaierror))
                    raise HelpdeskError(f"{method} {path}: no answer from the help desk at {self.base_url} "
                                        f"({reason})", retryable=unsent, hint=self.hint(UNREACHABLE_HINT)) from None
                wait = None
            except json.JSONDecodeError:
                raise HelpdeskError(f"{method} {path}: the help desk at {self.base_url} did not answer with JSON",
                                    hint=self.hint(NOT_JSON_HINT)) from None
            self.retries += 1
            self.sleep(min(self.max_wait, wait if wait is not None else self.backoff * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")

    def hint(self, template: str) -> str:
        """A hint with this connection's command and name filled in."""
        return template.format(connect=self.connect_command, name=self.connection_name)

    def _refused(self, method: str, path: str, status: int, exc: urllib.error.HTTPError) -> HelpdeskError:
        if status in (401, 403):
            return HelpdeskError(f"{method} {path}: the help desk refused the API token ({status})", status,
                                 hint="Check the token and its permissions (see docs/connectors.md).")
        if status == 404:
            return HelpdeskError(f"{method} {path}: not found (404)", status, hint=self.hint(NOT_FOUND_HINT))
        if 300 <= status < 400:
            target = urllib.parse.urlsplit(exc.headers.get("Location") or "")
            where = f" to {target.scheme}://{target.netloc}{target.path}" if target.netloc else ""
            return HelpdeskError(f"{method} {path}: the help desk redirected{where} ({status}); deflect follows "
                                 "no redirect, so that the API token goes to the configured address only", status,
                                 hint="Connect with the address the help desk answers on itself "
                                      "(`deflect connect ... --url https://...`).")
        if status == 429:
            return HelpdeskError(f"{method} {path}: still rate-limited after retrying (429)", status, retryable=True)
        return HelpdeskError(f"{method} {path}: the help desk answered {status} {exc.reason}", status,
                             retryable=status in DID_NOTHING, hint=self.hint(SERVER_HINT) if status >= 500 else None)
