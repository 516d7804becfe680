"""Rendering of a :class:`~dlkit.analysis.learning_curve.LearningCurveResult`: the plot (PNG,
inline SVG), the terminal table, progress while the points train, and the section of
``diagnose.html``. Nothing here computes a point or a reading."""

from __future__ import annotations

import html
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.analysis.learning_curve import LearningCurveResult, PointEnd, PointStart

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.console import Console
    from rich.table import Table

    from dlkit.training.fit import EpochEnd

#: Where ``dlkit diagnose --learning-curve`` writes the curve, inside the run directory.
JSON_NAME = "reports/learning_curve.json"


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "–"
    return f"{value:.2%}" if kind == "proportion" else f"{value:.4g}"


def _figure(result: LearningCurveResult) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    n = [p.n_train for p in result.points]
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    ax.plot(n, [p.train_error for p in result.points], "o-", label="train error")
    if any(p.train_dev_error is not None for p in result.points):
        train_dev = [math.nan if p.train_dev_error is None else p.train_dev_error for p in result.points]
        ax.plot(n, train_dev, "^-", label="train-dev error")
    ax.plot(n, [p.dev_error for p in result.points], "s-", label="dev error")
    if result.human_error is not None:
        ax.axhline(result.human_error, color="grey", linestyle="--", label="human-level error")
    ax.set_xscale("log")
    ax.set_xlabel("training examples")
    ax.set_ylabel("error")
    ax.set_ylim(bottom=0)
    budget = " (each point given the full run's optimizer steps)" if result.budget else ""
    ax.set_title(f"Learning curve{budget}", fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_learning_curve(result: LearningCurveResult, path: Path) -> Path:
    """Draw ``result`` to a PNG at ``path`` (matplotlib, no display needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _figure(result).savefig(path)
    return path


def learning_curve_svg(result: LearningCurveResult) -> str:
    """The same plot as inline SVG, for self-contained HTML pages."""
    buf = io.StringIO()
    _figure(result).savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


_HEAD = ["share of train", "train examples", "epochs", "optimizer steps", "train error", "dev error"]


def _rows(result: LearningCurveResult) -> list[list[str]]:
    rows = []
    for p in result.points:
        epochs = "–" if p.epochs is None else str(p.epochs)
        remarks = []
        if p.epochs_run is not None and p.epochs is not None and p.epochs_run < p.epochs:
            epochs = f"{p.epochs_run} of {p.epochs}"
            remarks.append("stopped early")
        if not p.retrained:
            remarks.append("the run itself")
        if remarks:
            epochs += f" ({'; '.join(remarks)})"
        steps = "–" if p.steps is None else f"{p.steps:,}"
        rows.append(
            [
                f"{p.fraction:.0%}",
                f"{p.n_train:,}",
                epochs,
                steps,
                _fmt(p.train_error, result.kind),
                _fmt(p.dev_error, result.kind),
            ]
        )
    return rows


def learning_curve_table(result: LearningCurveResult) -> Table:
    """The points with their budgets, as a rich table."""
    from rich.table import Table

    table = Table(title="Learning curve (inference-mode errors; one dev set for every point)")
    for column in _HEAD:
        table.add_column(column, justify="right")
    for row in _rows(result):
        table.add_row(*row)
    return table


def render_learning_curve(console: Console, result: LearningCurveResult) -> None:
    """The table, the budget, the reading and where the plot is."""
    from rich.markup import escape

    console.print(learning_curve_table(result))
    if result.budget:
        console.print(escape(result.budget))
    for note in result.notes:
        console.print(escape(note))
    console.print(escape(result.reading))
    if result.plot_path:
        console.print(f"Plot: {escape(result.plot_path)}", highlight=False)


class CurveProgress:
    """One line as each point starts and as it finishes; on a terminal, a status line with the
    point's epoch while it trains."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Any = None
        self._label = ""

    def start(self, event: PointStart) -> None:
        b = event.budget
        head = f"point {event.index}/{event.total}: {b.fraction:.0%} of train (n={b.n_train:,})"
        if not event.retrained:
            self.console.print(f"{head}: the finished run itself, {b.epochs} epochs, not retrained")
            return
        capped = f", capped at {b.scale:.1f}x the epochs" if b.capped else ""
        self.console.print(f"{head}, {b.epochs} epochs ({b.steps:,} optimizer steps{capped})...")
        if self.console.is_terminal:
            self._label = f"point {event.index}/{event.total}"
            self._status = self.console.status(f"{self._label}: starting")
            self._status.start()

    def epoch(self, event: EpochEnd) -> None:
        if self._status is not None:
            self._status.update(f"{self._label}: epoch {event.epoch}/{event.epochs}")

    def end(self, event: PointEnd) -> None:
        self.stop()
        p = event.point
        early = p.epochs is not None and p.epochs_run is not None and p.epochs_run < p.epochs
        stopped = f", stopped early at epoch {p.epochs_run}" if early else ""
        self.console.print(
            f"point {event.index}/{event.total} done in {event.duration_s:.0f} s{stopped}: "
            f"train error {p.train_error:.4g}, dev error {p.dev_error:.4g}"
        )

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def learning_curve_html(result: LearningCurveResult) -> str:
    """The curve as an HTML section: plot, points, budget and reading."""
    e = html.escape
    head = "<tr>" + "".join(f"<th>{e(h)}</th>" for h in _HEAD) + "</tr>"
    rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _rows(result))
    parts = [
        "<h2>Learning curve</h2>",
        learning_curve_svg(result),
        f"<table>{head}{rows}</table>",
        f"<p><b>Reading:</b> {e(result.reading)}</p>",
    ]
    if result.budget:
        parts.append(f"<p>{e(result.budget)}</p>")
    parts += [f"<p>{e(n)}</p>" for n in result.notes]
    return "\n".join(parts)


def learning_curve_section(run_dir: Path) -> str:
    """The learning-curve section for a run's ``diagnose.html``, or "" when the run has none
    (``reports/learning_curve.json`` is written by ``dlkit diagnose --learning-curve``)."""
    path = Path(run_dir) / JSON_NAME
    if not path.is_file():
        return ""
    try:
        result = LearningCurveResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        return f"<p>Learning curve: {html.escape(str(path))} cannot be read.</p>"
    return learning_curve_html(result)
