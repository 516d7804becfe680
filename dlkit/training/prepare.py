"""The recipe's data, loaded and split the one way every command uses.

``dlkit split``, ``train``, ``--resume``, tune studies and their trials, the ``--folds``
retrains, learning-curve points, ``gradcheck`` and ``lr-find`` all get their examples from
:func:`split_recipe`: the same columns read, the same split, the same label corrections and
the same train-only vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.data.dataset import Dataset
from dlkit.data.sources import load_source
from dlkit.data.split import SplitResult, split_dataset, subsample_train

if TYPE_CHECKING:
    from dlkit.data.checks import DistributionReport
    from dlkit.recipe.schema import Recipe


@dataclass
class SplitOutcome:
    """A dataset and where each of its examples went."""

    data: Dataset
    split: SplitResult
    distribution: DistributionReport | None = None

    def summary(self) -> dict[str, Any]:
        """Sizes and label counts per set, the rule used, and the data's content hash."""
        from dlkit.data.summary import column_extras, split_extras
        from dlkit.tasks import task_for

        task = task_for(self.data.task)
        sets: dict[str, Any] = {}
        for name, size in self.split.sizes().items():
            if size == 0:
                continue
            y = self.data.y[self.split.indices(name)]
            sets[name] = {"n": size, **task.label_summary(y, self.data.classes)}
        return {
            "source": self.data.description,
            "n_examples": self.data.n_examples,
            "task": self.data.task,
            "rule": self.split.rule,
            "content_hash": self.data.content_hash,
            "sets": sets,
            **split_extras(self.split, self.distribution),
            **column_extras(self.data),
        }


def load_data(recipe: Recipe, *, corrections: bool = True) -> Dataset:
    """Load the dataset the recipe names (with the columns its split reads and its label corrections)."""
    columns = recipe.data.split.columns() if recipe.data.split is not None else []
    data = load_source(recipe.data.source, recipe.data.task, Path.cwd(), columns)
    if corrections and recipe.data.corrections is not None:
        from dlkit.data.corrections import apply_corrections

        data, _ = apply_corrections(data, recipe.data.corrections)
    return data


def split_recipe(
    recipe: Recipe, train_fraction: float | None = None, *, dedupe: bool | None = None
) -> SplitOutcome:
    """Load the data and split it as the recipe says (seeded, reproducible).

    Also finds exact duplicates across sets and tests whether dev and test look like one
    distribution; text sources get their vocabulary from train here.

    Args:
        recipe: a validated recipe.
        train_fraction: keep only this seeded, stratified share of train (learning curves).
        dedupe: drop duplicates across sets (the recipe's ``data.split.dedupe`` when None).
    """
    from dlkit.data.checks import check_distribution

    # split on the labels as given, so that label corrections never move an example to another set
    data = load_data(recipe, corrections=False)
    from dlkit.tasks import task_for

    by_label = task_for(data.task).split_by_label
    result = split_dataset(data, recipe.data.split, recipe.seed, dedupe=dedupe, by_label=by_label)
    if train_fraction is not None:
        result = subsample_train(result, data, train_fraction, recipe.seed)
    if recipe.data.corrections is not None:
        from dlkit.data.corrections import apply_corrections

        data, _ = apply_corrections(data, recipe.data.corrections)
    data.prepare(result.indices("train"))
    td = recipe.data.split.target_distribution if recipe.data.split is not None else None
    distribution = check_distribution(data, result.codes, td.column if td else None, labels=not by_label)
    return SplitOutcome(data, result, distribution)


def check_same_split(description: str, outcome: SplitOutcome, saved_hash: str | None, manifest: Any) -> None:
    """Refuse when the data or the split differ from a stored run's or study's.

    Args:
        description: what the stored split belongs to, for the message ("run 'x'", "study y").
        outcome: the split made now.
        saved_hash: the content hash stored with it.
        manifest: the stored manifest (a frame), or its path.

    Raises:
        DataError: another content hash, or another assignment of examples to sets.
    """
    import pandas as pd

    from dlkit.errors import DataError

    data = outcome.data
    if saved_hash and saved_hash != data.content_hash:
        raise DataError(
            f"{data.description}: the data changed since {description} split it "
            f"(content hash {data.content_hash[:12]}, was {saved_hash[:12]})",
            hint="start anew on the new data",
        )
    stored = manifest if isinstance(manifest, pd.DataFrame) else pd.read_parquet(manifest)
    stored = stored.reset_index(drop=True)
    fresh = outcome.split.manifest.reset_index(drop=True)
    if not stored.astype(str).equals(fresh.astype(str)):
        raise DataError(
            f"{description}: the split differs from the stored one (same data, another split rule?)",
            hint="start anew instead",
        )
