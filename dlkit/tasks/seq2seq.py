"""Sequence to sequence (a ``text_pairs`` source): teacher forcing, decoded evaluation.

The decoder reads the target shifted right behind the start token and learns the next token,
with sparse cross-entropy that skips padding. Every set is decoded as the model's
``decoding`` says (beam search by default, greedy with ``method: greedy``) and scored:

- ``exact_match``: share of examples whose decoded tokens equal the reference tokens;
- ``token_accuracy``: matching positions over max(reference length, decoded length), summed
  over examples (extra or missing tokens count as errors);
- ``bleu``: corpus BLEU of the decoded tokens (:mod:`dlkit.analysis.bleu`: n-grams up to 4,
  brevity penalty, no smoothing), between 0 and 1;
- ``accuracy`` = ``exact_match`` and ``error`` = 1 - ``exact_match``.

Predictions: id, input, y_true, y_pred, correct, token_accuracy and bleu (the example's
sentence BLEU, ``exp``-smoothed), length. With ``metrics.optimize: bleu`` the reports' error
of an example is 1 - its sentence BLEU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from dlkit._lazy import lazy_module
from dlkit.analysis.bleu import corpus_bleu, sentence_bleu
from dlkit.errors import RecipeError
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.data.text_pairs import PairDataset
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


def _matched(p: list[str], t: list[str]) -> tuple[int, int]:
    return sum(a == b for a, b in zip(p, t, strict=False)), max(len(p), len(t), 1)


def sequence_scores(predicted: list[list[str]], truth: list[list[str]]) -> dict[str, float]:
    """Exact match, token accuracy and corpus BLEU of decoded token lists against the references."""
    exact = [p == t for p, t in zip(predicted, truth, strict=True)]
    pairs = [_matched(p, t) for p, t in zip(predicted, truth, strict=True)]
    matched, positions = sum(m for m, _ in pairs), sum(n for _, n in pairs)
    em = float(np.mean(exact)) if exact else 0.0
    return {
        "exact_match": em,
        "token_accuracy": float(matched / positions) if positions else 0.0,
        "bleu": corpus_bleu(predicted, truth) if truth else 0.0,
        "accuracy": em,
        "error": 1.0 - em,
        "n": float(len(truth)),
    }


class Seq2Seq(Task):
    name = "seq2seq"
    keeps_classes = False
    summary = "token sequence in, token sequence out: encoder-decoder, teacher forcing, decoded scores"
    labels = "structured"
    epoch_metrics = ()
    set_metrics = ("loss", "accuracy", "error", "exact_match", "token_accuracy", "bleu")
    maximised = ("accuracy", "exact_match", "token_accuracy", "bleu")
    error_metric = "exact_match"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False
    truth_columns = ("y_true", "correct", "token_accuracy", "bleu", "length")

    def check(self, recipe: Recipe, data: Dataset) -> None:
        from dlkit.data.text_pairs import END, START

        model = recipe.model
        if getattr(model, "type", None) != "seq2seq":
            raise RecipeError(
                f"model.type: the seq2seq task (a text_pairs source) needs model type seq2seq "
                f"(got {getattr(model, 'type', '?')})"
            )
        if model.start_token != START or model.end_token != END:
            raise RecipeError(
                f"model.start_token/end_token: a text_pairs source uses {START} and {END} "
                f"(got {model.start_token} and {model.end_token})"
            )
        if recipe.train.augment is not None:
            raise RecipeError("train.augment: not supported for token sequences (task seq2seq)")

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(int(cast("PairDataset", data).target_vocab_size or 0), "softmax")

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.seq2seq import seq2seq_loss

        return seq2seq_loss()

    def jit_compile(self, requested: bool | str) -> bool | str:
        return False  # the attention decoder's dynamic shapes

    def fit_arrays(self, data: Dataset, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        """((source ids, decoder input), next tokens): the target shifted right behind START."""
        from dlkit.data.text_pairs import END, START
        from dlkit.models.seq2seq import teacher_forcing

        din, dout = teacher_forcing(cast("PairDataset", data).targets[indices], START, END)
        return (data.x[indices], din), dout

    def error_columns(self, metric: str | None) -> list[str]:
        if metric == "bleu":
            return ["bleu"]
        if metric is None or metric in ("accuracy", "error", "exact_match"):
            return ["correct"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for seq2seq (supported: accuracy, error, exact_match, bleu)"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        if metric == "bleu":  # 1 - sentence BLEU: a real error per example, as a loss is
            return 1.0 - frame["bleu"].to_numpy(dtype=np.float64)
        return super().example_errors(frame, metric)

    def error_name(self, metric: str | None) -> str | None:
        return "1 − sentence BLEU (exp-smoothed), per example" if metric == "bleu" else None

    def predict(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> Scored:
        """Decode (beam or greedy, as the model's ``decoding`` says) and score against the references."""
        from dlkit.data.text_pairs import detokenize
        from dlkit.models.seq2seq import decode

        pairs = cast("PairDataset", data)
        decoding = recipe.model.decoding  # type: ignore[union-attr]
        max_length = (
            decoding.max_length
            if "max_length" in decoding.model_fields_set
            else int(data.options["max_output_length"]) + 1
        )
        vocab = pairs.target_vocabulary
        decoded = decode(model, data.x[indices], recipe.model, max_length=max_length)  # type: ignore[arg-type]
        predicted = [[vocab[i] for i in seq] for seq in decoded]
        truth = [pairs.target_tokens[i] for i in indices]
        frame = pd.DataFrame(
            {
                "input": data.texts[indices] if data.texts is not None else "",
                "y_true": [detokenize(t, pairs.level) for t in truth],
                "y_pred": [detokenize(p, pairs.level) for p in predicted],
                "correct": [p == t for p, t in zip(predicted, truth, strict=True)],
                "token_accuracy": [m / n for m, n in map(_matched, predicted, truth)],
                "bleu": [sentence_bleu(p, t) for p, t in zip(predicted, truth, strict=True)],
                "length": [len(t) for t in truth],
            }
        )
        return Scored(frame, sequence_scores(predicted, truth))
