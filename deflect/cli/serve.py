"""`deflect serve` (the web service under gunicorn) and `deflect keys` (API keys for agents and admins)."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable

import click

from deflect import settings
from deflect.cli.common import friendly, home_option, open_existing_store, open_home_store
from deflect.errors import DeflectError
from deflect.home import Home

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


# -- serve ------------------------------------------------------------------------------------------
def limit_threads() -> None:
    """One compute thread per worker: torch with 2 threads under concurrent load took 218 ms per query
    against 13.6 ms with 1 thread on a 2-core machine (threads of several requests fight for the cores)."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    from deflect.embedder import set_threads as torch_threads
    from deflect.index.ann import set_threads as faiss_threads
    torch_threads(1)
    faiss_threads(1)
    # numpy's BLAS is already loaded (the CLI imports numpy) and read the variables above before they
    # were set: without this it ran the scoring's matrix products of batched queries on 2 threads that
    # spin for each other, the most CPU per request of anything outside the model.
    threadpool_limits(1, user_api="blas")
    try:
        import torch
        torch.set_num_interop_threads(1)
    except (ImportError, RuntimeError):  # RuntimeError: already set / parallel work started
        pass


def make_app(app_config: dict, warm: bool = True):
    """Create the app in this process and, with ``warm``, load the model and index and answer one
    query so the first customer does not wait for it. With the ``tenants`` setting: the app of every
    help center in that folder behind one dispatcher (``/t/<name>/``), each warmed the same way."""
    limit_threads()
    if app_config.get("DEFLECT_TENANTS"):
        from deflect.web.tenants import create_tenants_app
        dispatcher = create_tenants_app(app_config["DEFLECT_TENANTS"], app_config)
        for name, app in dispatcher.apps.items():
            if warm:
                _warm(app, f"help center {name!r}: ")
        return dispatcher
    from deflect.web import create_app
    app = create_app(app_config)
    if warm:
        _warm(app)
    return app


def _warm(app, who: str = "") -> None:
    from deflect.web.state import get_deflector
    with app.app_context():
        try:
            get_deflector().suggest("Hallo, wie kann ich mein Abo kündigen?", k=1)
        except DeflectError as exc:  # serve anyway: requests get a 409 JSON with the hint
            app.logger.error("deflect: %scannot load the index: %s", who, exc)


def _post_fork(server, worker) -> None:
    # Until gunicorn sets the worker's own handlers (after this hook), a stop signal met the master's
    # handlers copied by fork and was lost: Ctrl-C in the first seconds waited the graceful timeout (30 s)
    # for a worker still importing torch. A worker that serves nothing yet may just go.
    for stop in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(stop, lambda *_: os._exit(0))
    limit_threads()


def _child_exit(server, worker) -> None:
    """A gone worker's live metrics (gauges) leave the Prometheus exposition; its counts stay."""
    if os.environ.get(PROMETHEUS_DIR):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


PROMETHEUS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _logger_class(config: Callable[[], dict]):
    """gunicorn's logger, its lines as JSON while the ``log_format`` setting says json (looked up on
    every set-up, so a reload by SIGHUP switches the format)."""
    from gunicorn.glogging import Logger

    from deflect.logs import JsonFormatter

    class DeflectLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            self.error_log.addFilter(_without_queries)
            if config().get("LOG_FORMAT") == "json":
                for log in (self.error_log, self.access_log):
                    for handler in log.handlers:
                        handler.setFormatter(JsonFormatter())

    return DeflectLogger


_QUERY = re.compile(r"(/[^\s?'\"]*)\?[^\s'\"]*")


_QUOTED = re.compile(r"""(['"]).*$""", re.S)


def _without_queries(record: logging.LogRecord) -> bool:
    """gunicorn's error log quotes a request it cannot parse ("Invalid request from ip=...: Invalid HTTP
    request line: 'GET /search?q=anna@example.com\\x01 HTTP/1.1'", or only the words after a raw space):
    what it quotes is left out, and any other query string cut, since customers' words travel there."""
    message = record.getMessage()
    cut = _QUOTED.sub("(the request's text left out)", message) if "Invalid request" in message else message
    cut = _QUERY.sub(r"\1?…", cut)
    if cut != message:
        record.msg, record.args = cut, ()
    return True


# The path without its query string, and no referrer: both carry what customers typed into the search
# ("/search?q=ich heiße anna schmidt …"), which the log must not keep.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def say(message: str, config: dict, level: str = "info") -> None:
    """A line of the service's own log on stderr: one JSON object while ``log_format`` says json, as
    gunicorn's lines then are."""
    if config.get("LOG_FORMAT") == "json":
        from deflect.logs import JsonFormatter
        record = logging.LogRecord("deflect.serve", getattr(logging, level.upper()), __file__, 0, message, None, None)
        message = JsonFormatter().format(record)
    click.echo(message, err=True)


