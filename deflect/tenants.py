"""Several help centers in one instance: a tenants folder whose subfolders are deflect homes.

A tenant is a plain deflect home (its own ``deflect.db`` and ``index/``: articles, tickets, index,
calibration, keys and report of one help center); its name is the name of its folder and the path
part of its URLs (``/t/<name>/...``). Every subfolder of the tenants folder that holds a ``deflect.db``
is a tenant; other entries (files, hidden folders, folders without deflect data) are left alone.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from deflect.errors import DeflectError, InputError
from deflect.home import Home

NAME_RULE = "1-63 characters: lowercase letters a-z, digits and hyphens, starting with a letter or digit"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_name(name: str) -> str:
    """``name`` if it can name a tenant (it appears in URLs), else an InputError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"{name!r} cannot name a help center", hint=f"A tenant name has {NAME_RULE}.")
    return name


def is_home(path: Path) -> bool:
    """Whether a folder holds deflect data (a store)."""
    return (path / "deflect.db").is_file()


def tenants_folder(folder: str | os.PathLike) -> Path:
    """The tenants folder as an absolute path; it must exist."""
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise DeflectError(f"the tenants folder {path} does not exist",
                           hint="Create a help center in it with `deflect tenants create NAME --tenants DIR`.")
    return path


def find_tenants(folder: str | os.PathLike, unusable: list[Path] | None = None) -> dict[str, Home]:
    """The tenants of a folder by name, sorted: every subfolder with deflect data. A subfolder with
    deflect data whose name cannot be a tenant's (a copy "leserreisen.bak") is refused, since it would be
    silently unreachable; given ``unusable``, it is added there and left out instead (a running service
    keeps serving the others when such a folder appears)."""
    root = tenants_folder(folder)
    found: dict[str, Home] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir() or not is_home(entry):
            continue
        if not _NAME.fullmatch(entry.name):
            if unusable is not None:
                unusable.append(entry)
                continue
            raise DeflectError(f"the help center folder {entry} has a name that cannot be used in URLs",
                               hint=f"Rename the folder: a tenant name has {NAME_RULE}.")
        found[entry.name] = Home(entry)
    return found


def unusable_note(folder: Path) -> str:
    """What to say of a folder ``find_tenants`` left out."""
    return f"the help center folder {folder} is not served: its name cannot be used in URLs ({NAME_RULE})"


def tenant_home(folder: str | os.PathLike, name: str) -> Home:
    """The home of tenant ``name`` in the tenants folder (whether it exists yet or not)."""
    return Home(tenants_folder(folder) / check_name(name))
