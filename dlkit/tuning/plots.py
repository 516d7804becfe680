"""The objective against each hyperparameter, one PNG per dimension (log x-axis for log dimensions)."""

from __future__ import annotations

import json
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
    """Scatter the objective of completed trials against each dimension.

    Feasible trials are dots, trials that break a satisficing constraint are crosses, the best
    feasible trial a star. ``one_minus_log`` dimensions are drawn as ``1 - x`` on a log axis.

    Returns:
        The PNG files written into ``folder``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in records if r.status == "COMPLETED" and r.objective is not None]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    feasible = [r for r in done if r.feasible]
    best = None
    if feasible:
        best = (max if direction == "max" else min)(feasible, key=lambda r: float(r.objective or 0.0))
    for dim in dims:
        points = [r for r in done if dim.path in r.values]
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 3.8))

        def x_of(r: TrialRecord, d: Dimension = dim) -> Any:
            value = r.values[d.path]
            if d.kind == "one_minus_log":
                return 1 - float(value)
            if d.kind == "choice":
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
        if dim.log_scale:
            ax.set_xscale("log")
        ax.set_xlabel(f"1 - {dim.path}" if dim.kind == "one_minus_log" else dim.path)
        ax.set_ylabel(objective)
        ax.set_title(f"{objective} vs {dim.path} ({dim.describe()})", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        target = folder / _file_name(dim.path)
        fig.savefig(target, dpi=90)
        plt.close(fig)
        written.append(target)
    return written
