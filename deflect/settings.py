"""Every setting deflect has, in one table: name, default, environment variable, `deflect serve` option,
Flask config key and meaning.

Settings come from, in order of precedence: an override (a `deflect serve` option, a test's config),
the environment (``DEFLECT_<NAME>``; an empty variable counts as unset), the default. ``load()`` reads
and converts them all once; a value that cannot be used raises a SettingError naming its variable.
``python -m deflect.devtools.settings_doc`` writes the table into README.md.
"""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from deflect.errors import SettingError

ENV_PREFIX = "DEFLECT_"
DEFAULT_RATE_LIMIT = {"suggest": "60/minute", "feedback": "60/minute"}
_RATE_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
                 "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/\s*([a-z]+))?\s*$")


def parse_rate(value: Any) -> tuple[int, float] | None:
    """``"30/minute"`` -> (30, 60.0); an int means per minute; 0, None, "off" disable the limit."""
    if value is None or value is False:
        return None
    if isinstance(value, str) and value.strip().lower() in ("", "off", "0"):
        return None
    if isinstance(value, int):
        return (value, 60.0) if value > 0 else None
    match = _RATE.match(str(value).lower())
    if not match or match.group(2) not in (None, *_RATE_PERIODS):
        raise ValueError(f"bad rate limit {value!r}; use e.g. '30/minute'")
    count = int(match.group(1))
    return (count, float(_RATE_PERIODS[match.group(2) or "minute"])) if count > 0 else None


# -- converters: a text (environment, command line) or an already typed value -> the setting's value;
# ValueError says what is wrong with it.
def _text(value: Any) -> str | None:
    text = str(value).strip()
    return text or None


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        try:
            number = int(str(value).strip()) if isinstance(value, str) else int(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number
    return convert


def _number(low: float, high: float, unit: str = "") -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number{unit and ' of ' + unit}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}{unit and ' ' + unit}")
        return number
    return convert


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return text
    return convert


def _items(value: Any) -> list[str]:
    """Comma-separated values (phone numbers, addresses, e-mail addresses or @domains), each stripped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def _patterns(value: Any) -> list[str]:
    """Regular expressions separated by spaces, each checked to compile."""
    import re

    items = value.split() if isinstance(value, str) else [str(v) for v in value]
    for item in items:
        try:
            re.compile(item)
        except re.error as exc:
            raise ValueError(f"{item!r} is no regular expression ({exc})") from None
    return items


def _origins(value: Any) -> list[str]:
    """Origins (scheme://host[:port]) or ``*``; a bare host would never match a browser's Origin header."""
    origins = _items(value)
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in ("http", "https") or not parts.hostname
                              or parts.path not in ("", "/") or parts.query or parts.fragment):
            raise ValueError(f"{origin!r} is no origin: give scheme and host, e.g. https://www.example.com")
    return origins


def _link(value: Any) -> str | None:
    """An http(s) address with its host, or a path on the same site ("/kontakt")."""
    text = _text(value)
    if text is not None and not (text.startswith("/") and not text.startswith("//")):
        _http_url(text)
    return text


def _http_url(value: Any) -> str | None:
    """An http(s) address with a host (a bare "help.example.com" would be read as a path)."""
    text = _text(value)
    if text is not None:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("give an http:// or https:// address with its host, e.g. https://help.example.com")
    return text


def _rate_limit(value: Any) -> str | int | dict[str, Any]:
    """One rate for every limited endpoint ("30/minute", 0 or "off") or one per endpoint
    ("suggest=30/minute,feedback=60/minute", or a dict)."""
    if isinstance(value, str) and "=" in value:
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("write ENDPOINT=RATE for every endpoint, e.g. suggest=30/minute,feedback=60/minute")
        value = {name.strip(): rate.strip() for name, rate in pairs}
    if not isinstance(value, Mapping):
        parse_rate(value)
        return value
    unknown = sorted(set(value) - set(DEFAULT_RATE_LIMIT))
    if unknown:
        raise ValueError(f"unknown endpoint {unknown[0]!r}; limited are {', '.join(DEFAULT_RATE_LIMIT)}")
    for rate in value.values():
        parse_rate(rate)
    return dict(value)


