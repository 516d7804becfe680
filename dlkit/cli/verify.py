"""``dlkit verify RUN IMG1 IMG2`` and ``dlkit identify RUN IMG --gallery FOLDER``: a verification
run's model on images a person gives."""

from pathlib import Path
from typing import Annotated

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunArg, RunsDirOpt, TrackingUriOpt

ImageArg = Annotated[Path, typer.Argument(help="A PNG or JPEG image.", metavar="IMG", show_default=False)]


@report_errors
def verify(
    run: RunArg,
    image1: ImageArg,
    image2: ImageArg,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Say whether two images show the same identity: their embeddings' distance against the
    run's threshold τ (chosen on dev)."""
    from rich.markup import escape

    from dlkit import api
    from dlkit.cli._console import console

    result = api.verify(run, image1, image2, runs_dir=runs_dir, tracking_uri=tracking_uri)
    if as_json:
        print_json(result.to_dict())
        return
    verdict = "[green]same[/green]" if result.same else "[red]different[/red]"
    console.print(
        f"{verdict}: distance {result.distance:.4f} {'<=' if result.same else '>'} τ {result.threshold:.4f} "
        f"(run {escape(result.run_name)})"
    )


@report_errors
def identify(
    run: RunArg,
    image: ImageArg,
    gallery: Annotated[
        Path,
        typer.Option(
            "--gallery", help="A folder with one sub-folder of images per identity.", metavar="FOLDER"
        ),
    ],
    top: Annotated[int, typer.Option("--top", help="How many identities to list.", min=1)] = 3,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Name the gallery identity nearest to an image, or "unknown" when even the nearest is
    farther than the run's threshold τ."""
    from rich.markup import escape

    from dlkit import api
    from dlkit.cli._console import console

    result = api.identify(run, image, gallery, runs_dir=runs_dir, tracking_uri=tracking_uri)
    if as_json:
        print_json(result.to_dict())
        return
    name = (
        f"[green]{escape(result.identity)}[/green]" if result.identity is not None else "[red]unknown[/red]"
    )
    console.print(
        f"{name}: nearest distance {result.distance:.4f} {'<=' if result.identity else '>'} τ "
        f"{result.threshold:.4f} (run {escape(result.run_name)})"
    )
    for identity, distance in result.ranking[:top]:
        console.print(f"  {escape(identity)}  {distance:.4f}")
