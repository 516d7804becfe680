"""Import cycles between dlkit's modules, read from the source with ``ast`` (nothing is imported).

    python bench/import_cycles.py [--top-level-only] [ROOT]

Prints every strongly connected group of modules (an import cycle) and the imports that point
upward against the layers of DESIGN.md. ``--top-level-only`` leaves out imports made inside
functions (the lazy ones that keep ``dlkit --help`` free of TensorFlow).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

# DESIGN.md's layers, top to bottom: a module may import its own layer and those below
LAYERS = ["cli", "api", "runs", "tuning", "training", "tasks", "models", "data", "analysis", "tracking"]


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(path: Path, name: str, known: set[str], top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:
            continue  # `if TYPE_CHECKING:` blocks are for annotations only
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                pkg = name.split(".")[
                    : len(name.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)
                ]
                base = ".".join([*pkg, node.module])
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    if not top_level_only:
        # names imported under `if TYPE_CHECKING:` are not run-time imports
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and inner.module:
                        found.discard(inner.module)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def layer(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None
    key = parts[1]
    return LAYERS.index(key) if key in LAYERS else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="dlkit")
    parser.add_argument("--top-level-only", action="store_true")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    mods = modules(root)
    known = set(mods)
    graph = {name: imports(path, name, known, args.top_level_only) for name, path in mods.items()}
    groups = cycles(graph)
    # a package importing its own submodules (its __init__) is not a cycle worth counting
    groups = [g for g in groups if not all(m.startswith(g[0] + ".") or m == g[0] for m in g)]
    print(f"modules: {len(mods)}, imports: {sum(len(v) for v in graph.values())}")
    print(f"import cycles: {len(groups)}")
    for group in groups:
        print("  " + " <-> ".join(group))
        for a in group:
            print("    " + a + " -> " + ", ".join(sorted(b for b in graph[a] if b in group)))
    upward = [
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if layer(a) is not None and layer(b) is not None and layer(b) < layer(a)  # type: ignore[operator]
    ]
    print(f"imports pointing upward: {len(upward)}")
    for a, b in sorted(upward):
        print(f"  {a} -> {b}")


if __name__ == "__main__":
    main()
