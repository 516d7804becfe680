"""Terminal rendering with rich: tables for results, a live or plain per-epoch progress view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from pathlib import Path

    from dlkit.analysis.learning_curve import LearningCurveResult
    from dlkit.training.fit import EpochEnd
    from dlkit.training.results import TrainResult, TrainStart

SET_ORDER = ("train", "train_dev", "dev", "test")
MAX_CLASS_COLUMNS = 6  # beyond this, one column with the range of class shares keeps 80 columns


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def split_table(summary: dict[str, Any]) -> Table:
    """Sizes (and class counts) per set."""
    sets = summary["sets"]
    table = Table(
        title=escape(f"Split of {summary['source']} ({summary['n_examples']} examples; {summary['rule']})")
    )
    table.add_column("set", no_wrap=True)
    table.add_column("examples", justify="right")
    table.add_column("share", justify="right")
    classes: list[str] = next((list(s["classes"]) for s in sets.values() if "classes" in s), [])
    per_class = 0 < len(classes) <= MAX_CLASS_COLUMNS
    if per_class:
        for c in classes:
            table.add_column(str(c), justify="right")
    elif classes:
        table.add_column(f"class share ({len(classes)} classes)", justify="right")
    tasks: list[str] = next((list(s["tasks"]) for s in sets.values() if "tasks" in s), [])
    for task in tasks[:MAX_CLASS_COLUMNS]:
        table.add_column(f"{task} 1/labelled", justify="right")
    for name in SET_ORDER:
        if name not in sets:
            continue
        n = sets[name]["n"]
        row = [name, str(n), f"{n / summary['n_examples']:.1%}"]
        for task in tasks[:MAX_CLASS_COLUMNS]:
            c = sets[name]["tasks"][task]
            row.append(f"{c['positive']}/{c['positive'] + c['negative']}")
        if per_class:
            row += [str(sets[name]["classes"][c]) for c in classes]
        elif classes:
            shares = [count / n for count in sets[name]["classes"].values()]
            row.append(f"{min(shares):.1%} to {max(shares):.1%}")
        table.add_row(*row)
    return table


_PER_TASK = ("accuracy_", "auc_")


def metrics_table(metrics: dict[str, dict[str, float]], title: str = "Inference-mode metrics") -> Table:
    """One row per set: n and every metric (a multitask run's per-task ones: :func:`task_table`)."""
    keys = [k for k in next(iter(metrics.values())) if k != "n" and not k.startswith(_PER_TASK)]
    table = Table(title=title)
    table.add_column("set", no_wrap=True)
    table.add_column("n", justify="right")
    for k in keys:
        table.add_column(k, justify="right")
    for name in SET_ORDER:
        if name in metrics:
            m = metrics[name]
            table.add_row(name, str(int(m["n"])), *(_fmt(m[k]) for k in keys))
    return table


class TrainProgress:
    """Per-epoch progress: a live bar on a terminal, one plain line per epoch otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._task: Any = None
        self.run_dir: Path | None = None  # the run's folder, once it exists (for a resume hint)

    def start(self, event: TrainStart) -> None:
        self.run_dir = event.run_dir if event.worker is None else None
        self.console.print(split_table(event.data))
        from dlkit.reporting.split import render_split_warnings

        render_split_warnings(self.console, event.data.get("warnings", []))
        where = f"Run directory: {event.run_dir}" if event.worker is None else _worker_line(event.worker)
        self.console.print(escape(f"Model: {event.n_params:,} parameters. {where}"))
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("epoch"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[logs]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._task = self._progress.add_task("train", total=event.epochs, logs="")
            self._progress.start()

    def epoch(self, event: EpochEnd) -> None:
        order = sorted(event.logs, key=lambda k: (k == "lr", k.startswith("val_"), k != "loss", k))
        shown = "  ".join(f"{k} {event.logs[k]:.4g}" for k in order)
        if self._progress is not None:
            self._progress.update(self._task, completed=event.epoch, logs=shown)
        else:
            self.console.print(f"epoch {event.epoch}/{event.epochs}  {shown}", highlight=False)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def task_table(metrics: dict[str, dict[str, float]]) -> Table | None:
    """A multitask run's accuracy and AUC per task (rows) and set (columns); None for other runs."""
    tasks = [k.removeprefix("accuracy_") for k in next(iter(metrics.values())) if k.startswith("accuracy_")]
    if not tasks:
        return None
    sets = [name for name in SET_ORDER if name in metrics]
    table = Table(title="Per task (present labels only)")
    table.add_column("task", no_wrap=True)
    for name in sets:
        table.add_column(f"{name} accuracy", justify="right")
        table.add_column(f"{name} AUC", justify="right")
    for task in tasks:
        row = [task]
        for name in sets:
            m = metrics[name]
            row += [_fmt(m.get(f"accuracy_{task}", "-")), _fmt(m.get(f"auc_{task}", "-"))]
        table.add_row(*row)
    return table


def _worker_line(worker: str) -> str:
    return f"Training as {worker}: the chief writes the run and records it in MLflow."


def render_train_result(console: Console, result: TrainResult) -> None:
    """The metrics table and where the run was recorded."""
    if result.worker is not None:
        stop = " (early stopping)" if result.stopped_early else ""
        console.print(
            f"Trained {result.epochs_run} epoch(s){stop} in {result.duration_s:.1f} s as {result.worker}; "
            "the chief evaluates and records the run.",
            highlight=False,
        )
        return
    console.print(metrics_table(result.metrics))
    per_task = task_table(result.metrics)
    if per_task is not None:
        console.print(per_task)
    render_curve_warnings(console, result.warnings)
    stop = " (early stopping)" if result.stopped_early else ""
    resumed = f", resumed after epoch {result.initial_epoch}" if result.initial_epoch else ""
    console.print(f"Trained {result.epochs_run} epoch(s){stop}{resumed} in {result.duration_s:.1f} s.")
    console.print(f"Run directory: {result.run_dir}", highlight=False)
    if result.run_id:
        console.print(
            f"Recorded in MLflow: {result.tracking_uri}  experiment '{result.experiment}', "
            f"run '{result.run_name}' (id {result.run_id})",
            highlight=False,
        )
        console.print(
            f"Open it: dlkit ui --tracking-uri {result.tracking_uri}   "
            f"(or: mlflow ui --backend-store-uri {result.tracking_uri})",
            highlight=False,
        )
    else:
        console.print("Not tracked in MLflow (--no-track).")


def render_curve_warnings(console: Console, warnings: list[dict[str, Any]]) -> None:
    """Training-curve warnings: one yellow line each, then what to do."""
    for w in warnings:
        console.print(f"[yellow]warning:[/yellow] {w['message']}", markup=True, highlight=False)
        console.print(f"  {w['advice']}", highlight=False)


def render_learning_curve(console: Console, curve: LearningCurveResult) -> None:
    """Points of a learning curve, the reading and where the plot is."""
    table = Table(title="Learning curve (inference-mode errors; one dev set for every point)")
    for column in ("share of train", "train examples", "train error", "dev error"):
        table.add_column(column, justify="right")
    for p in curve.points:
        table.add_row(f"{p.fraction:.0%}", f"{p.n_train:,}", f"{p.train_error:.2%}", f"{p.dev_error:.2%}")
    console.print(table)
    console.print(curve.reading)
    if curve.plot_path:
        console.print(f"Plot: {curve.plot_path}", highlight=False)
