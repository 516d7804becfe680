"""``dlkit models``: list the registered model types, show one built for some data."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from dlkit.cli._errors import report_errors
from dlkit.errors import RecipeError

models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@models_app.command("list")
def models_list() -> None:
    """List the registered model types."""
    from rich.table import Table

    from dlkit.models import MODELS

    table = Table(title="Models")
    table.add_column("type")
    table.add_column("what it is")
    table.add_column("fields")
    for entry in MODELS.entries():
        fields = ", ".join(f for f in entry.spec.model_fields if f != "type")
        table.add_row(entry.name, entry.summary, fields)
    console.print(table)


def _shape(text: str) -> tuple[int | None, ...]:
    try:
        return tuple(None if p.strip() in ("", "None") else int(p) for p in text.split(","))
    except ValueError:
        raise RecipeError(
            f"--input-shape: expected sizes separated by commas, e.g. 224,224,3 (got {text!r})"
        ) from None


@models_app.command("show")
@report_errors
def models_show(
    name: Annotated[str, typer.Argument(help="A model type (dlkit models list).", show_default=False)],
    recipe: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional)
        typer.Option("--recipe", "-r", help="Build for this recipe's data (and its model settings)."),
    ] = None,
    overrides: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--set", help="A model setting: field=value, e.g. depth=18 (repeatable).", show_default=False
        ),
    ] = None,
    input_shape: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--input-shape", help="One example's shape without a recipe, e.g. 224,224,3."),
    ] = None,
    classes: Annotated[int, typer.Option("--classes", help="Output classes without a recipe.")] = 10,
) -> None:
    """Build a model type and show its layers, parameter count and output shape.

    With --recipe, for the recipe's data (input shape, task, classes), with the recipe's model
    settings when its model is of this type; otherwise for --input-shape (the type's example
    input when absent) and --classes.
    """
    import yaml

    from dlkit._dotted import set_path
    from dlkit.models import MODELS, BuildContext, Head
    from dlkit.models.describe import describe_model, describe_model_cached, make_spec

    if name not in MODELS.names():
        raise RecipeError(MODELS.unknown_message(name))
    settings: dict = {}
    context = BuildContext()
    if recipe is not None:
        from dlkit import api
        from dlkit.tasks import task_for

        spec_recipe = api.load_recipe(recipe)
        data = api.load_data(spec_recipe)
        shape: tuple[int | None, ...] = data.input_shape
        head = task_for(data.task).head(data)
        if spec_recipe.model.type == name:
            settings = spec_recipe.model.model_dump(exclude={"type"})
        context = BuildContext(
            data=data,
            base_dir=recipe.resolve().parent,
            runs_dir=Path(spec_recipe.tracking.runs_dir),
            tracking_uri=spec_recipe.tracking.uri,
            resolve_run=lambda ref: (
                api.resolve_run(ref, spec_recipe.tracking.runs_dir, spec_recipe.tracking.uri).path
            ),
        )
        where = f"{recipe}: model"
    else:
        entry = MODELS.get(name)
        shape = _shape(input_shape) if input_shape else getattr(entry.spec, "example_input", (8, 8, 1))
        head = Head(classes, "softmax") if classes > 2 else Head(1, "sigmoid")
        where = "model"
    for assignment in overrides or []:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"--set {assignment}: expected field=value")
        try:
            set_path(settings, key.strip().removeprefix("model."), yaml.safe_load(raw) if raw.strip() else "")
        except ValueError as exc:
            raise RecipeError(f"--set {assignment}: {exc}") from None
    spec = make_spec(name, settings, where)
    if recipe is None and hasattr(spec, "resolve_paths"):
        spec.resolve_paths(Path.cwd())
    if recipe is None:
        described = describe_model_cached(spec, shape, head)
    else:
        described = describe_model(spec, shape, head, context)
    _render(described, recipe)


def _render(d: object, recipe: Path | None) -> None:
    from rich.table import Table

    from dlkit.models.describe import ModelDescription

    assert isinstance(d, ModelDescription)
    console.print(f"[bold]{d.type}[/bold]: {d.summary}", markup=True)
    settings = ", ".join(f"{k}={v}" for k, v in d.settings.items())
    console.print(f"settings: {settings}")
    source = f"the data of {recipe}" if recipe else "no recipe (pass --recipe for your data)"
    console.print(f"input {d.input_shape} -> {d.head.units} output(s), {d.head.activation}; {source}")
    table = Table(title=f"{d.type} layers")
    for column in ("layer", "type", "output shape", "params"):
        table.add_column(column, justify="right" if column == "params" else "left")
    for row in d.layers:
        table.add_row(
            row.name, row.kind, row.output_shape, f"{row.n_params:,}" + ("" if row.trainable else " (frozen)")
        )
    console.print(table)
    console.print(f"output shape: {d.output_shape}")
    console.print(
        f"parameters: {d.n_params:,} ({d.n_trainable:,} trainable, {d.n_params - d.n_trainable:,} not)"
    )
