"""The objective against each hyperparameter, one PNG per dimension (log x-axis for log dimensions)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from dlkit.tuning.space import Dimension
from dlkit.tuning.study import TrialRecord


def _file_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path) + ".png"


def plot_objective(
    records: list[TrialRecord], dims: list[Dimension], objective: str, direction: str, folder: Path
) -> list[Path]:
    """Scatter the objective of the trials against each dimension (:func:`objective_figure`).

    Returns:
        The PNG files written into ``folder``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    feasible = [r for r in records if r.status == "COMPLETED" and r.objective is not None and r.feasible]
    best = None
    if feasible:
        best = (max if direction == "max" else min)(feasible, key=lambda r: float(r.objective or 0.0))
    written = []
    for dim in dims:
        fig = objective_figure(records, dim, objective, best)
        if fig is None:
            continue
        target = folder / _file_name(dim.path)
        fig.savefig(target, dpi=90)
        plt.close(fig)
        written.append(target)
    return written


def objective_figure(
    records: list[TrialRecord], dim: Dimension, objective: str, best: TrialRecord | None
) -> Any:
    """The objective of ``records`` against ``dim``: a matplotlib figure, or None when no trial tried it.

    Feasible trials are dots, trials that break a satisficing constraint are crosses, the best
    feasible trial a star; failed trials (no objective) are red triangles along the bottom edge,
    at the value they tried. ``one_minus_log`` dimensions are drawn as ``1 - x`` on a log axis
    (:func:`_log_axis`).
    """
    import matplotlib.pyplot as plt

    points = [
        r for r in records if r.status == "COMPLETED" and r.objective is not None and dim.path in r.values
    ]
    failures = [r for r in records if r.status == "FAILED" and dim.path in r.values]
    if not points and not failures:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.8))

    def x_of(r: TrialRecord) -> Any:
        value = r.values[dim.path]
        if dim.kind == "one_minus_log":
            return 1 - float(value)
        if dim.kind == "choice":
            return json.dumps(value) if isinstance(value, dict | list) else str(value)
        return value

    for group, marker, label in (
        ([r for r in points if r.feasible], "o", "feasible"),
        ([r for r in points if not r.feasible], "x", "breaks a constraint"),
    ):
        if group:
            ax.scatter(
                [x_of(r) for r in group],
                [float(r.objective or 0.0) for r in group],
                marker=marker,
                label=label,
            )
    if best is not None and dim.path in best.values:
        ax.scatter(
            [x_of(best)],
            [float(best.objective or 0.0)],
            marker="*",
            s=200,
            color="gold",
            edgecolor="black",
            label="best",
        )
    if failures:
        ax.scatter(
            [x_of(r) for r in failures],
            [0.02] * len(failures),
            transform=ax.get_xaxis_transform(),  # x in data, y in axes: along the bottom edge
            marker="v",
            color="red",
            clip_on=False,
            label=f"failed ({len(failures)})",
        )
        # points drawn in axes coordinates do not widen the x-axis by themselves
        xs = ax.xaxis.convert_units([x_of(r) for r in failures])
        ax.update_datalim([(float(x), 0.0) for x in xs], updatex=True, updatey=False)
        ax.autoscale_view()
    if dim.log_scale:
        _log_axis(ax)
    ax.set_xlabel(f"1 - {dim.path}" if dim.kind == "one_minus_log" else dim.path)
    ax.set_ylabel(objective)
    ax.set_title(f"{objective} vs {dim.path} ({dim.describe()})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _log_axis(ax: Any) -> None:
    """A log x-axis in plain numbers (0.002, not 2x10^-3): labelled at 1, 2 and 5 of each decade
    over up to three decades (matplotlib labels decades only, none at all within one), at each
    decade beyond."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelsize=8, labelrotation=30)
