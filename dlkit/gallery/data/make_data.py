"""Regenerate the gallery's generated data files (seeded: the same bytes every time).

- ``reviews.csv`` (2,000 rows): short "reviews" built from a fixed vocabulary; the label is the
  sign of the sentiment words, where "not" flips the word after it. Clean labels (Bayes error 0),
  but a bag of words cannot reach it: word order matters.
- ``multitask.csv`` (1,500 rows): six standard-normal features ``x1..x6`` and three 0/1 targets
  with known rules: ``linear = x1 + x2 > 0``, ``xor = x3 * x4 > 0``, ``threshold = x5 > 0.5``.
- ``shift.csv`` (3,600 rows): four features and a 0/1 label ``y`` drawn from
  ``sigmoid(3 * (x1 - x2 + 0.5 * x3))``; 3,000 ``web`` rows and 600 ``phone`` rows, the system's
  target. Phone inputs are shifted (``x1`` + 0.75) and 10% of phone labels are flipped: the
  gap between train-dev (web) and dev (phone) is data mismatch.
- ``digits-0to4.npz`` / ``digits-5to9.npz``: scikit-learn's 8x8 digits split by class, for
  transfer learning (the second keeps only 300 images: little labelled data).

Run: python recipes/data/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent

POSITIVE = ["good", "great", "excellent", "lovely", "superb", "fun", "moving", "clever"]
NEGATIVE = ["bad", "awful", "poor", "boring", "terrible", "dull", "weak", "silly"]
FILLER = ["the", "movie", "plot", "acting", "was", "is", "really", "quite", "and", "film", "story", "very"]


def reviews(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Reviews with one or three sentiment words, some negated; label pos / neg."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        words: list[str] = list(rng.choice(FILLER, size=rng.integers(3, 8)))
        score = 0
        for _ in range(rng.choice([1, 3])):
            positive = bool(rng.integers(0, 2))
            word = str(rng.choice(POSITIVE if positive else NEGATIVE))
            negated = rng.random() < 0.4
            score += (1 if positive else -1) * (-1 if negated else 1)
            phrase = ["not", word] if negated else [word]
            at = int(rng.integers(0, len(words) + 1))
            words[at:at] = phrase
        texts.append(" ".join(words))
        labels.append("pos" if score > 0 else "neg")
    return pd.DataFrame({"text": texts, "label": labels})


def multitask(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Six features and three 0/1 targets with known rules."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).round(4)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(1, 7)])
    frame["linear"] = (x[:, 0] + x[:, 1] > 0).astype(int)
    frame["xor"] = (x[:, 2] * x[:, 3] > 0).astype(int)
    frame["threshold"] = (x[:, 4] > 0.5).astype(int)
    return frame


def shift(n_web: int = 3000, n_phone: int = 600, seed: int = 0) -> pd.DataFrame:
    """Web rows (training data) and phone rows (the target), shifted inputs and noisier labels."""
    rng = np.random.default_rng(seed)
    parts = []
    for source, n in (("web", n_web), ("phone", n_phone)):
        x = rng.standard_normal((n, 4))
        if source == "phone":
            x[:, 0] += 0.75
        p = 1 / (1 + np.exp(-3 * (x[:, 0] - x[:, 1] + 0.5 * x[:, 2])))
        y = (rng.random(n) < p).astype(int)
        if source == "phone":
            flip = rng.random(n) < 0.10
            y[flip] = 1 - y[flip]
        part = pd.DataFrame(x.round(4), columns=["x1", "x2", "x3", "x4"])
        part["source"], part["y"] = source, y
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def digits_by_class() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Digits 0-4 (all of them) and 300 images of digits 5-9, as ``x (n, 8, 8, 1)`` and ``y``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = bunch.images.astype(np.uint8)[..., None], bunch.target.astype(np.int64)
    low, high = y < 5, np.flatnonzero(y >= 5)
    keep = np.sort(np.random.default_rng(0).choice(high, size=300, replace=False))
    return {"x": x[low], "y": y[low]}, {"x": x[keep], "y": y[keep]}


if __name__ == "__main__":
    reviews().to_csv(HERE / "reviews.csv", index=False)
    multitask().to_csv(HERE / "multitask.csv", index=False)
    shift().to_csv(HERE / "shift.csv", index=False)
    source, target = digits_by_class()
    np.savez_compressed(HERE / "digits-0to4.npz", x=source["x"], y=source["y"])
    np.savez_compressed(HERE / "digits-5to9.npz", x=target["x"], y=target["y"])
