"""Where deflect keeps its data: the home folder with the built index and the SQLite store, or the store's
PostgreSQL URL (the ``database_url`` setting)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from deflect import settings
from deflect.errors import SettingError


@dataclass(frozen=True)
class Home:
    """A deflect data folder: ``deflect.db`` (the store, unless ``database_url`` names a PostgreSQL
    server) and ``index/`` (the built index)."""

    path: Path
    database_url: str | None = None

    @classmethod
    def resolve(cls, path: str | os.PathLike | None = None, database: str | None = None) -> Home:
        """The given folder, else the ``home`` setting (``$DEFLECT_HOME``), else the current directory; the
        given database URL, else the ``database_url`` setting (``$DEFLECT_DATABASE_URL``), else none."""
        chosen = path or settings.from_env("home") or os.getcwd()
        url = database or settings.from_env("database_url")
        if url and not str(url).startswith(("postgresql://", "postgres://")):
            # anything else would be taken for a SQLite file of that name, password and all
            raise SettingError(f"{settings.without_password(str(url))} is no PostgreSQL URL",
                               hint="Write it as postgresql://USER:PASSWORD@HOST/DB, or leave it unset for the "
                                    "home's own SQLite store.")
        return cls(Path(chosen).expanduser().resolve(), url)

    @property
    def db_path(self) -> Path:
        """The SQLite file of the store (when no database URL is set)."""
        return self.path / "deflect.db"

    @property
    def database(self) -> str | Path:
        """Where the store is: the PostgreSQL URL, else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def index_dir(self) -> Path:
        return self.path / "index"

    @property
    def settings_file(self) -> Path:
        """A help center's own settings in a tenants instance (``settings.HELP_CENTER_SETTINGS``)."""
        return self.path / "deflect.env"

    @property
    def spool_file(self) -> Path:
        """Rows the service could not write to the store yet (``deflect.store.spool``)."""
        return self.path / "spool" / "rows.jsonl"

    def ensure(self) -> Home:
        if self.path.exists() and not self.path.is_dir():
            raise SettingError(f"the home {self.path} is a file, not a folder",
                               hint="Point --home (or DEFLECT_HOME) at deflect's data folder.")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:   # a read-only mount, a folder of another user, a typo under /sys
            raise SettingError(f"the home {self.path} cannot be made: {exc.strerror or exc}",
                               hint="Point --home (or DEFLECT_HOME) at a folder this user may write to "
                                    "(systemd: ReadWritePaths=).") from None
        return self
