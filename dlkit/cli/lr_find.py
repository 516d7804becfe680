"""``dlkit lr-find RECIPE``: a learning-rate range test, its plot and a range for tuning."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dlkit.cli._errors import report_errors
from dlkit.cli._options import JsonOpt, RecipeArg, SetOpt

console = Console(highlight=False, soft_wrap=True)


@report_errors
def lr_find(
    recipe: RecipeArg,
    overrides: SetOpt = None,
    min_lr: Annotated[float, typer.Option("--min-lr", help="First learning rate.")] = 1e-6,
    max_lr: Annotated[float, typer.Option("--max-lr", help="Last learning rate.")] = 1.0,
    steps: Annotated[int, typer.Option("--steps", help="Mini-batches, one rate each.")] = 100,
    plot: Annotated[Path, typer.Option("--plot", help="Where to draw the plot (PNG).")] = Path("lr_find.png"),
    as_json: JsonOpt = False,
) -> None:
    """Train on mini-batches while the learning rate grows log-uniformly; plot the loss against
    the rate and suggest a range for the tune section."""
    from dlkit import api

    spec = api.load_recipe(recipe, overrides or [])
    result = api.lr_find(spec, min_lr=min_lr, max_lr=max_lr, steps=steps, plot=plot)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    low, high = result.suggested
    stop = f"; stopped at {result.diverged_at:.3g}, where the loss blew up" if result.diverged_at else ""
    console.print(f"Tried {len(result.lrs)} rates from {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}{stop}.")
    console.print(
        f"Smoothed loss lowest at {result.min_loss_lr:.3g}, falling fastest at {result.steepest_lr:.3g}."
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}", markup=True)
    console.print(f"Suggested range: {low:.3g} to {high:.3g}. For the recipe's tune section:")
    console.print(f"  train.optimizer.learning_rate: {{log: [{low:.2g}, {high:.2g}]}}")
    console.print(f"Plot: {result.plot_path}")
