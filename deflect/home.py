"""Where deflect keeps its data: the home folder with the SQLite store and the built index."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from deflect import settings


@dataclass(frozen=True)
class Home:
    """A deflect data folder: ``deflect.db`` (the store) and ``index/`` (the built index)."""

    path: Path

    @classmethod
    def resolve(cls, path: str | os.PathLike | None = None) -> Home:
        """The given folder, else the ``home`` setting (``$DEFLECT_HOME``), else the current directory."""
        chosen = path or settings.from_env("home") or os.getcwd()
        return cls(Path(chosen).expanduser().resolve())

    @property
    def db_path(self) -> Path:
        return self.path / "deflect.db"

    @property
    def index_dir(self) -> Path:
        return self.path / "index"

    def ensure(self) -> Home:
        self.path.mkdir(parents=True, exist_ok=True)
        return self
