"""Transfer learning pays off where docs/method.md §7 says it should: a new task over the same kind
of input, much data for the source task A and very little for the target task B.

A: a CNN classifying digits 0-9 on one half of sklearn's 8x8 digits. B: odd or even on the other
half, from one labelled image per digit (10 images). A's frozen convolutions with a new head
(the ``transfer`` model, as ``dlkit train`` builds it) beat the same CNN trained from scratch on
the same 10 images, seed by seed. The margin is moderate (about +4 to +6 points here;
``bench/bench_transfer.py`` measures it over 10 seeds): a base that did not carry A's weights
(random features) would fall well below scratch instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlkit.models import MODELS, BuildContext, Head, build_model

CNN: dict[str, Any] = {"filters": [16, 32], "dense": [32]}


def _fit(model: Any, x: np.ndarray, y: np.ndarray, lr: float, epochs: int) -> None:
    """``epochs`` epochs of batches of 16, the steps run 64 at a time in one graph (the same
    steps on the same batches as one at a time: the same weights, without Keras's per-step cost)."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", steps_per_execution=64
    )
    if len(x) <= 16:
        # an epoch is one step on the whole set: those steps, without an epoch's fixed cost
        for _ in range(epochs):
            model.train_on_batch(x, y)
    else:
        model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)


def _normalizer(x: np.ndarray) -> Any:
    import keras

    layer = keras.layers.Normalization(axis=None, name="normalize")
    layer.adapt(x)
    return layer


def _parity_accuracies(folder: Path, seed: int) -> dict[str, float]:
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    half = np.random.default_rng(seed).permutation(len(x)) < len(x) // 2
    keras.utils.set_random_seed(seed)
    base = build_model(MODELS.get("cnn").spec(**CNN), (8, 8, 1), Head(10, "softmax"), _normalizer(x[half]))
    _fit(base, x[half], digits.target[half], 3e-3, 15)
    base.save(folder / f"a-{seed}.keras")

    xb, digit = x[~half], digits.target[~half]
    rng = np.random.default_rng(seed)
    small = np.array([rng.choice(np.flatnonzero(digit == d)) for d in range(10)])
    test = np.setdiff1d(np.arange(len(xb)), small)
    parity = digit % 2
    keras.utils.set_random_seed(seed)
    scratch = build_model(
        MODELS.get("cnn").spec(**CNN), (8, 8, 1), Head(2, "softmax"), _normalizer(xb[small])
    )
    _fit(scratch, xb[small], parity[small], 3e-3, 40)
    keras.utils.set_random_seed(seed)
    spec = MODELS.get("transfer").spec(
        base={"path": str(folder / f"a-{seed}.keras"), "layer": "flatten"}, dense=CNN["dense"]
    )
    transfer = build_model(spec, (8, 8, 1), Head(2, "softmax"), context=BuildContext())
    _fit(transfer, xb[small], parity[small], 3e-3, 40)
    return {
        name: float((model.predict(xb[test], verbose=0).argmax(1) == parity[test]).mean())
        for name, model in (("scratch", scratch), ("transfer", transfer))
    }


def test_feature_extraction_beats_scratch_with_one_label_per_digit(workdir: Path) -> None:
    runs = [_parity_accuracies(workdir, seed) for seed in (0, 1)]
    for accuracy in runs:
        assert accuracy["transfer"] > accuracy["scratch"], runs
    gain = np.mean([r["transfer"] - r["scratch"] for r in runs])
    assert gain >= 0.03, runs
