"""The layer check (deflect.devtools.layers) on the real tree and on small fake trees."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deflect.devtools import layers

ROOT = Path(__file__).resolve().parents[1]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


GOOD = {
    "deflect/__init__.py": "",
    "deflect/errors.py": "",
    "deflect/text.py": "from deflect.errors import *\n",
    "deflect/store/__init__.py": "from deflect.store.core import Store\n",
    "deflect/store/core.py": "from deflect import errors\n",
    "deflect/engine.py": "from deflect.store import Store\n",
    "deflect/devtools/__init__.py": "",
    "deflect/devtools/tool.py": "import deflect.cli\n",
    "deflect/cli/__init__.py": "def run():\n    from deflect.web import create_app\n",
    "web/__init__.py": "from . import state\nfrom .state import get\n",
    "web/state.py": "from deflect.engine import Deflector\nfrom ..text import clip\n",
}


def test_the_real_tree_keeps_its_layers():
    assert layers.check(ROOT) == []
    out = subprocess.run([sys.executable, "-m", "deflect.devtools.layers"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_tree_that_keeps_the_rules_passes(tmp_path):
    assert layers.check(write(tmp_path, GOOD), known={}) == []


def test_lower_layer_importing_a_higher_one_fails(tmp_path):
    root = write(tmp_path, {**GOOD, "deflect/store/core.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from deflect.engine import Deflector\n"
        "def f():\n    import deflect.web.state\n")})
    problems = layers.check(root, known={})
    assert any(p.startswith("deflect/store/core.py:3: deflect.store.core (store) imports deflect.engine (engine)")
               for p in problems), problems
    assert any(p.startswith("deflect/store/core.py:5: deflect.store.core (store) imports deflect.web.state (web)")
               for p in problems), problems
    out = subprocess.run([sys.executable, "-m", "deflect.devtools.layers", str(root)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "a lower layer must not import a higher one" in out.stdout


def test_relative_imports_in_web_are_resolved(tmp_path):
    root = write(tmp_path, {**GOOD, "web/state.py": "from ..cli import run\n"})
    problems = layers.check(root, known={})
    assert problems == ["web/state.py:1: deflect.web.state (web) imports deflect.cli (cli): "
                        "a lower layer must not import a higher one",
                        "deflect/cli/__init__.py:2, web/__init__.py:1, web/state.py:1: import cycle "
                        "deflect.cli -> deflect.web -> deflect.web.state -> deflect.cli: "
                        "modules must not import each other in a cycle"]


def test_a_cycle_inside_a_layer_fails(tmp_path):
    root = write(tmp_path, {**GOOD, "deflect/errors.py": "def f():\n    from deflect import text\n"})
    problems = layers.check(root, known={})
    assert problems == ["deflect/errors.py:2, deflect/text.py:1: import cycle deflect.errors -> deflect.text -> "
                        "deflect.errors: modules must not import each other in a cycle"]


def test_modules_outside_the_table_and_imports_of_devtools_fail(tmp_path):
    root = write(tmp_path, {**GOOD, "deflect/newthing.py": "", "deflect/engine.py": "import deflect.devtools.tool\n"})
    problems = layers.check(root, known={})
    assert any("deflect.newthing is in no layer" in p for p in problems)
    assert any("imports deflect.devtools.tool: the developer tools are outside the layers" in p for p in problems)


def test_a_known_break_that_is_gone_must_be_taken_off_the_list(tmp_path):
    root = write(tmp_path, GOOD)
    problems = layers.check(root, known={("deflect.engine", "deflect.web"): "to be fixed"})
    assert problems and "take it off KNOWN_BREAKS" in problems[0]