def run_gunicorn(app_config: dict, host: str, port: int, workers: int, threads: int, timeout: int,
                 access_log: bool = False, log_level: str = "info", warm: bool = True,
                 reread: Callable[[], dict] | None = None) -> None:
    """Serve the app under gunicorn (each worker creates its own app, model and index: no preload,
    so torch is never imported in the master before forking). On SIGHUP ``reread()`` gives the config
    again; gunicorn then replaces the workers with ones made with it (settings that cannot be read
    keep the old ones)."""
    from gunicorn.app.base import BaseApplication

    from deflect.cli.balanced_worker import BalancedThreadWorker, balances_connections

    current = {"config": app_config}
    # several threaded workers: new connections go to the less busy ones (deflect.cli.balanced_worker)
    threaded = BalancedThreadWorker if workers > 1 and balances_connections() else "gthread"
    options = {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": threaded if threads > 1 else "sync", "timeout": timeout, "graceful_timeout": 30,
        "keepalive": 5, "preload_app": False, "post_fork": _post_fork, "child_exit": _child_exit,
        "proc_name": "deflect", "accesslog": "-" if access_log else None, "errorlog": "-", "loglevel": log_level,
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": _logger_class(lambda: current["config"]),
        # gunicorn >= 25 opens a control socket at a fixed path: several servers would collide.
        "control_socket_disable": True,
        # Forwarded headers are the app's to trust (ProxyFix, --trust-proxy): gunicorn would take a
        # SCRIPT_NAME or X-Forwarded-Proto header from any local client and build links on it.
        "forwarded_allow_ips": "",
        # Request lines up to gunicorn's maximum reach the app, which answers long API URLs with a
        # JSON 414; only longer ones get gunicorn's own plain-text 400.
        "limit_request_line": 8190,
    }

    class Server(BaseApplication):
        loaded = False

        def load_config(self):
            if self.loaded and reread is not None:   # a reload (SIGHUP): read the settings again
                try:
                    current["config"] = reread()
                except DeflectError as exc:
                    say(f"deflect: settings not reloaded, the old ones stay: {exc}", current["config"], "warning")
            self.loaded = True
            for key, value in options.items():
                if value is not None and key in self.cfg.settings:  # settings differ between versions
                    self.cfg.set(key, value)

        def load(self):
            return make_app(current["config"], warm=warm)

    Server().run()


def export_settings(given: dict, file_env: dict[str, str], original: dict[str, str] | None = None) -> None:
    """Put the settings given as options or in the env file into this process's environment (inherited by
    the workers): the parts below the web app, such as a gap report's default owners, read them there.
    ``original``: the environment before any file was read; a setting taken out of the file since goes
    back to it (a reload that only added would keep a removed metrics key or rate limit)."""
    if original is not None:
        for name in [n for n in os.environ if n.startswith("DEFLECT_") and n not in file_env]:
            if name in original:
                os.environ[name] = original[name]
            else:
                del os.environ[name]
    os.environ.update(file_env)
    for name, value in given.items():
        if isinstance(value, str):
            os.environ[settings.BY_NAME[name].env] = value


def setting_options(fn):
    """One option per setting (``--home`` and ``--database`` are home_option's), from the table in
    deflect.settings."""
    for setting in reversed(settings.SETTINGS):
        if setting.name not in ("home", "database_url"):
            fn = click.option(setting.option, setting.name, multiple=setting.many, default=None,
                              help=f"{setting.help}{' (repeatable)' if setting.many else ''} [{setting.env}]")(fn)
    return fn


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes; each loads the model and index once (~memory per worker).")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Request threads per worker; the queries they answer at the same time share one model "
                   "forward, so more threads make larger batches (docs/deploy.md, Throughput).")
@click.option("--timeout", type=click.IntRange(10, 3600), default=120, show_default=True,
              help="Seconds before a silent worker is restarted (covers model loading).")
