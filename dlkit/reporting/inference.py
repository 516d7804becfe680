"""Terminal rendering of ``dlkit predict`` and ``dlkit evaluate``: a progress bar and the results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dlkit.reporting.terminal import SET_ORDER

if TYPE_CHECKING:
    from dlkit.runs.inference import EvaluateResult, PredictResult


class PredictProgress:
    """A bar of examples predicted (updated chunk by chunk for a streamed source); silent
    when the console is not a terminal."""

    def __init__(self, console: Console, what: str) -> None:
        self.console = console
        self.what = what
        self._progress: Progress | None = None
        self._task: int | None = None

    def start(self, n: int) -> None:
        if not self.console.is_terminal:
            return
        self._progress = Progress(
            TextColumn(escape(self.what)),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.what, total=n)

    def update(self, done: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render_predict(console: Console, result: PredictResult) -> None:
    """One line: how many examples, which run, where the file is (and the metrics with labels)."""
    console.print(
        f"Predicted {result.n} examples of {escape(result.data)} with run {escape(result.run_name)}: "
        f"{escape(str(result.out))}"
    )
    if result.metrics:
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in result.metrics.items() if k != "n")
        console.print(f"Labels found: {shown}")
    if result.drawn is not None:
        console.print(f"Drawn on the images: {escape(str(result.drawn))}")


def render_evaluate(console: Console, result: EvaluateResult) -> None:
    """The new set's metrics beside the run's own sets, the mismatch reading and the sheet."""
    table = Table(title=escape(f"Run {result.run_name} on {result.data} ({result.n} examples)"))
    names = [k for k in result.metrics if k not in ("n", "n_steps")]
    table.add_column("set", no_wrap=True)
    table.add_column("n", justify="right")
    for k in names:
        table.add_column(escape(k), justify="right")
    for name in SET_ORDER:
        if name in result.run_metrics and name != "test":
            row = result.run_metrics[name]
            table.add_row(name, str(int(row.get("n", 0))), *(_fmt(row.get(k, "")) for k in names))
    table.add_row(
        "[bold]new[/bold]", str(result.n), *(f"[bold]{_fmt(result.metrics[k])}[/bold]" for k in names)
    )
    console.print(table)
    if result.mismatch is not None:
        m = result.mismatch
        console.print(f"Data mismatch ({escape(m.metric)}):")
        for shift in m.shifts:
            console.print(
                f"  new − {shift.against}: {shift.value:+.4f} (95% interval {shift.low:+.4f} to "
                f"{shift.high:+.4f}; {shift.status})"
            )
        console.print(f"  {escape(m.verdict)}")
    if result.predictions is not None:
        console.print(f"Predictions: {escape(str(result.predictions))}")
    if result.sheet is not None:
        console.print(f"Error sheet: {escape(str(result.sheet[0]))} (and .parquet)")
    if result.mlflow_run_id is not None:
        console.print(f"Recorded in MLflow: run {result.mlflow_run_id}, nested under the evaluated run")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
