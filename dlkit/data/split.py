"""Seeded, stratified train / train-dev / dev / test splits and their manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from dlkit._spec import Spec
from dlkit.data.dataset import Dataset
from dlkit.errors import DataError

SPLITS: tuple[str, ...] = ("train", "train_dev", "dev", "test")
SplitName = Literal["train", "train_dev", "dev", "test"]


class SplitSpec(Spec):
    """Fractions of the whole dataset for each set.

    Leave ``train`` out to give it whatever the other sets leave. ``train_dev`` is held out of
    the training distribution and never trained on (METHODOLOGY §1).
    """

    train: float | None = Field(default=None, gt=0, le=1)
    train_dev: float = Field(default=0.0, ge=0, lt=1)
    dev: float = Field(default=0.2, gt=0, lt=1)
    test: float = Field(default=0.2, ge=0, lt=1)
    stratify: bool = Field(default=True, description="Keep class shares equal across sets.")

    @model_validator(mode="after")
    def _fractions_add_up(self) -> SplitSpec:
        others = self.train_dev + self.dev + self.test
        if self.train is None:
            if others >= 1:
                raise ValueError(f"train_dev + dev + test add up to {others:g}, leaving nothing to train on")
        elif abs(self.train + others - 1) > 1e-6:
            raise ValueError(
                f"train + train_dev + dev + test add up to {self.train + others:g}; "
                "they must add up to 1 (or leave out train to give it the rest)"
            )
        return self

    def fractions(self) -> dict[str, float]:
        """The fraction of each set, train included."""
        others = self.train_dev + self.dev + self.test
        return {
            "train": self.train if self.train is not None else 1 - others,
            "train_dev": self.train_dev,
            "dev": self.dev,
            "test": self.test,
        }


def default_split(n_examples: int) -> tuple[SplitSpec, str]:
    """The size-aware default of METHODOLOGY §1, and the rule that gave it.

    Up to 50,000 examples: 60/20/20. Beyond, dev and test stay at 10,000 each (98/1/1 at
    1,000,000), since they only need to be big enough to tell ideas apart.
    """
    if n_examples <= 50_000:
        return SplitSpec(dev=0.2, test=0.2), "60/20/20 (small data: up to 50,000 examples)"
    share = 10_000 / n_examples
    return (
        SplitSpec(dev=share, test=share),
        f"dev and test 10,000 examples each ({share:.2%}; big data)",
    )


@dataclass
class SplitResult:
    """Which set each example went to.

    Attributes:
        assignment: the set name of each example, aligned with the dataset `(n,)`.
        manifest: one row per example: ``id``, ``set``.
        rule: how the fractions were chosen (recipe, or the size-aware default).
    """

    assignment: np.ndarray
    manifest: pd.DataFrame
    rule: str

    def indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.assignment == name)

    def sizes(self) -> dict[str, int]:
        return {name: int((self.assignment == name).sum()) for name in SPLITS}

    def present(self) -> list[str]:
        """Sets that hold at least one example, in canonical order."""
        return [name for name, n in self.sizes().items() if n > 0]


def _counts(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Largest-remainder rounding so that set sizes add up to ``n`` exactly."""
    raw = {k: f * n for k, f in fractions.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    leftover = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:leftover]:
        counts[k] += 1
    return counts


def subsample_train(result: SplitResult, data: Dataset, fraction: float, seed: int) -> SplitResult:
    """Keep a seeded, stratified ``fraction`` of train (for learning curves); the rest is ``unused``.

    The other sets are untouched, so points of a learning curve share one dev set.
    """
    if not 0 < fraction <= 1:
        raise DataError(f"train fraction: expected a value in (0, 1] (got {fraction:g})")
    train = result.indices("train")
    if fraction == 1:
        return result
    stratify = data.task != "regression"
    groups = [train[data.y[train] == c] for c in range(data.n_classes)] if stratify else [train]
    rng = np.random.default_rng(seed)
    assignment = result.assignment.copy()
    for members, counts in zip(
        groups, _allocate([len(g) for g in groups], {"train": fraction, "unused": 1 - fraction}), strict=True
    ):
        assignment[rng.permutation(members)[counts["train"] :]] = "unused"
    if not (assignment == "train").any():
        raise DataError(f"train fraction {fraction:g} of {len(train)} examples leaves none to train on")
    manifest = result.manifest.copy()
    manifest["set"] = assignment
    return SplitResult(assignment, manifest, f"{result.rule}; train subsampled to {fraction:.0%}")


def _allocate(group_sizes: list[int], fractions: dict[str, float]) -> list[dict[str, int]]:
    """Per-group set sizes whose totals hit the global sizes exactly (controlled rounding).

    Each cell starts at floor(group size x fraction); the examples left over go first to the
    cells with the largest remainders, as long as both the group and the set still need them.
    """
    targets = _counts(sum(group_sizes), fractions)
    cells = [{k: int(np.floor(g * f)) for k, f in fractions.items()} for g in group_sizes]
    group_left = [g - sum(c.values()) for g, c in zip(group_sizes, cells, strict=True)]
    set_left = {k: targets[k] - sum(c[k] for c in cells) for k in fractions}
    order = sorted(
        ((g * f - np.floor(g * f), i, k) for i, g in enumerate(group_sizes) for k, f in fractions.items()),
        key=lambda t: -t[0],
    )
    for remainder, i, k in order:
        if remainder > 0 and group_left[i] > 0 and set_left[k] > 0:
            cells[i][k] += 1
            group_left[i] -= 1
            set_left[k] -= 1
    for i, left in enumerate(group_left):
        for k in fractions:
            take = min(left, set_left[k])
            cells[i][k] += take
            set_left[k] -= take
            left -= take
    return cells


def split_dataset(data: Dataset, spec: SplitSpec | None, seed: int) -> SplitResult:
    """Assign every example to one set, reproducibly for a given seed and data.

    Stratification allocates each class across sets in proportion (largest remainder), so every
    set with a non-zero fraction gets each class when the class is large enough.

    Raises:
        DataError: too few examples for the requested sets, or a class too small to stratify.
    """
    if spec is None:
        spec, rule = default_split(data.n_examples)
    else:
        rule = "recipe fractions"
    fractions = spec.fractions()
    wanted = [k for k, f in fractions.items() if f > 0]
    rng = np.random.default_rng(seed)
    assignment = np.empty(data.n_examples, dtype=object)
    stratify = spec.stratify and data.task != "regression"
    groups = (
        [np.flatnonzero(data.y == c) for c in range(data.n_classes)]
        if stratify
        else [np.arange(data.n_examples)]
    )
    if stratify:
        for c, members in enumerate(groups):
            if len(members) < len(wanted):
                raise DataError(
                    f"{data.description}: class {data.classes[c]!r} has {len(members)} example(s), "
                    f"too few to stratify over {len(wanted)} sets ({', '.join(wanted)})",
                    hint="set data.split.stratify: false, or drop that class",
                )
    cells = _allocate([len(m) for m in groups], fractions)
    for members, counts in zip(groups, cells, strict=True):
        shuffled = rng.permutation(members)
        start = 0
        for name, count in counts.items():
            assignment[shuffled[start : start + count]] = name
            start += count
    result = SplitResult(
        assignment=assignment.astype(str),
        manifest=pd.DataFrame({"id": data.ids, "set": assignment.astype(str)}),
        rule=rule,
    )
    empty = [k for k in wanted if result.sizes()[k] == 0]
    if empty:
        raise DataError(
            f"{data.description}: {data.n_examples} examples are too few for the split: "
            f"{', '.join(empty)} would be empty"
        )
    return result
