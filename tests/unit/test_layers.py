"""The layers of DESIGN.md, read from the source: imports point downward only.

Every module is parsed with :mod:`ast`, so imports inside functions count as much as those at
the top (a lazy import still makes the module depend on what it imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dlkit"

# analysis/ is pure computation: no TensorFlow, Keras or MLflow, nor a layer above it
HEAVY = ("tensorflow", "keras", "mlflow", "tf_keras", "keras_tuner")
ABOVE_ANALYSIS = (
    "dlkit.api",
    "dlkit.cli",
    "dlkit.runs",
    "dlkit.reporting",
    "dlkit.training",
    "dlkit.tuning",
    "dlkit.tracking",
    "dlkit._tf",
    "dlkit._tf_memory",
)
# calls that write files (pandas, pathlib, matplotlib); analysis/ returns objects instead
WRITES = ("to_csv", "to_parquet", "to_json", "write_text", "write_bytes", "mkdir", "savefig", "imsave")


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module the file at ``path`` imports, at any depth of its code (see :func:`imports_of`)."""
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    return imports_of(path.read_text(encoding="utf-8"), package)


def imports_of(source: str, package: str) -> set[str]:
    """Every module ``source`` imports, at any depth of its code, as absolute dotted names.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module); relative
    imports are resolved against ``package``, the package the module sits in.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def test_the_import_reader_sees_function_level_and_relative_imports() -> None:
    source = "def f():\n    import keras\n    from . import set_errors\n    from ..runs import diagnose\n"
    names = imports_of(source, "dlkit.analysis")
    assert {"keras", "dlkit.analysis.set_errors", "dlkit.runs", "dlkit.runs.diagnose"} <= names
    assert imports_of("from dlkit import api", "dlkit.training") == {"dlkit", "dlkit.api"}


@pytest.mark.parametrize("path", _modules(PACKAGE / "analysis"), ids=lambda p: p.name)
def test_analysis_imports_no_tensorflow_keras_mlflow_nor_a_layer_above(path: Path) -> None:
    names = imported(path)
    heavy = sorted(n for n in names if _within(n, HEAVY))
    assert not heavy, f"{path.relative_to(PACKAGE.parent)} imports {heavy}: analysis/ is pure computation"
    above = sorted(n for n in names if _within(n, ABOVE_ANALYSIS))
    assert not above, f"{path.relative_to(PACKAGE.parent)} imports {above}: a layer above analysis/"


@pytest.mark.parametrize("path", _modules(PACKAGE / "analysis"), ids=lambda p: p.name)
def test_analysis_writes_no_file(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = sorted(
        {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITES
        }
    )
    opened = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
    ]
    assert not calls and not opened, f"{path.relative_to(PACKAGE.parent)} writes files: {calls or opened}"


def _imports_api(path: Path) -> bool:
    return any(_within(n, ("dlkit.api",)) for n in imported(path))


def test_only_the_cli_and_the_package_root_import_the_api() -> None:
    allowed = {PACKAGE / "__init__.py", *_modules(PACKAGE / "cli")}
    offenders = [
        str(p.relative_to(PACKAGE.parent)) for p in _modules(PACKAGE) if p not in allowed and _imports_api(p)
    ]
    assert offenders == [], f"dlkit.api is the CLI's entry point; these modules import it: {offenders}"
    # the check itself sees the CLI's own import
    assert _imports_api(PACKAGE / "cli" / "diagnose.py")
