"""CTC (connectionist temporal classification): a string per example, not aligned to the input.

The source gives one string per example (``data.task: ctc``, :mod:`dlkit.data.text_labels`),
e.g. the digits written in an image, left to right. The model gives one distribution per time
step over the alphabet and a blank (``crnn``, or an ``rnn`` with ``output: sequence``); the loss
is the CTC loss (:class:`dlkit.models.layers.CTCLoss`), which sums over every alignment of the
label to the steps. A prediction is decoded as the model's ``decoding`` says: ``greedy`` takes
the most likely class per step and applies the collapse rule (repeats merged, then blanks
dropped: ``ttt_h_eee`` reads ``the``, and ``l_l`` reads ``ll``); ``beam`` searches the collapsed
strings (``keras.ops.ctc_decode``).

Scores: ``cer``, the character error rate (Levenshtein edits over reference characters, pooled
over the set), ``exact_match`` and ``accuracy`` (= exact match), ``error`` = 1 - exact match.
Predictions: id, y_true, y_pred, cer (of the example), correct, length (of the reference). The
reports read ``cer`` by default (``metrics.optimize: cer``): an example's error is its CER.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.errors import RecipeError
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

BLANK = 0


def collapse(steps: Sequence[Any], blank: Any = BLANK) -> list[Any]:
    """The CTC collapse rule: merge repeated symbols, then drop blanks (``ttt_h_eee`` -> ``the``)."""
    out: list[Any] = []
    previous = None
    for symbol in steps:
        if symbol != previous and symbol != blank:
            out.append(symbol)
        previous = symbol
    return out


def greedy_decode(probs: np.ndarray) -> list[list[int]]:
    """The most likely class per step `(n, steps, classes)`, collapsed: label indices per example."""
    return [collapse(row.tolist()) for row in np.argmax(probs, axis=-1)]


def beam_decode(probs: np.ndarray, beam_width: int) -> list[list[int]]:
    """CTC beam search over per-step probabilities `(n, steps, classes)` (``keras.ops.ctc_decode``)."""
    import keras

    n, steps = probs.shape[:2]
    log_probs = np.log(np.maximum(probs, 1e-12)).astype("float32")
    decoded, _ = keras.ops.ctc_decode(
        log_probs,
        np.full(n, steps, dtype="int32"),
        strategy="beam_search",
        beam_width=beam_width,
        top_paths=1,
        mask_index=BLANK,
    )
    best = keras.ops.convert_to_numpy(decoded)[0]
    return [[int(i) for i in row if i > 0] for row in best]


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions from ``a`` to ``b``."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def ctc_scores(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, float]:
    """``cer`` (edits over reference characters, pooled), exact match, accuracy and error."""
    edits = sum(edit_distance(t, p) for p, t in zip(predicted, truth, strict=True))
    chars = sum(len(t) for t in truth)
    exact = float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])) if truth else 0.0
    return {
        "cer": edits / chars if chars else 0.0,
        "exact_match": exact,
        "accuracy": exact,
        "error": 1.0 - exact,
        "n": float(len(truth)),
    }


class CTC(Task):
    name = "ctc"
    summary = "a string per example, not aligned to the input: CTC loss, greedy or beam decoding, CER"
    labels = "structured"
    epoch_metrics = ()
    default_metric = "cer"
    set_metrics = ("loss", "accuracy", "error", "exact_match", "cer")
    maximised = ("accuracy", "exact_match")
    error_metric = "cer"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False
    truth_columns = ("y_true", "correct", "cer", "length")

    def check(self, recipe: Recipe, data: Dataset) -> None:
        model = recipe.model
        kind = getattr(model, "type", "?")
        if kind != "crnn" and getattr(model, "output", None) != "sequence":
            raise RecipeError(
                f"model.type: task ctc needs one prediction per time step: crnn for images, or rnn "
                f"with output: sequence (got {kind})"
            )
        if recipe.train.augment is not None:
            raise RecipeError("train.augment: not supported with unaligned string labels (task ctc)")

    def array_labels(
        self, y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
    ) -> tuple[np.ndarray, list[object]] | None:
        """One string per example, encoded over the alphabet (:mod:`dlkit.data.text_labels`)."""
        from dlkit.data.text_labels import encode_text_labels

        if y is None:  # unlabelled: one blank placeholder per example
            return np.zeros((x_shape[0], 1), dtype=np.int32), list(classes or [])
        return encode_text_labels(y, classes, where)

    def image_csv_labels(
        self,
        frame: pd.DataFrame,
        images: pd.Series,
        sizes: np.ndarray,
        x_shape: tuple[int, ...],
        classes: list[Any] | None,
        where: str,
    ) -> tuple[np.ndarray, list[object]] | None:
        """``image, text``: the string written in each image (:mod:`dlkit.data.image_csv`)."""
        from dlkit.data.vision_labels import csv_text_labels

        return csv_text_labels(frame, images, sizes, x_shape, classes, where)

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(data.n_classes + 1, "softmax")  # the alphabet and the blank (index 0)

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.layers import CTCLoss

        return CTCLoss()

    def jit_compile(self, requested: bool | str) -> bool | str:
        return False

    def fit_arrays(self, data: Dataset, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        from dlkit.data.pipeline import inputs

        return inputs(data, indices), data.y[indices].astype("int32")

    def predict(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> Scored:
        """Decode as the model's ``decoding`` says (greedy unless it says beam) and score."""
        x, y = self.fit_arrays(data, indices)
        probs = np.asarray(self.outputs(model, x, recipe))
        decoding = getattr(recipe.model, "decoding", None)
        if decoding is not None and decoding.method == "beam":
            decoded = beam_decode(probs, decoding.beam_width)
        else:
            decoded = greedy_decode(probs)
        return self._scored(decoded, y, data)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        return self._scored(greedy_decode(outputs), y, data)

    def _scored(self, decoded: list[list[int]], y: np.ndarray, data: Dataset) -> Scored:
        from dlkit.data.text_labels import decode_labels

        alphabet = data.classes
        predicted = ["".join(str(alphabet[i - 1]) for i in row) for row in decoded]
        truth = decode_labels(y, alphabet)
        frame = pd.DataFrame(
            {
                "y_true": truth,
                "y_pred": predicted,
                "cer": [edit_distance(t, p) / max(len(t), 1) for p, t in zip(predicted, truth, strict=True)],
                "correct": [p == t for p, t in zip(predicted, truth, strict=True)],
                "length": [len(t) for t in truth],
            }
        )
        return Scored(frame, ctc_scores(predicted, truth))

    def error_columns(self, metric: str | None) -> list[str]:
        if metric in (None, "cer"):
            return ["cer"]
        if metric in ("accuracy", "error", "exact_match"):
            return ["correct"]
        raise ValueError(f"cannot diagnose metric '{metric}' for ctc (supported: cer, exact_match, error)")

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        if self.error_columns(metric) == ["cer"]:
            return frame["cer"].to_numpy(dtype=np.float64)
        return ~frame["correct"].to_numpy(dtype=bool)

    def error_name(self, metric: str | None) -> str | None:
        if metric in (None, "cer"):
            return "character error rate (edits / reference characters), per example"
        return "error = 1 − exact match"
