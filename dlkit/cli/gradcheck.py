"""``dlkit gradcheck RECIPE``: autodiff against numerical gradients, per layer."""

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dlkit.cli._errors import report_errors
from dlkit.cli._options import JsonOpt, RecipeArg, SetOpt

console = Console(highlight=False, soft_wrap=True)

_STYLE = {"good": "green", "look closer": "yellow", "bug": "red"}


@report_errors
def gradcheck(
    recipe: RecipeArg,
    overrides: SetOpt = None,
    batch: Annotated[int, typer.Option("--batch", help="Training examples in the batch.")] = 8,
    epsilon: Annotated[float, typer.Option("--epsilon", help="Step of the two-sided difference.")] = 1e-7,
    max_per_layer: Annotated[
        int, typer.Option("--max-per-layer", help="Parameters checked per layer (seeded sample); 0: all.")
    ] = 64,
    as_json: JsonOpt = False,
) -> None:
    """Compare the model's autodiff gradients with two-sided numerical differences (float64,
    dropout off, regularisation included). Exits 1 when a layer's gradient is wrong."""
    from dlkit import api

    spec = api.load_recipe(recipe, overrides or [])
    result = api.gradcheck(spec, batch=batch, epsilon=epsilon, max_per_layer=max_per_layer or None)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        table = Table(
            title=f"Gradient check of {spec.name} (float64, batch {result.batch}, ε {result.epsilon:g})"
        )
        for column in ("layer", "parameters", "checked", "relative difference", "reading"):
            table.add_column(column, justify="left" if column in ("layer", "reading") else "right")
        for layer in result.layers:
            style = _STYLE[layer.verdict]
            table.add_row(
                layer.layer,
                f"{layer.n_params:,}",
                str(layer.n_checked),
                f"{layer.rel_diff:.2e}",
                f"[{style}]{layer.verdict}[/{style}]",
            )
        console.print(table)
        style = _STYLE[result.verdict]
        console.print(
            f"Overall relative difference {result.overall:.2e}: [{style}]{result.verdict}[/{style}] "
            "(about 1e-7 good, 1e-5 look closer, 1e-3 or worse a bug)"
        )
        if result.suspect:
            after = (
                f" (or the input gradient of {', '.join(result.after_suspect)}, right after it)"
                if result.after_suspect
                else ""
            )
            console.print(
                f"[red]Wrong gradient in layer '{result.suspect}'{after}: "
                "the failing layer nearest the output.[/red]"
            )
    if not result.passed:
        raise typer.Exit(1)