@dataclass(frozen=True)
class Setting:
    """One setting: ``convert`` turns a text or typed value into it; ``config`` is its Flask config key."""

    name: str
    default: Any
    convert: Callable[[Any], Any]
    config: str
    option: str
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def many(self) -> bool:
        """A list: the option is repeatable, the variable comma-separated."""
        return isinstance(self.default, list)


SETTINGS: tuple[Setting, ...] = (
    #       name, default, convert, Flask config key, `deflect serve` option, meaning
    Setting("home", None, _text, "DEFLECT_HOME", "--home",
            "Data folder with deflect.db and index/ (unset: the current directory)."),
    Setting("snapshot_dir", None, _text, "SNAPSHOT_DIR", "--snapshots",
            "Folder of index snapshots published by `deflect index --publish DIR`: serve the one its pointer "
            "names and take up each new one without a restart (unset: the home's index/)."),
    Setting("snapshot_check_interval", 2.0, _number(0.1, 3600.0, "seconds"), "SNAPSHOT_CHECK_INTERVAL",
            "--snapshot-check-interval", "Seconds between two looks (per worker, in the background) at the "
            "snapshot pointer."),
    Setting("database_url", None, _text, "DATABASE_URL", "--database",
            "PostgreSQL URL of the store, postgresql://USER:PASSWORD@HOST:PORT/DB (unset: the SQLite file "
            "deflect.db in the home). Several processes and machines may share it."),
    Setting("model", None, _text, "DEFLECT_MODEL", "--model",
            "Embedding model the service expects the index to be built with (unset: the index's own)."),
    Setting("tenants", None, _text, "DEFLECT_TENANTS", "--tenants",
            "Folder of help centers served by one instance: each subfolder that is a deflect home is one, "
            "under /t/<folder name>/ (unset: the home alone, at /)."),
    Setting("tenants_root", "private", _choice("private", "list"), "TENANTS_ROOT", "--tenants-root",
            "What the root page of a tenants instance shows: private (how a help center is reached, no names: "
            "a host's clients stay private) or list (every help center with its links; /readyz names them too)."),
    Setting("widget_origins", [], _origins, "WIDGET_ORIGINS", "--widget-origin",
            "Origins allowed to call the widget endpoints from a browser, comma-separated; * allows any "
            "(the service's own origin always may)."),
    Setting("rate_limit", dict(DEFAULT_RATE_LIMIT), _rate_limit, "RATE_LIMIT", "--rate-limit",
            "Widget requests per client IP in each minute (or second, hour) window, counted in the database for "
            "all workers and replicas: one rate (30/minute; 0 or off disables) or "
            "suggest=RATE,feedback=RATE."),
    Setting("trust_proxy", 0, _int_range(0, 10), "TRUST_PROXY", "--trust-proxy",
            "Number of reverse proxies in front whose X-Forwarded-For/-Proto/-Host to trust."),
    Setting("max_content_length", 64 * 1024, _int_range(1, 1 << 30), "MAX_CONTENT_LENGTH",
            "--max-content-length", "Largest request body in bytes (article pushes have their own limit)."),
    Setting("article_max_content_length", 1024 * 1024, _int_range(1, 1 << 30), "ARTICLE_MAX_CONTENT_LENGTH",
            "--article-max-content-length", "Largest body in bytes of an article pushed to /api/v1/articles."),
    Setting("help_center_url", None, _http_url, "HELP_CENTER_URL", "--help-center-url",
            "Base URL for relative article links in agent drafts and help-desk notes, e.g. https://help.example.com "
            "(unset: the agent console's drafts link the article's page on this service, and notes keep the path)."),
    Setting("site_name", None, _text, "SITE_NAME", "--site-name",
            "The help center's name on the service's own pages (the results page /search, article pages); set, "
            "they carry it and the team's contact way instead of the demo publisher's name, address and phone."),
    Setting("contact_url", None, _link, "CONTACT_URL", "--contact-url",
            "The team's contact page (https://... or a path), linked as the way to a human from the results and "
            "article pages (unset: the service's own page's contact form, which is the demo's)."),
    Setting("contact_text", None, _text, "CONTACT_TEXT", "--contact-text",
            "One sentence on how the team answers, beside that link, e.g. \"Wir antworten werktags innerhalb "
            "eines Tages.\" (with site_name; unset: a general one)."),
    Setting("draft_signature", None, _text, "DRAFT_SIGNATURE", "--draft-signature",
            "Name under the closing of agent drafts (unset: \"customer service team\" in the draft's language)."),
    Setting("agent_language", "auto", _choice("auto", "de", "en"), "AGENT_LANGUAGE", "--agent-language",
            "Language of the notes deflect writes into the help desk for agents (the draft inside follows the "
            "customer): auto (the ticket's), de or en."),
    Setting("draft_ticket_min_score", None, _number(0.0, 1.0), "DRAFT_TICKET_MIN_SCORE", "--draft-ticket-min-score",
            "Similarity (0-1) a resolved ticket needs for its resolution to become the agent draft where no article "
            "is confident (unset: never; a resolution was written to another customer and may promise what was done "
            "for them, so set it only where resolutions are reusable replies)."),
    Setting("suggest_floor", None, _number(0.0, 1.0), "SUGGEST_FLOOR", "--suggest-floor",
            "Score (0-1) that the right article is among the first three (the second score the calibration fits) from "
            "which a question that is "
            "not answered gets \"these articles might help\" instead of \"no answer\" (unset: the floor fitted "
            "by `deflect calibrate`)."),
    Setting("failed_key_limit", 10, _int_range(0, 100_000), "FAILED_KEY_LIMIT", "--failed-key-limit",
            "Wrong API keys a client may present per minute before every key it sends gets 429 (0: no limit)."),
    Setting("privacy_allow", [], _items, "PRIVACY_ALLOW", "--privacy-allow",
            "The company's own phone numbers, e-mail addresses (or @domain) and address parts, comma-separated: "
            "kept when personal data is redacted."),
    Setting("privacy_patterns", [], _patterns, "PRIVACY_PATTERNS", "--privacy-patterns",
            "The shapes of the team's own customer, contract or mandate numbers as regular expressions, separated "
            "by spaces (e.g. 4711-\\d{4} RZ\\d{10}): redacted as [CUSTOMER-ID] wherever they stand, with or "
            "without a label."),
    Setting("log_lock_timeout", 1.0, _number(0.0, 30.0, "seconds"), "LOG_LOCK_TIMEOUT", "--log-lock-timeout",
            "Seconds a suggest request waits for a locked database to log the inquiry; then the inquiry is "
            "spooled and the answer goes out."),
    Setting("spool_max_bytes", 50 * 1024 * 1024, _int_range(1024, 1 << 40), "SPOOL_MAX_BYTES",
            "--spool-max-bytes", "Largest spool (bytes) of inquiries waiting for the database; beyond it they "
            "are lost and logged."),
    Setting("log_format", "text", _choice("text", "json"), "LOG_FORMAT", "--log-format",
            "Log lines as plain text, or json: one JSON object per line (time, level, logger, message)."),
    Setting("metrics_key", None, _text, "METRICS_KEY", "--metrics-key",
            "Bearer token that GET /metrics (Prometheus) requires (unset: open; then keep it off the public "
            "network, see docs/deploy.md)."),
    Setting("embed_batch_wait_ms", 10.0, _number(0.0, 100.0, "milliseconds"), "EMBED_BATCH_WAIT_MS",
            "--embed-batch-wait-ms", "Milliseconds a model forward waits for concurrent queries to join it, only "
            "while the worker is busy (a lone query never waits) and until as many joined as joined a forward "
            "before; 0 batches only what is already queued."),
    Setting("lexical_weight", 0.0, _number(0.0, 2.0), "LEXICAL_WEIGHT", "--lexical-weight",
            "Weight of the word-match (BM25, per-language statistics) evidence in the ranking and the "
            "confidence, for articles of the help center's large languages, for query languages for which "
            "`deflect calibrate` learnt no weight of their own (0: off). Recalibrate after changing it; see "
            "docs/benchmarks.md."),
    Setting("typo_respelling", "on", _choice("on", "off"), "TYPO_RESPELLING", "--typo-respelling",
            "on: a word of a German or English inquiry from five letters on that is no German or English word and "
            "one letter away from a word of the help center's articles is embedded as that word (\"kündgen\": "
            "\"kündigen\"; in an English inquiry only an English word); off: as typed (umlauts typed out are "
            "respelled either way)."),
    Setting("max_uncovered_answered", None, _number(0.0, 1.0), "MAX_UNCOVERED_ANSWERED", "--max-uncovered-answered",
            "Share (0-1) of the questions without an article that `deflect calibrate LABELLED` may let be answered "
            "anyway, as the labelled file's uncovered questions show it at 90% confidence, counted per article they "
            "are ranked first for; where too few show it, as few as possible are answered (unset: no bound; see "
            "docs/benchmarks.md)."),
    Setting("holdout", 0.0, _number(0.0, 0.5), "HOLDOUT", "--holdout",
            "Share of widget sessions (0-0.5, e.g. 0.05) that get no suggestions, drawn once per session: the "
            "control group of the holdout experiment in the metrics (0: off)."),
    Setting("feedback_min_sessions", 8, _int_range(1, 100_000), "FEEDBACK_MIN_SESSIONS", "--feedback-min-sessions",
            "Distinct sessions (customers' votes: from as many client addresses) that must say an article helped "
            "among similar phrasings before it is raised there; lowering it needs 3 (or this, if fewer)."),
    Setting("owner_article", None, _text, "OWNER_ARTICLE", "--owner-article",
            "Default owner of gap topics whose fix is an FAQ article (pre-fills planning)."),
    Setting("owner_product", None, _text, "OWNER_PRODUCT", "--owner-product",
            "Default owner of gap topics whose fix is a product repair (a defect or outage)."),
    Setting("owner_process", None, _text, "OWNER_PROCESS", "--owner-process",
            "Default owner of gap topics whose fix is a self-service function (what only agents can do now)."),
    Setting("incident_hook_url", None, _http_url, "INCIDENT_HOOK_URL", "--incident-hook-url",
            "URL that gets a POST (JSON) when an incident is flagged (unset: no notification)."),
    Setting("incident_check_interval", 60, _int_range(1, 86400), "INCIDENT_CHECK_INTERVAL",
            "--incident-check-interval", "Seconds between two incident checks after widget questions (per worker)."),
)
BY_NAME = {s.name: s for s in SETTINGS}
BY_ENV = {s.env: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The value of every setting and where it came from ("default", "env" or "override")."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def flask_config(self) -> dict[str, Any]:
        """The settings under their Flask config keys."""
        return {s.config: self.values[s.name] for s in SETTINGS}


def _convert(setting: Setting, value: Any, where: str) -> Any:
    try:
        return setting.convert(value)
    except (TypeError, ValueError) as exc:
        raise SettingError(f"{where}={value!r} is not a valid {setting.name}: {exc}",
                           hint=f"{setting.env}: {setting.help}") from None


def _value(setting: Setting, env: Mapping[str, str], overrides: Mapping[str, Any]) -> tuple[Any, str]:
    """(value, source) of one setting."""
    given = overrides.get(setting.name)
    if given is not None:
        return _convert(setting, given, setting.option), "override"
    raw = env.get(setting.env, "")
    if raw.strip():
        return _convert(setting, raw, setting.env), "env"
    return _copy(setting.default), "default"


def from_env(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting from the environment (``os.environ`` unless given), else its default."""
    return _value(BY_NAME[name], os.environ if env is None else env, {})[0]


def load(env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Every setting: the override if given (not None), else the environment, else the default."""
    env = os.environ if env is None else env
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(BY_NAME))
    if unknown:
        raise SettingError(f"unknown setting {unknown[0]!r}", hint="Known: " + ", ".join(BY_NAME) + ".")
    found = {s.name: _value(s, env, overrides) for s in SETTINGS}
    return Settings({name: value for name, (value, _) in found.items()},
                    {name: source for name, (_, source) in found.items()})


# What one help center of a tenants instance may set for itself in its home's ``deflect.env``: what its
# customers and agents see (another brand's address and signature, its own site's origin) and where its
# incidents go. The others belong to the process (workers, limits, logs) or to the CLI's runs.
HELP_CENTER_SETTINGS = ("widget_origins", "help_center_url", "site_name", "contact_url", "contact_text",
                        "draft_signature", "agent_language",
                        "draft_ticket_min_score", "incident_hook_url", "suggest_floor", "holdout", "metrics_key")


def help_center_config(path: str | os.PathLike) -> dict[str, Any]:
    """The Flask config of the settings a help center's own file sets (``HELP_CENTER_SETTINGS`` only)."""
    values = read_env_file(path)
    own = {BY_NAME[name].env: name for name in HELP_CENTER_SETTINGS}
    other = sorted(set(values) - set(own))
    if other:
        raise SettingError(f"{path}: {other[0]} cannot be set for one help center",
                           hint="A help center's deflect.env may set " + ", ".join(sorted(own))
                                + "; the others are the instance's (its --env-file or environment).")
    return {BY_NAME[name].config: _value(BY_NAME[name], values, {})[0] for env, name in own.items() if env in values}


def read_env_file(path: str | os.PathLike) -> dict[str, str]:
    """``NAME=value`` lines of an environment file (as systemd's EnvironmentFile: ``#`` comments, blank
    lines, optional ``export`` and quotes)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as exc:
        raise SettingError(f"cannot read the environment file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SettingError(f"the environment file {path} is not UTF-8 text",
                           hint=f"Save it as UTF-8 (iconv -f latin1 -t utf-8 {path}).") from None
    values = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip():
            raise SettingError(f"{path}:{number}: expected NAME=value, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        name = name.strip()
        # a misspelt setting would be ignored without a word (DEFLECT_WIDGET_ORIGIN: the widget blocked)
        if name.startswith("DEFLECT_") and name not in BY_ENV and name != "DEFLECT_ENV_FILE":
            near = difflib.get_close_matches(name, list(BY_ENV), n=1)
            raise SettingError(f"{path}:{number}: {name} is no setting of deflect"
                               + (f": did you mean {near[0]}?" if near else ""),
                               hint="`deflect settings` lists them.")
        values[name] = value
    return values


def _copy(value: Any) -> Any:
    return type(value)(value) if isinstance(value, (list, dict)) else value


# user:password@ of a database URL: the password runs to the last "@" (one written without percent-encoding
# may hold "/", "@" or spaces)
_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@]*):(.*)@(?=[^@]*$)", re.I | re.S)


# ... or as a parameter of its query: "postgresql://deflect@db/deflect?password=...", as libpq takes it
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.I)


def url_password(url: str | None) -> str | None:
    """The password written in a database URL, as written (None without one)."""
    found = _CREDENTIALS.match(url or "")
    if found and found.group(2):
        return found.group(2)
    found = _QUERY_PASSWORD.search(url or "")
    return found.group(2) if found and found.group(2) else None


def without_password(url: str | None, text: str | None = None) -> str | None:
    """``text`` (default: the URL itself) fit to show: the URL's password replaced by ``***`` wherever it
    occurs (a driver's error message may quote it)."""
    shown = url if text is None else text
    secret = url_password(url)
    if not shown or not secret:
        return shown
    if text is None:
        shown = _CREDENTIALS.sub(lambda m: f"{m.group(1)}:***@", shown, count=1)
        return _QUERY_PASSWORD.sub(lambda m: f"{m.group(1)}***", shown)
    return shown.replace(secret, "***")


def format_value(value: Any) -> str:
    """A value as it is written in the environment ("" when unset)."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
