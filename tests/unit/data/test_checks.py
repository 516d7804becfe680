"""Leakage (planted duplicates found and dropped) and the dev-vs-test distribution check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlkit.data._common import row_hashes
from dlkit.data.checks import check_distribution, find_leakage
from dlkit.data.dataset import Dataset
from dlkit.data.split import SplitSpec, split_dataset


def _data(x: np.ndarray, y: np.ndarray, **kw) -> Dataset:
    return Dataset(
        x=x.astype(np.float32),
        y=y,
        ids=np.asarray([f"r{i}" for i in range(len(x))], dtype=object),
        task="binary",
        kind="tabular",
        classes=[0, 1],
        content_hash="h",
        description="t.csv",
        input_hashes=row_hashes(x.astype(np.float32)),
        **kw,
    )


def test_planted_duplicates_are_found_counted_and_dropped() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = rng.integers(0, 2, size=400)
    base = split_dataset(_data(x, y), SplitSpec(dev=0.2, test=0.2), seed=0)
    train, dev, test = base.indices("train"), base.indices("dev"), base.indices("test")
    # plant: 6 test rows copied into train rows, 3 dev rows copied into test rows (one with another label)
    x2, y2 = x.copy(), y.copy()
    x2[train[:6]], y2[train[:6]] = x[test[:6]], y[test[:6]]
    x2[test[10:13]], y2[test[10:13]] = x[dev[:3]], y[dev[:3]]
    y2[test[10]] = 1 - y[dev[0]]
    data = _data(x2, y2)
    report = find_leakage(data, base.assignment)
    assert report.pairs == {"train/test": 6, "dev/test": 3}
    assert report.n_inputs == 9 and report.n_rows == 18 and report.n_conflicting == 1
    assert sorted(report.drop.tolist()) == sorted([*train[:6].tolist(), *dev[:3].tolist()])
    assert report.examples[0].keys() <= {"train", "dev", "test"}

    deduped = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=0, dedupe=True)
    assert (deduped.assignment == "dropped").sum() == 9
    assert deduped.sizes()["test"] == base.sizes()["test"]  # test keeps its copies
    assert find_leakage(data, deduped.assignment).n_inputs == 0
    assert deduped.leakage is not None and deduped.leakage.n_inputs == 9  # reported as found
    assert set(deduped.manifest.loc[deduped.manifest["set"] == "dropped", "id"]) == {
        f"r{i}" for i in [*train[:6], *dev[:3]]
    }


def test_duplicates_within_one_set_are_not_leakage() -> None:
    x = np.zeros((50, 2))
    x[:, 0] = np.arange(50)
    x[1] = x[0]
    assignment = np.asarray(["train"] * 30 + ["dev"] * 10 + ["test"] * 10)
    assert find_leakage(_data(x, np.arange(50) % 2), assignment).n_inputs == 0


def test_random_split_dev_and_test_look_alike() -> None:
    rng = np.random.default_rng(0)
    data = _data(rng.normal(size=(3000, 5)), rng.integers(0, 2, size=3000))
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=0)
    report = check_distribution(data, result.assignment)
    assert report.warning is None
    assert [t["what"] for t in report.tests] == ["labels", *[f"feature {i}" for i in range(5)]]


def test_shifted_test_set_gets_a_warning() -> None:
    # time order with a drifting feature: test (the latest rows) differs from dev
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=(n, 3))
    x[:, 2] += np.linspace(0, 3, n)
    data = _data(x, rng.integers(0, 2, size=n), feature_names=["a", "b", "drift"])
    data.metadata = pd.DataFrame({"t": np.arange(n)})
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2, time="t"), seed=0)
    report = check_distribution(data, result.assignment)
    assert report.warning is not None
    assert report.warning.startswith("dev and test may not come from one distribution: drift (KS p = ")
    assert "a (KS" not in report.warning
    from dlkit.data.checks import split_warnings

    [warning] = split_warnings(None, report)
    assert (warning.code, warning.message) == ("dev_test_distribution", report.warning)


def test_source_shares_per_set() -> None:
    rng = np.random.default_rng(0)
    n = 2100
    data = _data(rng.normal(size=(n, 2)), rng.integers(0, 2, size=n))
    data.metadata = pd.DataFrame({"source": ["web"] * 2000 + ["phone"] * 100})
    spec = SplitSpec(target_distribution={"column": "source", "value": "phone"})
    result = split_dataset(data, spec, seed=0)
    report = check_distribution(data, result.assignment, "source")
    assert report.source_column == "source"
    assert report.source_shares["dev"] == {"phone": 1.0}
    assert report.source_shares["train"]["phone"] == 50 / 2050


def test_row_hashes_are_pinned_so_saved_manifests_still_match() -> None:
    # known answers of the first implementation: a change here moves every saved input_hash
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 4
    assert [hex(int(v)) for v in row_hashes(x)] == [
        "0x36d9f57fbe53d016",
        "0x445214518ae858e0",
        "0x93cacb53b7e428d8",
        "0x970bdffa3e0e195c",
    ]
    assert [hex(int(v)) for v in row_hashes(x.astype(np.float64))][:2] == [
        "0xa5a4214a015c3457",
        "0x1075d98064c5ad96",
    ]
    assert [hex(int(v)) for v in row_hashes(np.arange(6, dtype=np.int64).reshape(2, 3))] == [
        "0x1f0c36d27f35f8f8",
        "0xb02e6673883a9f62",
    ]
    # blocks of rows, strided and Fortran-ordered inputs hash the same as one contiguous array
    big = np.random.default_rng(0).normal(size=(70_001, 6)).astype(np.float32)
    whole = row_hashes(np.ascontiguousarray(big[:, ::2]))
    assert (row_hashes(big[:, ::2]) == whole).all()
    assert (row_hashes(np.asfortranarray(big[:, ::2])) == whole).all()
    assert (row_hashes(big[-5:, ::2]) == whole[-5:]).all()
    assert len(np.unique(whole)) == len(whole)


def test_duplicate_search_matches_a_hash_table() -> None:
    from dlkit.data.checks import _repeated

    hashes = np.random.default_rng(1).integers(0, 50, size=200).astype(np.uint64)
    assert (_repeated(hashes) == pd.Series(hashes).duplicated(keep=False).to_numpy()).all()
    assert not _repeated(np.arange(5, dtype=np.uint64)).any()
    assert _repeated(np.empty(0, dtype=np.uint64)).shape == (0,)


def _planted(kind: str = "tabular", **options: object) -> tuple[Dataset, np.ndarray]:
    """10 train, 4 dev, 4 test rows; dev 0 copies train 0 (same target), dev 1 copies train 1's
    features with the other target, test 0 copies train 2 (same target)."""
    x = np.arange(18 * 2, dtype=np.float32).reshape(18, 2)
    y = np.asarray([0, 1] * 9)
    x[10], y[10] = x[0], y[0]
    x[11], y[11] = x[1], 1 - y[1]
    x[14], y[14] = x[2], y[2]
    assignment = np.asarray(["train"] * 10 + ["dev"] * 4 + ["test"] * 4)
    data = _data(x, y, options=dict(options))
    data.kind = kind  # type: ignore[assignment]
    return data, assignment


def test_identical_feature_rows_of_a_table_with_ids_are_counted_not_called_leakage() -> None:
    from dlkit.data.checks import split_warnings

    data, assignment = _planted(id_column="uid")
    report = find_leakage(data, assignment)
    assert report.identity == "features"
    assert (report.n_held_out, report.n_same_target, report.n_other_target) == (3, 2, 1)
    [warning] = split_warnings(report, None)
    assert warning.code == "identical_features"
    assert warning.message == (
        "3 train-dev/dev/test row(s) have feature values identical to a train row: "
        "2 with the same target, 1 with a different target"
    )
    assert "not leakage by itself" in warning.advice and "dedupe" not in warning.advice


def test_a_whole_row_repeated_in_a_table_without_ids_may_be_one_record() -> None:
    from dlkit.data.checks import split_warnings

    data, assignment = _planted()
    [warning] = split_warnings(find_leakage(data, assignment), None)
    assert warning.code == "repeated_rows"
    assert warning.message.endswith("(the table has no id column: the whole row repeats in 2)")
    assert "--dedupe" in warning.advice


def test_identical_images_are_the_same_example_and_called_leakage() -> None:
    from dlkit.data.checks import split_warnings

    data, assignment = _planted(kind="image")
    [warning] = split_warnings(find_leakage(data, assignment), None)
    assert warning.code == "leakage"
    assert warning.message == (
        "3 input(s) sit in more than one set (6 rows, 1 with different labels): "
        "the same example in two sets (leakage)"
    )
    assert warning.advice.startswith("--dedupe (or data.split.dedupe: true) drops 3 copies")
    deduped = split_warnings(find_leakage(data, assignment), None, deduped=True)
    assert deduped[0].advice == "Dedupe dropped 3 copies (kept in test, then dev, then train-dev)."
