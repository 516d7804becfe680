"""Refuse a study that cannot work before anything trains: its space, metric and constraints.

``dlkit tune`` and ``dlkit tune preview`` check a recipe's ``tune`` section here. Every error
names ``tune.space.<path>`` (or ``metrics.*``) in the recipe file, with the schema's own message.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.errors import RecipeError
from dlkit.recipe.loader import validate_recipe
from dlkit.recipe.schema import Recipe
from dlkit.tuning.space import (
    Dimension,
    apply_values,
    column_setting,
    dimensions,
    sample_configurations,
    searchable,
)

if TYPE_CHECKING:
    from dlkit.data.dataset import Dataset

#: Satisficing measures taken per trial besides the dev-set metrics.
MEASURES = ("params", "latency_ms", "model_size_mb")


def base_mapping(recipe: Recipe) -> dict[str, Any]:
    """The recipe as written (defaults left out), without its tune section: what trials change."""
    base = recipe.model_dump(mode="json", exclude_unset=True, by_alias=True)
    base.pop("tune", None)
    return base


def _error_lines(exc: RecipeError, source: str, path: str, value: Any) -> list[str]:
    lines = []
    for line in exc.lines:
        body = line.removeprefix(f"{source}: ")
        where, _, message = body.partition(": ")
        if where == path:
            lines.append(f"{source}: tune.space.{path}: {message}")
        else:
            lines.append(f"{source}: tune.space.{path}: with {path} = {value!r}, {where}: {message}")
    return lines


def check_space(recipe: Recipe, source: str) -> list[Dimension]:
    """Refuse a space that cannot work, before any training: every path, value and condition.

    Each dimension's bounds (or each of its choices) is applied to the recipe and validated by
    the schema, so a misspelt path gets the schema's did-you-mean; then a sample of whole
    configurations is validated the same way.

    Raises:
        RecipeError: one line per problem, naming ``tune.space.<path>``.
    """
    assert recipe.tune is not None
    base = base_mapping(recipe)
    problems: list[str] = []
    try:
        dims = dimensions(recipe.tune)
    except ValueError as exc:
        raise RecipeError(f"{source}: tune.space: {exc}") from None
    by_path = {d.path: d for d in dims}
    for dim in dims:
        if not searchable(dim.path):
            problems.append(
                f"{source}: tune.space.{dim.path}: not searchable: a study keeps the data, split, metrics "
                "and tracking fixed (searchable: model.*, train.*, seed, data.normalize, "
                "data.source.columns.<column>.encoding and .embedding_dim)"
            )
            continue
        parents: dict[str, Any] = {}
        for parent, wanted in (dim.spec.when or {}).items():
            options = wanted if isinstance(wanted, list) else [wanted]
            owner = by_path.get(parent)
            if owner is None or owner.kind != "choice":
                problems.append(
                    f"{source}: tune.space.{dim.path}.when: {parent}: expected a choice dimension of the "
                    f"space (choices: {', '.join(d.path for d in dims if d.kind == 'choice') or 'none'})"
                )
                continue
            missing = [o for o in options if o not in owner.choices]
            if missing:
                problems.append(
                    f"{source}: tune.space.{dim.path}.when: {parent}: {missing} not among its choices "
                    f"{owner.choices}"
                )
            parents[parent] = options[0]
        candidates = dim.choices if dim.kind == "choice" else list(dim.grid(2))
        for value in candidates:
            try:
                validate_recipe(apply_values(base, {**parents, dim.path: value}), source, Path.cwd())
            except ValueError as exc:
                problems.append(f"{source}: tune.space.{dim.path}: {exc}")
                break
            except RecipeError as exc:
                problems.extend(_error_lines(exc, source, dim.path, value))
                break
    if not problems:
        seed = recipe.tune.seed if recipe.tune.seed is not None else recipe.seed
        for values in sample_configurations(dims, 20, seed):
            try:
                validate_recipe(apply_values(base, values), source, Path.cwd())
            except (RecipeError, ValueError) as exc:
                message = exc.lines[0] if isinstance(exc, RecipeError) else str(exc)
                problems.append(
                    f"{source}: tune.space: the sampled configuration {values} is not a valid recipe: "
                    f"{message.removeprefix(source + ': ')}"
                )
                break
    if problems:
        raise RecipeError("\n".join(dict.fromkeys(problems)))
    return dims


def check_columns(recipe: Recipe, data: Dataset, source: str) -> None:
    """Refuse a space that tunes the encoding of a column the data has not as a category.

    Run once the study's data is read (the recipe alone does not say which columns exist).

    Raises:
        RecipeError: a ``data.source.columns.<column>.*`` dimension names no column of the data,
            or a column that is not a category or boolean (numbers, dates and text have no
            encoding to choose).
    """
    from dlkit._naming import did_you_mean

    assert recipe.tune is not None
    infos = {c["name"]: c for c in data.options.get("columns", [])}
    encoded = [n for n, c in infos.items() if c["type"] in ("category", "boolean")]
    shown = ", ".join(encoded) or "none"
    for dim in dimensions(recipe.tune):
        setting = column_setting(dim.path)
        if setting is None:
            continue
        column, _ = setting
        if column not in infos and column not in data.feature_names:
            raise RecipeError(
                f"{source}: tune.space.{dim.path}: no feature column '{column}' in "
                f"{data.description}.{did_you_mean(column, encoded or list(data.feature_names))}",
                hint=f"category and boolean columns: {shown}",
            )
        if column not in encoded:
            kind = infos[column]["type"] if column in infos else "numeric"
            raise RecipeError(
                f"{source}: tune.space.{dim.path}: column '{column}' is {kind}; only category and "
                "boolean columns have an encoding to tune",
                hint=f"category and boolean columns: {shown}",
            )


def check_metrics(recipe: Recipe, task_name: str, source: str) -> tuple[str, dict[str, str]]:
    """The metric a study optimises (``metrics.optimize``, else the task's default) and its constraints.

    Returns:
        ``(metric, constraints)``: a dev-set metric of the task, and ``metrics.satisfice``.

    Raises:
        RecipeError: the metric is not one the task measures on dev, or a constraint names a
            measure no trial takes.
    """
    from dlkit.tasks import task_for

    task = task_for(task_name)
    available = task.set_metrics
    metric = recipe.metrics.optimize or task.default_metric
    if metric not in available:
        from dlkit._naming import did_you_mean

        raise RecipeError(
            f"{source}: metrics.optimize: expected a dev-set metric of a {task_name} model "
            f"({', '.join(available)}) (got {metric!r}).{did_you_mean(metric, list(available))}"
        )
    for name in recipe.metrics.satisfice:
        if name not in MEASURES and name not in available:
            raise RecipeError(
                f"{source}: metrics.satisfice.{name}: not measured per trial; expected one of "
                f"{', '.join((*MEASURES, *available))}"
            )
    return metric, dict(recipe.metrics.satisfice)
