"""Suspected label errors of a run: from K-fold retraining of its recipe, and the list's file.

The flags themselves are :mod:`dlkit.analysis.label_issues`'s (cleanlab confident learning on
out-of-sample probabilities); here the probabilities are made by retraining the run's recipe
(:mod:`dlkit.training.cross_val`, TensorFlow) and the ranked list is written for a person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis.label_issues import LabelIssuesResult, label_issues
from dlkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from dlkit.rundir import RunDir
    from dlkit.training.cross_val import FoldEnd
else:  # imported on first use: analyze-errors reads a classification run without pandas
    pd = lazy_module("pandas")


def folds_label_issues(
    run: RunDir,
    info: dict[str, Any],
    folds: int,
    sets: Sequence[str],
    on_fold: Callable[[FoldEnd], None] | None = None,
) -> LabelIssuesResult:
    """Suspected label errors in ``sets`` from K-fold cross-validated predictions of the run's recipe.

    The recipe's model is retrained K times on the run's data (labels as the run had them,
    corrections included; the run's own split); the out-of-sample probabilities are saved to
    ``analysis/oos_probabilities.parquet`` in the run directory.

    Raises:
        DlkitError: the data source is unavailable or changed since the run, a bad K, a model
            that cannot be built.
    """
    from dlkit.data.corrections import apply_corrections
    from dlkit.data.sources import load_source
    from dlkit.recipe.loader import load_recipe
    from dlkit.training.cross_val import cross_val_probabilities, pool_indices

    name = str(info.get("run_name", run.path.name))
    recipe = load_recipe(run.recipe_path)
    columns = recipe.data.split.columns() if recipe.data.split is not None else []
    data = load_source(recipe.data.source, recipe.data.task, Path.cwd(), columns)
    if data.stream:
        raise DataError(
            f"run '{name}': --folds retrains in memory and does not support streamed sources "
            f"({data.description})",
            hint="set stream: false on the source, or use --label-issues without --folds",
        )
    if info.get("content_hash") and data.content_hash != info["content_hash"]:
        raise DataError(
            f"run '{name}': its data ({data.description}) changed since the run (content hash differs)",
            hint="--folds retrains the run's recipe on the run's data; restore it or train a new run",
        )
    if recipe.data.corrections is not None:
        data, _ = apply_corrections(data, recipe.data.corrections)
    manifest = run.manifest()
    set_of = dict(zip(manifest["id"].astype(str), manifest["set"].astype(str), strict=True))
    example_sets = np.asarray([set_of.get(str(i), "") for i in data.ids.tolist()], dtype=object)
    if (example_sets == "").any():
        missing = data.ids[example_sets == ""][0]
        raise DataError(
            f"run '{name}': example {missing!r} of {data.description} is not in split/manifest.parquet"
        )
    data.prepare(np.flatnonzero(example_sets == "train"))  # text: the vocabulary of the run's train
    pool, always = pool_indices(example_sets, sets)
    if not len(pool):
        raise DataError(f"run '{name}': no examples in {', '.join(sets)}")
    cv = cross_val_probabilities(recipe, data, pool, always, folds, on_fold=on_fold)
    labels = data.y[pool].astype(np.int64)
    ids = data.ids[pool].tolist()
    result = label_issues(
        labels,
        cv.probs,
        ids,
        data.classes,
        example_sets[pool].tolist(),
        source=(
            f"{folds}-fold cross-validated predictions of the recipe's {recipe.model.type} model on "
            f"{' + '.join(sets)} (retrained {folds} times; each example predicted by a model that never "
            "trained on it)"
        ),
    )
    frame = pd.DataFrame(
        {
            "id": ids,
            "set": example_sets[pool],
            "y_true": [str(data.classes[k]) for k in labels],
            "fold": cv.fold + 1,
        }
    )
    for k in range(cv.probs.shape[1]):
        frame[f"proba_{k}"] = cv.probs[:, k]
    path = run.path / "analysis" / "oos_probabilities.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    result.probabilities_path = path
    result.sets = list(sets)
    return result


def write_label_issues(result: LabelIssuesResult, path: Path) -> Path:
    """The ranked list as CSV with an empty ``corrected_label`` column for a person to fill.

    Filled, it goes back through ``dlkit analyze-errors RUN --apply-corrections``.
    """
    from dlkit.data.corrections import CORRECTED_LABEL

    frame = pd.DataFrame(
        [asdict(i) for i in result.issues],
        columns=["id", "set", "given", "suggested", "label_quality", "suggested_proba"],
    )
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame[CORRECTED_LABEL] = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
