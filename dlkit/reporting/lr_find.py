"""The learning-rate range test plot: smoothed loss against a log-scaled rate, range shaded."""

from __future__ import annotations

from pathlib import Path

from dlkit.training.lr_find import LRFindResult


def plot_lr_find(result: LRFindResult, path: Path) -> Path:
    """Draw ``result`` to a PNG at ``path`` (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(result.lrs, result.losses, color="lightgrey", label="loss per step")
    ax.plot(result.lrs, result.smoothed, label="smoothed loss")
    ax.axvspan(*result.suggested, color="tab:green", alpha=0.15, label="suggested range")
    ax.axvline(result.min_loss_lr, color="grey", linestyle="--", label="lowest smoothed loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    top = max(result.smoothed[0] * 1.5, min(result.smoothed) * 4.0)
    ax.set_ylim(bottom=min(min(result.losses), min(result.smoothed)) * 0.9, top=top)
    ax.set_title("Learning-rate range test")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