@setting_options
@click.option("--env-file", type=click.Path(dir_okay=False), default=None,
              help="File of DEFLECT_NAME=value lines, read at start and again on SIGHUP (over the environment).")
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@home_option(one_home=False, create=False)   # --tenants serves many; a home is checked where it is opened
@friendly
def serve(host, port, workers, threads, timeout, env_file, access_log, dev, home, **options):
    """Run the web service: API v1, the widget and the pages. Every setting can be given as an option,
    in its environment variable (see `deflect settings`) or in the --env-file; SIGHUP reads them again."""
    for name in THREAD_ENV:  # inherited by the workers before torch or BLAS start their pools
        os.environ[name] = "1"
    given = {name: value for name, value in options.items() if value not in (None, ())}
    group = click.get_current_context().find_root().obj or {}   # `deflect --env-file FILE serve`
    original = dict(os.environ) if env_file or not group.get("env_file") else dict(group["environ"])
    env_file = env_file or group.get("env_file")
    if env_file:   # the file's home and database are this process's too (over the environment, as for every
        # other command given the file; an option still wins)
        file_env = settings.read_env_file(env_file)
        ctx = click.get_current_context()

        def given_as_option(name: str) -> bool:
            return ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
        path = home.path if given_as_option("home") or not file_env.get("DEFLECT_HOME") else file_env["DEFLECT_HOME"]
        url = home.database_url if given_as_option("database") else (
            file_env.get("DEFLECT_DATABASE_URL") or home.database_url)
        home = Home.resolve(path, url or None)
    if home.database_url:   # --database, or the variable: the workers open their stores there too
        given["database_url"] = home.database_url

    # ``original``: what each reading of the env file starts from
    tenant_settings: dict[str, dict] = {}   # each help center's own settings as last read well

    def read_config() -> dict:
        file_env = settings.read_env_file(env_file) if env_file else {}
        config = settings.load(env={**original, **file_env},
                               overrides={**given, "home": str(home.path)}).flask_config()
        if config.get("DEFLECT_TENANTS"):   # at start and on SIGHUP: a help center added since is served
            check_tenants_config(config)
            config["TENANT_SETTINGS"] = read_tenant_settings(config["DEFLECT_TENANTS"], tenant_settings, config)
        export_settings(given, file_env, original)   # only settings that passed every check
        return config

    config = read_config()
    if config.get("DEFLECT_TENANTS"):
        serving = check_tenants(config["DEFLECT_TENANTS"], config["TENANT_SETTINGS"])
    else:
        if config.get("SNAPSHOT_DIR"):
            from deflect.index.snapshots import PUBLISH_HINT, current_version
            from deflect.store import store_exists
            if not store_exists(home.database):   # a mistyped --home: no new, empty store served beside them
                raise click.ClickException(f"no deflect data in {home.path}\nHint: pass the --home (or --database) "
                                           "whose store the snapshots were published from.")
            if current_version(config["SNAPSHOT_DIR"]) is None:
                raise click.ClickException(f"no index snapshot in {config['SNAPSHOT_DIR']}\nHint: {PUBLISH_HINT}")
        elif not (home.index_dir / "manifest.json").exists():
            from deflect.store import store_exists
            # a store restored from a backup without its index needs the index only
            stored = 0
            if store_exists(home.database):
                store = open_home_store(home)
                stored = store.counts()["articles"]
                store.close()
            raise click.ClickException(f"no index in {home.path}\nHint: run " + (
                "`deflect index` first: the store holds the articles." if stored else
                "`deflect ingest FOLDER` and `deflect index` first (or pass --home)."))
        open_home_store(home).close()  # apply migrations once here, before workers race to do it
        serving = str(home.path)
    if not config.get("DEFLECT_TENANTS") and config.get("WIDGET_ORIGINS") and not config.get("SITE_NAME"):
        # the widget is on a team's own site: its results page and article pages are the service's
        say("deflect: the service's own pages (/search, /articles/...) carry the demo publisher's name, address and "
            "contact form: set DEFLECT_SITE_NAME and DEFLECT_CONTACT_URL for your help center", config, "warning")
    check_port(host, port)
    if dev:
        from werkzeug.serving import run_simple
        run_simple(host, port, make_app(config), threaded=True, use_reloader=False)
        return
    say(f"deflect: serving {serving} on http://{host}:{port}/ ({workers} worker(s) x {threads} thread(s))", config)
    # The workers' request metrics meet in a folder of this serve's own (set before any worker, and
    # prometheus-client, starts), removed at the end.
    metrics_dir = tempfile.mkdtemp(prefix="deflect-metrics-")
    os.environ[PROMETHEUS_DIR] = metrics_dir
    master = os.getpid()
    try:
        run_gunicorn(config, host, port, workers, threads, timeout, access_log=access_log, reread=read_config)
    finally:
        if os.getpid() == master:   # an exiting worker (a fork) leaves through here too
            os.environ.pop(PROMETHEUS_DIR, None)
            shutil.rmtree(metrics_dir, ignore_errors=True)


def check_port(host: str, port: int) -> None:
    """Refuse an address another program listens on, before any worker starts (gunicorn would retry for
    five seconds and end in a log line). Bound the way gunicorn binds (SO_REUSEADDR), so a port that is
    only waiting to close does not count as taken."""
    import socket
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror}\nHint: give --host an address "
                                   "of this machine, e.g. 127.0.0.1 or 0.0.0.0.") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}\nHint: another program "
                                       "(another `deflect serve`?) uses it; pick another port with --port "
                                       f"(make demo: PORT={port + 1} make demo).") from None


