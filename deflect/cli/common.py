"""What every command group of the CLI shares: the ``--home`` option, library errors as click errors,
and opening a home's store."""
from __future__ import annotations

import functools

import click

from deflect.errors import DeflectError
from deflect.home import Home


def home_option(fn=None, *, create: bool = True):
    """``--home DIR`` (default: the ``home`` setting, ``$DEFLECT_HOME``, else the current directory) and
    ``--database URL`` (default: ``$DEFLECT_DATABASE_URL``, else the home's SQLite file); the command gets
    the Home, its folder created unless ``create`` is False."""
    def decorate(fn):
        @click.option("--home", "home", type=click.Path(file_okay=False), default=None,
                      help="Data folder with deflect.db and index/ (default: $DEFLECT_HOME, else the current "
                           "directory).")
        @click.option("--database", "database", default=None, metavar="URL",
                      help="PostgreSQL URL of the store, postgresql://USER@HOST/DB (default: "
                           "$DEFLECT_DATABASE_URL, else deflect.db in the home).")
        @functools.wraps(fn)
        def wrapper(*args, home=None, database=None, **kwargs):
            resolved = Home.resolve(home, database)
            return fn(*args, home=resolved.ensure() if create else resolved, **kwargs)
        return wrapper
    return decorate(fn) if fn is not None else decorate


def friendly(fn):
    """Turn library errors into ClickException with the hint how to fix them."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeflectError as exc:
            raise click.ClickException(str(exc) + (f"\nHint: {exc.hint}" if exc.hint else "")) from exc
    return wrapper


def open_home_store(home: Home):
    """The home's store (created and migrated on first use)."""
    from deflect.store import open_store
    return open_store(home.database)
