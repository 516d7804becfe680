"""Known answers for every split strategy: sizes, disjointness, groups, time order, hash stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.data._common import row_hashes
from dlkit.data.dataset import Dataset
from dlkit.data.split import SplitSpec, split_dataset
from dlkit.errors import DataError


def _data(n: int, *, metadata: dict | None = None, seed: int = 1, n_classes: int = 2) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return Dataset(
        x=x,
        y=rng.integers(0, n_classes, size=n),
        ids=np.arange(n),
        task="binary" if n_classes == 2 else "multiclass",
        kind="tabular",
        classes=list(range(n_classes)),
        content_hash="h",
        description="t.csv",
        metadata=pd.DataFrame(metadata or {}),
        input_hashes=row_hashes(x),
    )


def _web_phone(n_web: int, n_phone: int) -> Dataset:
    return _data(n_web + n_phone, metadata={"source": ["web"] * n_web + ["phone"] * n_phone})


def test_target_distribution_web_phone_scaled_down_100x() -> None:
    # docs/method.md §1: 200,000 web + 10,000 phone -> train 205,000, dev 2,500, test 2,500 (here /100)
    data = _web_phone(2000, 100)
    spec = SplitSpec(target_distribution={"column": "source", "value": "phone"})
    result = split_dataset(data, spec, seed=0)
    assert result.sizes() == {"train": 2050, "train_dev": 0, "dev": 25, "test": 25}
    source = data.metadata["source"].to_numpy()
    assert set(source[result.indices("dev")]) == {"phone"} and set(source[result.indices("test")]) == {
        "phone"
    }
    train_sources = pd.Series(source[result.indices("train")]).value_counts().to_dict()
    assert train_sources == {"web": 2000, "phone": 50}
    assert "dev and test only from its 100 rows" in result.rule


def test_target_distribution_train_dev_is_carved_from_train() -> None:
    data = _web_phone(2000, 100)
    spec = SplitSpec(
        train_dev=0.1, target_distribution={"column": "source", "value": "phone"}, stratify=False
    )
    sizes = split_dataset(data, spec, seed=0).sizes()
    assert sizes == {"train": 1845, "train_dev": 205, "dev": 25, "test": 25}


def test_target_distribution_given_fractions_are_of_target_rows() -> None:
    data = _web_phone(1000, 200)
    spec = SplitSpec(dev=0.3, test=0.2, target_distribution={"column": "source", "value": "phone"})
    assert split_dataset(data, spec, seed=0).sizes() == {"train": 1100, "train_dev": 0, "dev": 60, "test": 40}


def test_grouped_split_keeps_groups_whole() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(120), rng.integers(1, 12, size=120))
    data = _data(len(groups), metadata={"patient": groups})
    result = split_dataset(data, SplitSpec(train_dev=0.1, dev=0.15, test=0.15, group="patient"), seed=0)
    frame = pd.DataFrame({"g": groups, "set": result.assignment})
    assert (frame.groupby("g")["set"].nunique() == 1).all()
    n = len(groups)
    for name, share in {"train": 0.6, "train_dev": 0.1, "dev": 0.15, "test": 0.15}.items():
        assert abs(result.sizes()[name] - share * n) <= 11, name  # at most one group (<= 11 rows) off
    assert "grouped by 'patient'" in result.rule


def test_time_split_orders_train_dev_test() -> None:
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, size=600), unit="D")
    data = _data(600, metadata={"day": days.strftime("%Y-%m-%d")})
    result = split_dataset(data, SplitSpec(train_dev=0.1, dev=0.2, test=0.2, time="day"), seed=0)
    when = pd.to_datetime(data.metadata["day"]).to_numpy()
    train_period = np.concatenate([result.indices("train"), result.indices("train_dev")])
    assert when[train_period].max() < when[result.indices("dev")].min()
    assert when[result.indices("dev")].max() < when[result.indices("test")].min()
    # train-dev is drawn from the training period at random, not its latest days
    assert when[result.indices("train_dev")].min() < when[result.indices("train")].max()
    sizes = result.sizes()
    assert sum(sizes.values()) == 600 and abs(sizes["test"] - 120) <= 20 and sizes["train_dev"] > 0


def test_time_split_numeric_times_with_ties() -> None:
    data = _data(10, metadata={"t": [1, 1, 1, 2, 2, 3, 3, 3, 4, 5]})
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2, time="t", stratify=False), seed=0)
    assert result.assignment.tolist() == ["train"] * 5 + ["dev"] * 3 + ["test"] * 2


def test_hash_split_is_stable_when_rows_are_appended() -> None:
    first = _data(1000)
    first.ids = np.asarray([f"user{i}" for i in range(1000)], dtype=object)
    more = _data(1500, seed=2)
    more.ids = np.asarray([f"user{i}" for i in range(1500)], dtype=object)
    spec = SplitSpec(train_dev=0.1, dev=0.2, test=0.2, hash=True)
    a = split_dataset(first, spec, seed=3)
    b = split_dataset(more, spec, seed=3)
    assert (b.assignment[:1000] == a.assignment).all()
    for name, share in {"train": 0.5, "train_dev": 0.1, "dev": 0.2, "test": 0.2}.items():
        assert abs(b.sizes()[name] / 1500 - share) < 0.05, name
    other_seed = split_dataset(first, spec, seed=4)
    assert (other_seed.assignment != a.assignment).any()


def test_hash_split_with_groups_keeps_groups_whole_and_stable() -> None:
    groups = np.repeat(np.arange(300), 3)
    data = _data(900, metadata={"user": groups})
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2, group="user", hash=True), seed=0)
    assert (pd.DataFrame({"g": groups, "s": result.assignment}).groupby("g")["s"].nunique() == 1).all()
    shuffled = np.random.default_rng(0).permutation(900)
    data2 = _data(900, metadata={"user": groups[shuffled]})
    again = split_dataset(data2, SplitSpec(dev=0.2, test=0.2, group="user", hash=True), seed=0)
    by_group = dict(zip(groups, result.assignment, strict=True))
    assert all(by_group[g] == s for g, s in zip(groups[shuffled], again.assignment, strict=True))


def test_eyeball_divides_dev_only() -> None:
    data = _data(1000)
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2, eyeball=0.25), seed=0)
    manifest = result.manifest
    dev = manifest[manifest["set"] == "dev"]
    assert dev["dev_part"].value_counts().to_dict() == {"blackbox": 150, "eyeball": 50}
    assert manifest.loc[manifest["set"] != "dev", "dev_part"].isna().all()
    assert "dev_part" not in split_dataset(data, SplitSpec(), seed=0).manifest.columns


def test_default_fractions_apply_to_strategies_without_fractions() -> None:
    data = _data(100, metadata={"g": np.arange(100) % 50})
    result = split_dataset(data, SplitSpec(group="g"), seed=0)
    assert result.rule.startswith("60/20/20") and "grouped" in result.rule
    assert result.sizes() == {"train": 60, "train_dev": 0, "dev": 20, "test": 20}


def test_same_seed_same_manifest() -> None:
    data = _data(300, metadata={"g": np.arange(300) % 40})
    spec = SplitSpec(dev=0.2, test=0.2, group="g", eyeball=0.5)
    a, b = split_dataset(data, spec, seed=5), split_dataset(data, spec, seed=5)
    pd.testing.assert_frame_equal(a.manifest, b.manifest)


def _message(data: Dataset, spec: SplitSpec) -> str:
    with pytest.raises(DataError) as info:
        split_dataset(data, spec, seed=0)
    return info.value.message


def test_split_errors_name_the_column_and_row() -> None:
    assert _message(_data(10), SplitSpec(group="patient")) == "t.csv: no column 'patient' for the split"
    data = _data(10, metadata={"t": ["2024-01-01"] * 9 + ["soon"]})
    assert _message(data, SplitSpec(time="t")) == (
        "t.csv: time column 't': value 'soon' at row 10 (1-based) is not a date, time or number"
    )
    data = _data(4, metadata={"g": [1.0, np.nan, 2.0, 3.0]})
    assert (
        _message(data, SplitSpec(group="g"))
        == "t.csv: group column 'g' has 1 missing value(s), first at row 2 (1-based)"
    )
    data = _data(20, metadata={"g": [0, 1] * 10})
    assert _message(data, SplitSpec(group="g")) == (
        "t.csv: group column 'g' has 2 group(s), too few for 3 sets (train, dev, test)"
    )
    data = _web_phone(20, 0)
    assert _message(data, SplitSpec(target_distribution={"column": "source", "value": "phone"})) == (
        "t.csv: target_distribution: no rows with source = 'phone' (values: web)"
    )
    data = _data(10, metadata={"t": [1] * 10})
    assert _message(data, SplitSpec(time="t", stratify=False)) == (
        "t.csv: time column 't' has too few distinct times: dev, test would be empty"
    )


def test_spec_refuses_fractions_over_one_and_mixed_rules() -> None:
    with pytest.raises(ValueError, match=r"add up to 1\.1"):
        SplitSpec(train=0.7, dev=0.2, test=0.2)
    with pytest.raises(ValueError, match="time cannot be combined with group or hash"):
        SplitSpec(time="t", group="g")
    with pytest.raises(ValueError, match="of the target rows, leaving none for train"):
        SplitSpec(dev=0.5, test=0.5 - 1e-9 + 0.1, target_distribution={"column": "s", "value": "p"})
