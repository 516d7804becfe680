"""Where a seq2seq run's decoder looked: attention weights of chosen dev examples.

``dlkit analyze-errors`` shows them for the worst dev examples (wrong, lowest token accuracy)
and the best (right, longest): each a matrix of output tokens (rows, the decoded output and
its end token) by input tokens (columns). The weights are the trained model's, teacher-forced
on the decoded output, with the run's stored vocabularies; this loads the model (TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dlkit.rundir import RunDir

END_MARK = "</s>"


@dataclass
class AttentionMap:
    """One example's attention.

    Attributes:
        id: the example's id.
        label: ``worst`` or ``best``.
        source: the input tokens (columns).
        target: the output tokens and the end mark (rows).
        weights: `(len(target), len(source))`, each row summing to 1.
    """

    id: Any
    label: str
    source: list[str]
    target: list[str]
    weights: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id.item() if hasattr(self.id, "item") else self.id,
            "label": self.label,
            "source": self.source,
            "target": self.target,
            "weights": np.round(self.weights, 4).tolist(),
        }


def chosen_examples(dev: pd.DataFrame, n_each: int = 2) -> list[tuple[str, pd.Series]]:
    """The worst (wrong, lowest token accuracy, longest first) and best (right, longest) examples."""
    wrong = dev.loc[~dev["correct"].astype(bool)]
    right = dev.loc[dev["correct"].astype(bool)]
    worst = wrong.sort_values(
        ["token_accuracy", "length", "id"], ascending=[True, False, True], kind="stable"
    )
    best = right.sort_values(["length", "id"], ascending=[False, True], kind="stable")
    return [("worst", row) for _, row in worst.head(n_each).iterrows()] + [
        ("best", row) for _, row in best.head(n_each).iterrows()
    ]


def attention_maps(
    run: RunDir, recipe: dict[str, Any], dev: pd.DataFrame, n_each: int = 2
) -> list[AttentionMap]:
    """The attention of the chosen dev examples (:func:`chosen_examples`); [] when the run has
    no model or stored vocabularies."""
    from dlkit.data.text_pairs import START, _ids, tokenize
    from dlkit.runs.inference import _vocabulary

    folder = run.manifest_path.parent
    vocabulary = _vocabulary(folder / "vocabulary.txt")
    target_vocabulary = _vocabulary(folder / "target_vocabulary.txt")
    chosen = chosen_examples(dev, n_each)
    if not chosen or not run.model_path.is_file() or vocabulary is None or target_vocabulary is None:
        return []
    source_spec = (recipe.get("data") or {}).get("source") or {}
    level = str(source_spec.get("level", "char"))
    sources = [tokenize(str(row["input"]), level) for _, row in chosen]
    outputs = [tokenize(str(row["y_pred"]), level) for _, row in chosen]
    limit = source_spec.get("max_input_length") or max(len(s) for s in sources)
    sources = [s[: int(limit)] for s in sources]
    source_ids = _ids(sources, vocabulary, max(len(s) for s in sources))
    target_ids = _ids(outputs, target_vocabulary, max(max(len(o) for o in outputs), 1))
    target_in = np.concatenate([np.full((len(chosen), 1), START, dtype=np.int32), target_ids], axis=1)

    from dlkit.models import load_model
    from dlkit.models.seq2seq import attention_weights

    weights = attention_weights(load_model(run.model_path), source_ids, target_in)
    return [
        AttentionMap(
            id=row["id"],
            label=label,
            source=source,
            target=[*output, END_MARK],
            weights=weights[i, : len(output) + 1, : len(source)],
        )
        for i, ((label, row), source, output) in enumerate(zip(chosen, sources, outputs, strict=True))
    ]
