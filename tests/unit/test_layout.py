"""The house rules of docs/ARCHITECTURE.md, checked on the code: which wing may import which, no
import circle, no module over 600 lines. Imports are read with ``ast``, those inside functions too."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "connectors", "devstack", "benchmarks")
MAX_LINES = 600

# wing -> the wings it may import (itself included). Order of the checks: the longest prefix wins.
ALLOWED = {
    "pipeline.core": {"pipeline.core"},
    "pipeline.stages": {"pipeline.core", "pipeline.stages"},
    "pipeline.stream": {"pipeline.core", "pipeline.stages", "pipeline.stream"},
    "connectors": {"pipeline.core", "connectors"},
    "devstack": {"pipeline.core", "devstack"},
    "benchmarks": {"pipeline.core", "pipeline.stages", "pipeline.stream", "connectors", "devstack", "benchmarks"},
    "pipeline.cli": {"pipeline.core", "pipeline.stages", "pipeline.stream", "connectors", "devstack", "benchmarks",
                     "pipeline.cli"},
}
WINGS = sorted(ALLOWED, key=len, reverse=True)


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def wing_of(module: str) -> str | None:
    for w in WINGS:
        if module == w or module.startswith(w + "."):
            return w
    return None


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if root == "tests":
                out.add(name)
            while name and name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in known:
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(p, known) - {m} for m, p in mods.items()}


def test_no_module_imports_tests():
    bad = [(m, d) for m, deps in graph().items() for d in deps if d.split(".")[0] == "tests"]
    assert not bad, f"modules importing tests/: {bad}"


def test_every_import_stays_in_the_wings_it_may_use():
    bad = []
    for mod, deps in graph().items():
        wing = wing_of(mod)
        if wing is None:
            continue  # pipeline/__init__.py
        for dep in deps:
            target = wing_of(dep)
            if target is not None and target not in ALLOWED[wing]:
                bad.append(f"{mod} -> {dep} ({wing} may not import {target})")
    assert not bad, "imports against the wing rules of docs/ARCHITECTURE.md:\n" + "\n".join(sorted(bad))


def test_no_import_circle():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    pairs = defaultdict(list)
    for comp in circles:
        for a in comp:
            pairs[tuple(comp)] += [f"{a} -> {b}" for b in sorted(g[a]) if b in comp]
    assert not circles, "import circles:\n" + "\n".join(f"{c}: {pairs[tuple(c)]}" for c in circles)


def test_no_module_over_600_lines():
    long = {m: n for m, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checks_see_a_forbidden_import(tmp_path):
    """The rules would fail on a lower wing importing a higher one (the checker itself works)."""
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from pipeline.stream import app\n", encoding="utf-8")
    assert "pipeline.stream.app" in imports_of(p, set(modules()))
    assert "pipeline.stream" not in ALLOWED[wing_of("pipeline.core.x")]
