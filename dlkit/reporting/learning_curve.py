"""The learning-curve plot: train and dev error against examples, with the human-level line."""

from __future__ import annotations

from pathlib import Path

from dlkit.analysis.learning_curve import LearningCurveResult


def plot_learning_curve(result: LearningCurveResult, path: Path) -> Path:
    """Draw ``result`` to a PNG at ``path`` (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [p.n_train for p in result.points]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(n, [p.train_error for p in result.points], "o-", label="train error")
    ax.plot(n, [p.dev_error for p in result.points], "s-", label="dev error")
    if result.human_error is not None:
        ax.axhline(result.human_error, color="grey", linestyle="--", label="human-level error")
    ax.set_xscale("log")
    ax.set_xlabel("training examples")
    ax.set_ylabel("error")
    ax.set_ylim(bottom=0)
    ax.set_title("Learning curve")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
