"""The two-tenant demo: one deflect instance serving two help centers of the same publisher.

- ``rheinblick``: the newspaper's reader service (faq_articles/ with its ticket history, as `make demo`),
- ``leserreisen``: the publisher's reader-travel service (faq_leserreisen/: 16 articles, no ticket
  history yet, so its decision is calibrated from its own texts).

Each is a deflect home in the tenants folder (default: demo-tenants/), built with the ordinary commands
(``deflect tenants create``, then ``ingest``/``index``/``calibrate`` with ``--home``), and served by one
``deflect serve --tenants DIR`` under ``/t/rheinblick/`` and ``/t/leserreisen/``: one model loaded once
per worker, an index, store, keys and report per help center.

    python -m scripts.demo_tenants [--folder demo-tenants] [--host 127.0.0.1] [--port 8000] [--build-only]
"""
from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from scripts.common import QUIET_ENV, ROOT, deflect_command

HELP_CENTERS = {"rheinblick": ROOT / "faq_articles", "leserreisen": ROOT / "faq_leserreisen"}
SAMPLES = {"rheinblick": "Meine Zeitung ist heute nicht gekommen",
           "leserreisen": "Was kostet es, wenn ich die Reise absagen muss?"}


def deflect(*args: str) -> None:
    """Run a deflect command as a user would; a failure ends the demo with its message."""
    subprocess.run([*deflect_command(), *args], check=True, env={**os.environ, **QUIET_ENV})


def build(folder: Path, refresh: bool = True) -> None:
    """Create (once) and bring up to date every help center of the demo (without ``refresh``: only
    those without an index yet)."""
    for name, articles in HELP_CENTERS.items():
        home = folder / name
        if not refresh and (home / "index" / "manifest.json").exists():
            continue
        if not (home / "deflect.db").exists():
            deflect("tenants", "create", name, "--tenants", str(folder))
        deflect("ingest", str(articles), "--dates-to-now", "--home", str(home))
        deflect("index", "--home", str(home))
        deflect("calibrate", "--home", str(home))
        deflect("suggest", SAMPLES[name], "--no-log", "--home", str(home))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "demo-tenants", help="the tenants folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--build-only", action="store_true", help="build the help centers, do not serve them")
    args = parser.parse_args()
    folder = args.folder.resolve()
    build(folder)
    deflect("tenants", "list", "--tenants", str(folder))
    if args.build_only:
        return
    base = f"http://{args.host}:{args.port}"
    print(f"\nTwo help centers on one instance ({base}/ lists them):")
    for name in HELP_CENTERS:
        print(f"  {base}/t/{name}/   agent console: /t/{name}/agent   report: /t/{name}/report")
    print(f"API keys are per help center: deflect keys create --name me --scope admin --home {folder}/NAME\n")
    os.execvpe(deflect_command()[0], [*deflect_command(), "serve", "--tenants", str(folder),
                                      "--host", args.host, "--port", str(args.port)],
               {**os.environ, **QUIET_ENV})


if __name__ == "__main__":
    main()
