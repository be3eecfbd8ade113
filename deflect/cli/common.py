"""What every command group of the CLI shares: the ``--home`` option, library errors as click errors,
and opening a home's store."""
from __future__ import annotations

import functools
import sqlite3

import click

from deflect.errors import DeflectError
from deflect.home import Home


def click_error(exc: DeflectError) -> click.ClickException:
    """A library error as the CLI tells it: the message, then how to fix it."""
    return click.ClickException(str(exc) + (f"\nHint: {exc.hint}" if exc.hint else ""))


def home_option(fn=None, *, create: bool = True, one_home: bool = True):
    """``--home DIR`` (default: the ``home`` setting, ``$DEFLECT_HOME``, else the current directory) and
    ``--database URL`` (default: ``$DEFLECT_DATABASE_URL``, else the home's SQLite file); the command gets
    the Home, its folder created unless ``create`` is False. A command on ``one_home`` refuses to guess
    which store is meant (``check_one_store``)."""
    def decorate(fn):
        @click.option("--home", "home", type=click.Path(file_okay=False), default=None,
                      help="Data folder with deflect.db and index/ (default: $DEFLECT_HOME, else the current "
                           "directory).")
        @click.option("--database", "database", default=None, metavar="URL",
                      help="PostgreSQL URL of the store, postgresql://USER@HOST/DB (default: "
                           "$DEFLECT_DATABASE_URL, else deflect.db in the home).")
        @functools.wraps(fn)
        def wrapper(*args, home=None, database=None, **kwargs):
            try:
                resolved = Home.resolve(home, database)
                if one_home:
                    # a group's subcommand may name the home itself (``gaps plan G-0001 --home DIR``)
                    group = click.get_current_context().invoked_subcommand is not None
                    check_one_store(resolved, home_given=home is not None or group, url_given=database is not None)
                if create:
                    resolved.ensure()
            except DeflectError as exc:
                raise click_error(exc) from exc
            return fn(*args, home=resolved, **kwargs)
        return wrapper
    return decorate(fn) if fn is not None else decorate


def sub_home_option(fn):
    """``--home`` also after a group's subcommand (``deflect gaps plan G-0001 ... --home DIR``); the
    subcommand finds the Home in ``ctx.obj["home"]``."""
    @click.option("--home", "sub_home", type=click.Path(file_okay=False), default=None,
                  help="Data folder (default: the group's --home, $DEFLECT_HOME or the current directory).")
    @functools.wraps(fn)
    def wrapper(*args, sub_home=None, **kwargs):
        ctx = click.get_current_context()
        if sub_home:
            try:
                ctx.obj = {"home": Home.resolve(sub_home, ctx.obj["home"].database_url if ctx.obj else None)}
            except DeflectError as exc:
                raise click_error(exc) from exc
        return fn(*args, **kwargs)
    return wrapper


def check_one_store(home: Home, home_given: bool, url_given: bool) -> None:
    """Refuse a command whose store is ambiguous, where it would act on another store than meant (an
    erasure that reports "nothing stored" while the customer's data sits in the other):
    - the database URL comes from the environment, while the home holds a store of its own (a help center
      of a tenants folder keeps its own ``deflect.db``);
    - no home is named while a tenants folder is set: the current folder would become a store of its own."""
    from deflect import settings
    if home.database_url and not url_given and home.db_path.exists():
        raise click.ClickException(
            f"{home.path} holds a store of its own (deflect.db), but DEFLECT_DATABASE_URL names another\n"
            "Hint: for a help center of a tenants folder unset DEFLECT_DATABASE_URL; to use the database, pass "
            "--database URL (or move deflect.db away).")
    if not home_given and not settings.from_env("home") and settings.from_env("tenants"):
        raise click.ClickException(
            "DEFLECT_TENANTS is set: name the help center this command is for\n"
            f"Hint: pass --home {settings.from_env('tenants')}/NAME (`deflect tenants list` names them).")


def open_existing_store(home: Home):
    """The home's store; a folder without deflect data is refused, not turned into one (a typo in --home
    would become a new, empty help center)."""
    from deflect.store import store_exists
    if not store_exists(home.database):
        raise click.ClickException(f"no deflect data here ({home.path})\nHint: pass --home DIR.")
    return open_home_store(home)


def friendly(fn):
    """Turn library errors into ClickException with the hint how to fix them; a full disk too (its write
    was undone: SQLite rolls the transaction back)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeflectError as exc:
            _end_progress_bars()
            raise click_error(exc) from exc
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc) and "disk I/O" not in str(exc):
                raise
            _end_progress_bars()
            raise click.ClickException(f"the database could not be written: {exc} (the write was undone)\n"
                                       "Hint: Is the disk full? `df -h` tells; free space, then run the command "
                                       "again.") from exc
    return wrapper


def _end_progress_bars() -> None:
    """Close the progress bars still on screen, so that an error starts on a line of its own."""
    from tqdm import tqdm
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def open_home_store(home: Home):
    """The home's store (created and migrated on first use)."""
    from deflect.store import open_store
    return open_store(home.database)


def open_deflector(home: Home, threads: int = 1):
    """The home's engine, with ``threads`` torch threads."""
    from deflect.deflector import Deflector
    from deflect.embedder import set_threads
    set_threads(threads)
    return Deflector.open(home)


def check_labelled(inquiries: list, store, labelled: str) -> None:
    """Refuse a labelled file whose inquiries expect articles the store lacks (in an empty store the
    missing index says more)."""
    from deflect.formats import check_expected_articles
    articles = store.article_ids()
    if articles:
        check_expected_articles(inquiries, articles, click.format_filename(labelled))
