"""``dlkit style-transfer CONTENT STYLE --base RUN|FILE``: neural style transfer."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt
from dlkit.errors import RecipeError

ImageArg = Annotated[
    str,
    typer.Argument(
        help="An image file, or scikit-learn's sample image sklearn:china.jpg / sklearn:flower.jpg.",
        metavar="IMAGE",
        show_default=False,
    ),
]


def _style_layer(text: str) -> tuple[str, float]:
    name, _, weight = text.partition(":")
    try:
        return name, float(weight) if weight else 1.0
    except ValueError:
        raise RecipeError(f"--style-layer: {text!r}: expected NAME or NAME:WEIGHT (a number)") from None


@report_errors
def style_transfer(
    content: ImageArg,
    style: ImageArg,
    base: Annotated[
        str,
        typer.Option(
            "--base",
            help="The network: a dlkit run, a .keras model file, or VGG-19 weights (include_top=False).",
            metavar="RUN|FILE",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.", metavar="DIR")] = Path(
        "style-transfer"
    ),
    steps: Annotated[int, typer.Option("--steps", help="Adam steps.", min=1)] = 200,
    learning_rate: Annotated[
        float, typer.Option("--learning-rate", help="Adam's, on pixels in [0, 1].")
    ] = 0.01,
    alpha: Annotated[float, typer.Option("--alpha", help="Weight of the content cost.")] = 10.0,
    beta: Annotated[float, typer.Option("--beta", help="Weight of the style cost.")] = 40.0,
    tv_weight: Annotated[
        float, typer.Option("--tv-weight", help="Weight of the total variation (0: none).")
    ] = 0.0,
    content_layer: Annotated[
        Optional[str],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--content-layer", help="Layer for the content cost (default: the base's).", metavar="NAME"
        ),
    ] = None,
    style_layer: Annotated[
        Optional[list[str]],  # noqa: UP045 (typer needs Optional for list options)
        typer.Option(
            "--style-layer",
            help="A style layer and its weight, NAME:WEIGHT (repeatable).",
            metavar="NAME:WEIGHT",
        ),
    ] = None,
    init: Annotated[
        str, typer.Option("--init", help="Start from: content (with noise) or noise.")
    ] = "content",
    size: Annotated[int, typer.Option("--size", help="Longest side of the image, in pixels.", min=8)] = 128,
    save_every: Annotated[
        int, typer.Option("--save-every", help="Write the image every N steps (0: final only).", min=0)
    ] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the starting noise.")] = 0,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not record the run in MLflow.")] = False,
    experiment: Annotated[str, typer.Option("--experiment", help="MLflow experiment.")] = "style-transfer",
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Optimise an image with Adam to keep CONTENT's content and take STYLE's style:
    J = α·J_content + β·J_style (+ γ·TV). Writes result.png, steps/step_<k>.png and costs.csv."""
    from rich.markup import escape

    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.training.style import StyleOptions

    if init not in ("content", "noise"):
        raise RecipeError(f"--init: expected content or noise (got {init!r})")
    options = StyleOptions(
        content_layer=content_layer,
        style_layers=[_style_layer(t) for t in style_layer] if style_layer else None,
        alpha=alpha,
        beta=beta,
        tv_weight=tv_weight,
        steps=steps,
        learning_rate=learning_rate,
        init="noise" if init == "noise" else "content",
        size=size,
        save_every=save_every,
        seed=seed,
    )
    result = api.style_transfer(
        content,
        style,
        base,
        out,
        options,
        track=not no_track,
        experiment=experiment,
        runs_dir=runs_dir,
        tracking_uri=tracking_uri,
    )
    if as_json:
        print_json(result.to_dict())
        return
    first, last = result.costs[0], result.costs[-1]
    console.print(
        f"Style transfer with {escape(result.base)}: content layer {escape(result.content_layer)}, "
        "style layers " + ", ".join(f"{escape(n)} ({w:g})" for n, w in result.style_layers)
    )
    console.print(
        f"J {first.total:.4g} -> {last.total:.4g} in {last.step} steps "
        f"(content {last.content:.4g}, style {last.style:.4g}, tv {last.tv:.4g})"
    )
    console.print(
        f"Image: {escape(str(result.image))}  (steps and costs.csv in {escape(str(result.out_dir))})"
    )
    if result.run_id:
        console.print(f"Recorded in MLflow: {escape(str(result.tracking_uri))}  run id {result.run_id}")
