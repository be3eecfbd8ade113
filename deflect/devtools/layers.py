"""The layer check: a lower layer never imports a higher one, and no modules import each other in a cycle.

Every import counts: at the top of a module, inside functions (lazy imports) and under
``if TYPE_CHECKING:``. The service's source lives in ``web/`` and is checked as ``deflect.web``.

``python -m deflect.devtools.layers [ROOT]`` checks the tree at ROOT (default: this checkout) and exits 1
listing each problem as ``file:line: ...``; ``make lint`` runs it.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

# The layers, lowest first. A module may import modules of its own layer and of the layers below it.
# A module belongs to the layer of the longest prefix that names it; every module must have one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("deflect.errors", "deflect.home", "deflect.clock", "deflect.text", "deflect.html_text",
              "deflect.language", "deflect.locks", "deflect.labels", "deflect.formats", "deflect.ticket_files",
              "deflect.privacy", "deflect.draft", "deflect.settings", "deflect.logs", "deflect.tenants",
              "deflect.xlsx")),
    ("store", ("deflect.store",)),
    ("ingest", ("deflect.ingest",)),
    ("index", ("deflect.embedder", "deflect.index")),
    ("calibrator", ("deflect.decision.calibrator", "deflect.decision.floor", "deflect.decision.missing")),
    ("engine", ("deflect.engine", "deflect.deflector", "deflect.neighbours")),
    ("decision", ("deflect.decision",)),   # fitting the calibration (fit, calibrate), evaluate
    ("feedback", ("deflect.feedback",)),   # holdout, outcomes, customer history, learning from feedback
    ("gaps", ("deflect.gaps",)),
    ("connectors", ("deflect.connectors",)),   # help-desk connectors: store + engine, used by web and cli
    ("web", ("deflect.web",)),
    ("cli", ("deflect.cli",)),
)
# Outside the layers: the package's own __init__ (its version) and the developer tools, which may import
# anything and are imported by nothing in the layers.
UNLAYERED = ("deflect", "deflect.devtools")
# Imports that break the rules today and are being removed in other changes: (importing, imported module).
# They are left out of the check; one that is no longer there fails the check until it is taken off here.
KNOWN_BREAKS: dict[tuple[str, str], str] = {
}
# Where a package's source lives when it is not under its own name.
SOURCE_DIRS = {"deflect": "deflect", "deflect.web": "web"}


@dataclass(frozen=True)
class Import:
    source: str    # importing module
    target: str    # imported module (the most specific one that exists in the tree)
    path: Path
    line: int


def find_modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` under the source folders (``deflect/``, ``web/``)."""
    modules: dict[str, Path] = {}
    for package, folder in SOURCE_DIRS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("")
            if folder == "deflect" and rel.parts and rel.parts[0] == "web":
                continue  # deflect/web/ would shadow web/: the installed package comes from web/
            parts = [p for p in rel.parts if p != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def read_imports(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of a deflect module in ``path`` (anywhere in the file), relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(module, path).split(".")
                package = package[:len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            # ``from pkg import name`` imports the module pkg.name when there is one, else pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target == "deflect" or target.startswith("deflect."):
                found.append(Import(module, _existing(target, modules), path, node.lineno))
    return found


def _existing(target: str, modules: dict[str, Path]) -> str:
    """The longest existing module a dotted name starts with (``deflect.x.Name`` -> ``deflect.x``)."""
    parts = target.split(".")
    while len(parts) > 1 and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> tuple[int, str] | None:
    """(rank, name) of the module's layer; None for the unlayered modules."""
    if module == "deflect" or _matches(module, "deflect.devtools"):
        return None
    best: tuple[int, int, str] | None = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _matches(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank, name)
    if best is None:
        raise KeyError(module)
    return best[1], best[2]


def layer_problems(imports: list[Import], root: Path) -> list[str]:
    problems = []
    for imp in imports:
        where = f"{imp.path.relative_to(root)}:{imp.line}"
        if layer_of(imp.source) is None:
            continue  # devtools may import anything
        low, high = layer_of(imp.source), layer_of(imp.target)
        if high is None:
            if _matches(imp.target, "deflect.devtools"):
                problems.append(f"{where}: {imp.source} ({low[1]}) imports {imp.target}: "
                                "the developer tools are outside the layers; nothing in them imports them")
            continue
        if high[0] > low[0]:
            problems.append(f"{where}: {imp.source} ({low[1]}) imports {imp.target} ({high[1]}): "
                            "a lower layer must not import a higher one")
    return problems


def find_cycles(imports: list[Import]) -> list[list[str]]:
    """The import cycles: each strongly connected group of modules (Tarjan), as one cycle through it."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # recursive: module graphs are shallow
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(group, graph) for group in sorted(groups)]


def _cycle_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return group  # unreachable: a strongly connected group always has a cycle through its first module


def check(root: Path, known: dict[tuple[str, str], str] = KNOWN_BREAKS) -> list[str]:
    """Every problem in the tree at ``root``: modules outside the table, layer breaks, cycles, and
    ``known`` breaks that are gone."""
    modules = find_modules(root)
    problems = []
    for module, path in modules.items():
        try:
            layer_of(module)
        except KeyError:
            problems.append(f"{path.relative_to(root)}:1: {module} is in no layer: add it to LAYERS in "
                            "deflect/devtools/layers.py")
    imports = [imp for module, path in modules.items() for imp in read_imports(module, path, modules)]
    edges = {(imp.source, imp.target) for imp in imports}
    for (source, target), why in known.items():
        if (source, target) not in edges:
            problems.append(f"deflect/devtools/layers.py:1: {source} no longer imports {target} ({why}): "
                            "take it off KNOWN_BREAKS")
    imports = [imp for imp in imports if (imp.source, imp.target) not in known]
    known = [imp for imp in imports if _placed(imp.source) and _placed(imp.target)]
    problems += layer_problems(known, root)
    first_line = {(imp.source, imp.target): imp for imp in reversed(imports)}
    for cycle in find_cycles(imports):
        steps = [first_line[(a, b)] for a, b in zip(cycle, cycle[1:])]
        lines = ", ".join(f"{s.path.relative_to(root)}:{s.line}" for s in steps)
        problems.append(f"{lines}: import cycle {' -> '.join(cycle)}: modules must not import each other "
                        "in a cycle")
    return problems


def _placed(module: str) -> bool:
    try:
        layer_of(module)
        return True
    except KeyError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} layer problem(s); the layers, lowest first: "
              + " -> ".join(name for name, _ in LAYERS), file=sys.stderr)
        return 1
    print(f"layers ok: {len(find_modules(root))} modules ({len(KNOWN_BREAKS)} known breaks left out, "
          "see KNOWN_BREAKS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