def check_tenants_config(config: dict) -> None:
    """Settings a tenants folder cannot be served with (at start, and on SIGHUP before any is taken)."""
    if config.get("DATABASE_URL"):
        # One database for all tenants would mix their rows: each keeps its home's own store.
        raise DeflectError("--tenants serves each help center from its own home's store",
                           hint="Unset DEFLECT_DATABASE_URL: all help centers would share its database.")
    if config.get("SNAPSHOT_DIR"):
        # one snapshot folder would be every help center's index
        raise DeflectError("--snapshots serves one help center",
                           hint="Use either --tenants or --snapshots (each help center of a tenants folder serves "
                                "its own index); unset DEFLECT_SNAPSHOT_DIR.")


def read_tenant_settings(folder: str, last: dict[str, dict], config: dict) -> dict[str, dict]:
    """Each help center's own settings (its ``deflect.env``), read here once for every worker, its store
    migrated once before workers race to do it. A file broken since the last reading keeps that help
    center's settings of then (served as before, and said in the log); one broken at start leaves that
    help center out (the log and /readyz name it), not the whole instance."""
    from deflect.tenants import find_tenants
    read: dict[str, dict] = {}
    for name, tenant in find_tenants(folder).items():
        open_home_store(tenant).close()
        try:
            read[name] = settings.help_center_config(tenant.settings_file) if tenant.settings_file.is_file() else {}
        except DeflectError as exc:
            if name not in last:
                say(f"deflect: help center {name!r} is not served: {exc} ({exc.hint})", config, "error")
                continue
            say(f"deflect: help center {name!r} keeps its settings of the last reading: {exc}", config, "warning")
            read[name] = last[name]
    last.clear()
    last.update(read)
    return read


def check_tenants(folder: str, served: Iterable[str] | None = None) -> str:
    """Check the help centers of a tenants folder before the workers start; returns what is served (of
    ``served``, those whose settings could be read; default all), for the start line."""
    from deflect.tenants import find_tenants
    found = find_tenants(folder)
    if not found:
        raise click.ClickException(f"no help center in {folder}\nHint: create one with "
                                   f"`deflect tenants create NAME --tenants {folder}`.")
    if served is not None:
        found = {name: home for name, home in found.items() if name in set(served)}
    for name, home in found.items():
        if not (home.index_dir / "manifest.json").exists():
            click.echo(f"deflect: help center {name!r} has no index yet: its API answers 409 until "
                       f"`deflect index --home {home.path}` has run (then send SIGHUP)", err=True)
    return f"{len(found)} help center(s) of {folder} under /t/<name>/: {', '.join(found)}"


# -- keys -------------------------------------------------------------------------------------------
@click.group()
def keys():
    """Manage API keys for the agent (scope agent) and admin (scope admin) endpoints."""


@keys.command("create")
@click.option("--name", required=True, help="Who uses the key, e.g. helpdesk or cms.")
@click.option("--scope", type=click.Choice(["agent", "admin"]), default="agent", show_default=True,
              help="agent: /api/v1/agent/suggest; admin: everything.")
@click.option("--quiet", is_flag=True, help="Print only the key.")
@home_option
@friendly
def keys_create(name, scope, quiet, home):
    """Create an API key; it is printed once and stored only as a hash."""
    from deflect.store import store_exists
    from deflect.store.service import create_key
    if not store_exists(home.database):   # a typo in --home: the key would open nothing the service serves
        click.echo(f"note: no deflect data was at {home.path}: the key is stored in a new, empty store there "
                   "(is --home right?)", err=True)
    record, key = create_key(open_home_store(home), name, scope)
    if quiet:
        click.echo(key)
        return
    click.echo(f"Created key {record['id']} '{record['name']}' (scope {record['scope']}). "
               "Copy it now, it is not shown again:", err=True)
    click.echo(key)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
@home_option
@friendly
def keys_list(as_json, home):
    """List API keys (never the keys themselves)."""
    from deflect.store.service import list_keys
    rows = list_keys(open_existing_store(home))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no keys; create one with `deflect keys create --name NAME`")
        return
    click.echo(f"{'id':<13} {'name':<20} {'scope':<6} {'key':<12} {'created':<26} {'last used':<26} status")
    for r in rows:
        status = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        click.echo(f"{r['id']:<13} {r['name'][:20]:<20} {r['scope']:<6} {r['prefix'] + '…':<12} "
                   f"{r['created_at']:<26} {r['last_used_at'] or '-':<26} {status}")


@keys.command("revoke")
@click.argument("key_id")
@home_option
@friendly
def keys_revoke(key_id, home):
    """Revoke the key with id KEY_ID (or every active key with that name)."""
    from deflect.store.service import revoke_key
    for r in revoke_key(open_existing_store(home), key_id):
        click.echo(f"revoked {r['id']} '{r['name']}' (scope {r['scope']})")
