"""Splits: sizes, disjointness, stratification, reproducibility, size-aware defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.data.dataset import Dataset
from dlkit.data.split import SplitSpec, default_split, split_dataset
from dlkit.errors import DataError


def _data(n: int, n_classes: int = 2, weights: list[float] | None = None) -> Dataset:
    rng = np.random.default_rng(1)
    y = rng.choice(n_classes, size=n, p=weights)
    return Dataset(
        x=rng.normal(size=(n, 3)).astype(np.float32),
        y=y,
        ids=np.arange(n),
        task="multiclass" if n_classes > 2 else "binary",
        kind="tabular",
        classes=list(range(n_classes)),
        content_hash="h",
        description="test.csv",
    )


def test_sizes_add_up_and_sets_are_disjoint() -> None:
    data = _data(1000)
    result = split_dataset(data, SplitSpec(train=0.7, train_dev=0.1, dev=0.1, test=0.1), seed=0)
    sizes = result.sizes()
    assert sum(sizes.values()) == 1000
    assert sizes == {"train": 700, "train_dev": 100, "dev": 100, "test": 100}
    seen = np.concatenate([result.indices(s) for s in result.present()])
    assert len(seen) == len(np.unique(seen)) == 1000
    assert result.manifest["id"].tolist() == list(range(1000))


def test_stratified_keeps_class_shares() -> None:
    data = _data(2000, 2, weights=[0.9, 0.1])
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=3)
    for name in ("train", "dev", "test"):
        share = data.y[result.indices(name)].mean()
        assert share == pytest.approx(data.y.mean(), abs=0.005), name


def test_same_seed_same_split_other_seed_differs() -> None:
    data = _data(500)
    a = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=7)
    b = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=7)
    c = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=8)
    assert (a.assignment == b.assignment).all()
    assert (a.assignment != c.assignment).any()


def test_no_test_set_when_fraction_zero() -> None:
    result = split_dataset(_data(100), SplitSpec(dev=0.3, test=0.0), seed=0)
    assert result.present() == ["train", "dev"]


@pytest.mark.parametrize(
    ("n", "dev", "test", "rule"),
    [
        (1_000, 0.2, 0.2, "60/20/20"),
        (50_000, 0.2, 0.2, "60/20/20"),
        (1_000_000, 0.01, 0.01, "10,000 examples each"),
    ],
)
def test_size_aware_default(n: int, dev: float, test: float, rule: str) -> None:
    spec, text = default_split(n)
    assert spec.dev == pytest.approx(dev) and spec.test == pytest.approx(test)
    assert spec.fractions()["train"] == pytest.approx(1 - dev - test)
    assert rule in text


def test_default_rule_is_reported() -> None:
    result = split_dataset(_data(100), None, seed=0)
    assert result.rule.startswith("60/20/20")
    assert result.sizes() == {"train": 60, "train_dev": 0, "dev": 20, "test": 20}


def test_class_too_small_to_stratify() -> None:
    data = _data(50)
    data.y[:] = 0
    data.y[0] = 1
    with pytest.raises(DataError) as info:
        split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=0)
    assert (
        info.value.message
        == "test.csv: class 1 has 1 example(s), too few to stratify over 3 sets (train, dev, test)"
    )


def test_too_few_examples_for_the_sets() -> None:
    with pytest.raises(
        DataError, match=r"test.csv: 4 examples are too few for the split: dev, test would be empty"
    ):
        split_dataset(_data(4), SplitSpec(train_dev=0.1, dev=0.1, test=0.1, stratify=False), seed=0)


def test_manifest_keeps_string_ids() -> None:
    data = _data(20)
    data.ids = np.array([f"u{i}" for i in range(20)])
    result = split_dataset(data, SplitSpec(dev=0.25, test=0.25), seed=0)
    assert isinstance(result.manifest, pd.DataFrame)
    assert result.manifest["id"].iloc[3] == "u3"


def test_stratified_totals_are_exact_with_many_classes() -> None:
    data = _data(1797, 10)
    sizes = split_dataset(data, SplitSpec(train=0.6, train_dev=0.1, dev=0.15, test=0.15), seed=0).sizes()
    # 1797 x (0.6, 0.1, 0.15, 0.15) = 1078.2, 179.7, 269.55, 269.55 -> largest remainders
    assert sizes == {"train": 1078, "train_dev": 180, "dev": 270, "test": 269}


def test_subsample_train_keeps_other_sets_and_class_shares() -> None:
    from dlkit.data.split import subsample_train

    data = _data(2000, 2, weights=[0.7, 0.3])
    full = split_dataset(data, SplitSpec(train_dev=0.1, dev=0.2, test=0.2), seed=0)
    part = subsample_train(full, data, 0.25, seed=0)
    assert part.sizes()["train"] == round(full.sizes()["train"] * 0.25)
    for name in ("train_dev", "dev", "test"):
        assert (part.indices(name) == full.indices(name)).all()
    assert set(part.indices("train")) <= set(full.indices("train"))
    assert data.y[part.indices("train")].mean() == pytest.approx(
        data.y[full.indices("train")].mean(), abs=0.01
    )
    assert (part.manifest["set"] == "unused").sum() == full.sizes()["train"] - part.sizes()["train"]
    assert subsample_train(full, data, 1.0, seed=0) is full
    with pytest.raises(DataError, match=r"train fraction: expected a value in \(0, 1\] \(got 1.5\)"):
        subsample_train(full, data, 1.5, seed=0)


def test_assignment_is_stored_as_codes_and_read_as_names() -> None:
    from dlkit.data.split import SET_NAMES, SplitResult, to_codes

    data = _data(200, n_classes=3)
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.1, train_dev=0.1), seed=1)
    assert result.codes.dtype == np.int8
    names = result.assignment
    assert names.dtype.kind == "U" and set(names.tolist()) == {"train", "train_dev", "dev", "test"}
    assert (np.asarray(SET_NAMES)[result.codes] == names).all()
    assert result.manifest["set"].astype(str).tolist() == names.tolist()
    for name in ("train", "train_dev", "dev", "test"):
        assert result.indices(name).tolist() == np.flatnonzero(names == name).tolist()
        expected = np.bincount(data.y[names == name], minlength=3)
        assert result.class_counts(data.y, 3)[name].tolist() == expected.tolist()
    assert result.sizes() == {"train": 120, "train_dev": 20, "dev": 40, "test": 20}
    assert result.counts()["dropped"] == 0

    # callers that hold set names (a study's manifest) still build a result from them
    again = SplitResult(names, result.manifest, result.rule)
    assert (again.codes == result.codes).all() and again.sizes() == result.sizes()
    with pytest.raises(ValueError, match="not a set name: 'validation'"):
        to_codes(np.array(["train", "validation"]))
