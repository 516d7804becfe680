"""No branch on a task's name outside ``dlkit/tasks/``: what differs between tasks is a
:class:`~dlkit.tasks.Task` attribute or hook, or the source spec's ``implied_task``
(STYLE.md, "One registry, one build path").

Every module is read with :mod:`ast`: a comparison with a registered task's name (``task ==
"binary"``, ``task not in (None, "multitask")``, ``task in NAMES`` with ``NAMES`` a module-level
tuple of names), a ``case "binary":`` and a dict keyed by task names (a task's attribute in
disguise) count. Naming a task is not branching on it: a source's ``implied_task``, the task
``infer_task`` reads from a column's values, ``Literal`` lists of names are left alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dlkit.tasks import TASKS

PACKAGE = Path(__file__).resolve().parents[2] / "dlkit"

# the branches left outside dlkit/tasks/, by file: none may be added, each is a move still to make
LEFT: dict[str, int] = {}


def _strings(node: ast.AST, constants: dict[str, set[str]]) -> set[str]:
    """The strings an operand of a comparison stands for: a literal, a literal tuple, list or
    set of them, or a module-level constant holding such."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {s for e in node.elts for s in _strings(e, constants)}
    if isinstance(node, ast.Name):
        return constants.get(node.id, set())
    return set()


def task_name_branches(source: str, names: set[str]) -> list[int]:
    """The lines of ``source`` that branch on one of the task ``names``."""
    tree = ast.parse(source)
    constants: dict[str, set[str]] = {}
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if value is not None and isinstance(value, ast.Tuple | ast.List | ast.Set):
            held = _strings(value, {})
            for target in targets:
                if isinstance(target, ast.Name) and held and held <= names:  # a tuple of task names
                    constants[target.id] = held
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_strings(o, constants) & names for o in operands):
                lines.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and _strings(node.value, {}) & names:
            lines.append(node.lineno)
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None and _strings(k, {}) & names]
            if len(keys) > 1:
                lines.append(node.lineno)
    return sorted(lines)


def test_the_reader_sees_every_form_of_a_branch_on_a_name() -> None:
    names = {"binary", "multitask", "segmentation"}
    source = (
        "WEIGHTED = ('binary', 'multitask')\n"
        "KINDS = ('tabular', 'binary')\n"  # not a list of tasks: comparing with it is no branch
        "LABELS = {'binary': 'categorical', 'multitask': 'structured'}\n"  # line 3
        "def f(task, spec):\n"
        "    if task == 'binary': pass\n"  # 5
        "    if task not in (None, 'multitask'): pass\n"  # 6
        "    if task in WEIGHTED or task in KINDS: pass\n"  # 7
        "    if 'segmentation' != spec.task: pass\n"  # 8
        "    match task:\n"
        "        case 'binary': pass\n"  # 10
        "    if task not in (None, spec.implied_task): pass\n"  # the source's own fact: no branch
        "    if task in KINDS or task == 'regression': pass\n"  # not one of the names given
        "    return 'multitask', {'binary': 1}\n"  # naming a task, a one-key dict
    )
    assert task_name_branches(source, names) == [3, 5, 6, 7, 8, 10]


def test_no_module_outside_the_task_registry_branches_on_a_task_name() -> None:
    names = set(TASKS.names())
    quoted = [f"{q}{n}{q}" for n in names for q in "'\""]
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if PACKAGE / "tasks" not in path.parents and any(q in text for q in quoted):  # parse only those
            found[path.relative_to(PACKAGE.parent).as_posix()] = task_name_branches(text, names)
    over = {name: lines for name, lines in found.items() if len(lines) > LEFT.get(name, 0)}
    assert over == {}, (
        f"branches on a task's name (file: lines): {over}; say what differs on the Task (an attribute "
        "or hook with a default in dlkit/tasks/base.py) or on the source spec (implied_task) instead"
    )
    # the data layer and the recipe are clear of them, and stay so
    assert not [name for name in LEFT if name.startswith(("dlkit/data/", "dlkit/recipe/"))]
    assert all(found.get(name) for name in LEFT), "a branch listed in LEFT is gone: take it off the list"


def _run_time_imports(path: Path) -> set[str]:
    """The dlkit modules ``path`` imports when it runs (inside functions too), not those imported
    under ``if TYPE_CHECKING:`` for annotations."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n.startswith("dlkit.")}


def test_the_data_layer_opens_one_door_to_the_task_registry() -> None:
    # loaders ask the registry through dlkit.data.dataset.task_rules, imported at call time; the
    # tasks import data modules that reach dataset.py (seq2seq -> text_pairs -> dataset), so that
    # door closes a lazy import cycle: no second module the tasks reach may import them back
    files = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    imports: dict[str, set[str]] = {}
    reached: set[str] = set()
    todo = [name for name in files if name.startswith("dlkit.tasks")]
    while todo:
        name = todo.pop()
        imports[name] = {i for i in _run_time_imports(files[name]) if i in files}
        for found in imports[name] - reached:
            if not found.startswith("dlkit.tasks"):
                reached.add(found)
                todo.append(found)
    back = sorted(n for n in reached if any(i.startswith("dlkit.tasks") for i in imports[n]))
    assert back == ["dlkit.data.dataset"], f"imported by dlkit/tasks/ and importing it back: {back}"
    assert "dlkit.data.text_pairs" in reached and "dlkit.data.arrays" not in reached  # the reader sees
