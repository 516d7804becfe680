"""Tune plots: log axes labelled in plain numbers within a decade, failed trials marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from dlkit.tuning.plots import objective_figure, plot_objective
from dlkit.tuning.space import Dimension
from dlkit.tuning.spec import DimensionSpec
from dlkit.tuning.study import TrialRecord

LR = Dimension("train.optimizer.learning_rate", DimensionSpec.model_validate({"log": [1e-3, 8e-3]}))


def _trial(name: str, lr: float, status: str = "COMPLETED", objective: float | None = 0.9) -> TrialRecord:
    done = status == "COMPLETED"
    return TrialRecord(
        name, 1, name, status, {LR.path: lr}, objective if done else None, True if done else None
    )


RECORDS = [
    _trial("r1-t0", 1.5e-3, objective=0.91),
    _trial("r1-t1", 3e-3, objective=0.94),
    _trial("r1-t2", 6e-3, status="FAILED"),
]


def _labels(fig: object) -> tuple[list[str], list[str]]:
    (ax,) = fig.axes  # type: ignore[attr-defined]
    fig.canvas.draw()  # type: ignore[attr-defined]
    lo, hi = ax.get_xlim()
    ticks = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    return ticks, [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_log_axis_within_one_decade_is_labelled_in_plain_numbers() -> None:
    fig = objective_figure(RECORDS, LR, "accuracy", best=RECORDS[1])
    ticks, _ = _labels(fig)
    plt.close(fig)
    assert {"0.002", "0.005"} <= set(ticks)
    assert not any("10^" in t or "times" in t for t in ticks)


def test_failed_trials_are_marked_and_counted() -> None:
    fig = objective_figure(RECORDS, LR, "accuracy", best=RECORDS[1])
    _, legend = _labels(fig)
    plt.close(fig)
    assert legend == ["feasible", "best", "failed (1)"]
    # a dimension only failed trials tried still gets its plot
    only_failed = objective_figure([RECORDS[2]], LR, "accuracy", best=None)
    assert only_failed is not None
    plt.close(only_failed)


def test_plot_objective_writes_one_png_per_dimension(tmp_path: Path) -> None:
    (written,) = plot_objective(RECORDS, [LR], "accuracy", "max", tmp_path)
    assert written == tmp_path / "train.optimizer.learning_rate.png"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
