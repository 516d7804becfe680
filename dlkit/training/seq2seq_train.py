"""Training and evaluating a ``seq2seq`` model on a ``text_pairs`` source through ``dlkit train``.

Teacher forcing: the decoder reads the target shifted right behind the start token and learns
the next token, with sparse cross-entropy that skips padding. Every set is then decoded as the
model's ``decoding`` says (beam search by default, greedy with ``method: greedy``) and scored:

- ``exact_match``: share of examples whose decoded tokens equal the reference tokens;
- ``token_accuracy``: matching positions over max(reference length, decoded length), summed
  over examples (extra or missing tokens count as errors);
- ``accuracy`` = ``exact_match`` and ``error`` = 1 - ``exact_match``.

Predictions (id, input, y_true, y_pred, correct) go to ``predictions/<set>.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dlkit.errors import RecipeError

if TYPE_CHECKING:
    from dlkit.api import SplitOutcome, TrainResult
    from dlkit.data.text_pairs import PairDataset
    from dlkit.recipe.schema import Recipe
    from dlkit.training.lifecycle import TrainingRun


def sequence_scores(predicted: list[list[str]], truth: list[list[str]]) -> dict[str, float]:
    """Exact match and token accuracy of decoded token lists against the references."""
    exact = [p == t for p, t in zip(predicted, truth, strict=True)]
    matched = sum(
        sum(a == b for a, b in zip(p, t, strict=False)) for p, t in zip(predicted, truth, strict=True)
    )
    positions = sum(max(len(p), len(t), 1) for p, t in zip(predicted, truth, strict=True))
    em = float(np.mean(exact)) if exact else 0.0
    return {
        "exact_match": em,
        "token_accuracy": float(matched / positions) if positions else 0.0,
        "accuracy": em,
        "error": 1.0 - em,
        "n": float(len(truth)),
    }


def check_recipe(recipe: Recipe, data: PairDataset) -> None:
    """The recipe's model must be a seq2seq with the source's start and end tokens."""
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


def _pairs_dataset(src: np.ndarray, tgt: np.ndarray, batch: int, seed: int | None) -> Any:
    import tensorflow as tf

    from dlkit.data.text_pairs import END, START
    from dlkit.models.seq2seq import teacher_forcing

    din, dout = teacher_forcing(tgt, START, END)
    ds = tf.data.Dataset.from_tensor_slices(((src, din), dout))
    if seed is not None:
        ds = ds.shuffle(len(src), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch)


def train_seq2seq(recipe: Recipe, outcome: SplitOutcome, life: TrainingRun) -> TrainResult:
    """Fit with teacher forcing, decode every set, write metrics, predictions and the model."""
    from dlkit.data.text_pairs import PairDataset, detokenize
    from dlkit.models import BuildContext, Head, build_model
    from dlkit.models.seq2seq import decode, seq2seq_loss
    from dlkit.training.fit import fit
    from dlkit.training.optimizers import OPTIMIZERS
    from dlkit.training.runtime import training_runtime

    data = outcome.data
    assert isinstance(data, PairDataset)
    parts = outcome.split
    run = life.run
    check_recipe(recipe, data)
    spec = recipe.train
    (run.path / "split" / "target_vocabulary.txt").write_text(
        "\n".join(data.target_vocabulary) + "\n", encoding="utf-8"
    )
    with training_runtime(spec, recipe.seed):
        head = Head(int(data.target_vocab_size or 0), "softmax")
        model = build_model(
            recipe.model,
            data.input_shape,
            head,
            None,
            name=recipe.name.replace("-", "_"),
            context=BuildContext(data=data, runs_dir=Path(recipe.tracking.runs_dir)),
        )
        model.compile(
            optimizer=OPTIMIZERS.build(spec.optimizer), loss=spec.loss or seq2seq_loss(), jit_compile=False
        )
        n_params = int(model.count_params())
        life.model_ready(n_params, spec.epochs)
        train_idx, dev_idx = parts.indices("train"), parts.indices("dev")
        fitted = fit(
            model,
            spec,
            _pairs_dataset(data.x[train_idx], data.targets[train_idx], spec.batch_size, recipe.seed),
            _pairs_dataset(data.x[dev_idx], data.targets[dev_idx], spec.batch_size, None),
            checkpoints=life.run.checkpoints,
            on_epoch=life.epoch_end,
        )
    life.record_fit(fitted)

    vocab = data.target_vocabulary
    decoding = recipe.model.decoding
    max_length = (
        decoding.max_length
        if "max_length" in decoding.model_fields_set
        else int(data.options["max_output_length"]) + 1
    )
    metrics: dict[str, dict[str, float]] = {}
    run.predictions_path("dev").parent.mkdir(parents=True, exist_ok=True)
    for name in parts.present():
        idx = parts.indices(name)
        decoded = decode(model, data.x[idx], recipe.model, max_length=max_length)
        predicted = [[vocab[i] for i in seq] for seq in decoded]
        truth = [data.target_tokens[i] for i in idx]
        metrics[name] = sequence_scores(predicted, truth)
        frame = pd.DataFrame(
            {
                "id": data.ids[idx],
                "input": data.texts[idx] if data.texts is not None else "",
                "y_true": [detokenize(t, data.level) for t in truth],
                "y_pred": [detokenize(p, data.level) for p in predicted],
                "correct": [p == t for p, t in zip(predicted, truth, strict=True)],
            }
        )
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[idx]
        frame.to_parquet(run.predictions_path(name), index=False)
    return life.finish(model, metrics, fitted, data, parts, n_params)
