"""Write the settings table of deflect/settings.py into README.md, between the markers
``<!-- settings:start -->`` and ``<!-- settings:end -->``.

``python -m deflect.devtools.settings_doc`` rewrites the section; ``--check`` only says whether it is
up to date (exit 1 if not), which the test suite runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from deflect.settings import SETTINGS, format_value

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def render_table() -> str:
    """The settings as a Markdown table (generated: edit deflect/settings.py, not the README)."""
    lines = ["| environment variable | `deflect serve` option | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = format_value(s.default)
        default = f"`{default}`" if default else "unset"
        option = f"`{s.option}`" + (" (repeatable)" if s.many else "")
        meaning = s.help.replace("|", "\\|")
        lines.append(f"| `{s.env}` | {option} | {default} | {meaning} |")
    return "\n".join(lines)


def updated(text: str) -> str:
    """``text`` with the part between the markers replaced by the current table."""
    try:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"README.md needs the markers {START} and {END} around the settings table") from None
    return f"{head}{START}\n{render_table()}\n{END}{tail}"


def main(argv: list[str] | None = None, readme: Path = README) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = readme.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in args:
        if new != text:
            print(f"{readme.name}: the settings table is out of date; run python -m deflect.devtools.settings_doc",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        readme.write_text(new, encoding="utf-8")
        print(f"{readme.name}: settings table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
