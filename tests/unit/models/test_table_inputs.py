"""The model's front of typed columns: statistics from train only, blanks and unseen values, dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlkit.data.columns import TableColumns, model_inputs, type_columns
from dlkit.models import load_model
from dlkit.models.table_inputs import encode_columns, vocabulary


def _columns() -> tuple[list[dict], TableColumns]:
    frame = pd.DataFrame(
        {
            "n": [1.0, np.nan, 3.0, 100.0, 200.0, np.nan],
            "c": ["a", "a", None, "b", "z", "z"],
            "d": ["2013-02-01", "2024-02-29", None, "1999-12-31", "2000-01-01", "2000-01-02"],
        }
    )
    infos, x = type_columns(frame, ["n", "c", "d"], {}, "t.csv")
    return [i.to_dict() for i in infos], x


def _model(columns: list[dict], x: TableColumns, train: np.ndarray):
    import keras

    inputs, features = encode_columns(columns, x, train)
    return keras.Model(inputs, features)


def test_statistics_come_from_train_rows_only() -> None:
    columns, x = _columns()
    train = np.array([0, 1, 2])  # n: 1, NaN, 3 -> median 2; c: a, a, missing; the rest unseen
    model = _model(columns, x, train)
    assert model.get_layer("numbers_impute").values == [2.0]
    norm = model.get_layer("numbers_normalize")
    assert np.allclose(np.ravel(norm.mean), [2.0]) and np.allclose(np.ravel(norm.variance), [2 / 3])
    assert model.get_layer("c_lookup").get_vocabulary() == ["[UNK]", "a", ""]
    assert vocabulary(np.array(["b", "a", "b", ""], dtype=object)) == ["b", "", "a"]
    out = np.asarray(model.predict(x[np.arange(6)], verbose=0))
    # the features: scaled number, its missing flag, c one-hot (OOV, a, missing), date parts, date
    # flag, then the number's bins (edges 1, 2, 3: train's values) and the date parts' bins
    assert model.get_layer("numbers_bins").edges == [[1.0, 2.0, 3.0]]
    n_date_bins = sum(len(e) - 1 for e in model.get_layer("d_bins").edges if e)
    assert out.shape == (6, 1 + 1 + 3 + 4 + 1 + 2 + n_date_bins)
    assert out[1, 10:12].tolist() == [1.0, 0.0]  # imputed 2: the first bin full, the second empty
    assert out[3, 10:12].tolist() == [1.0, 98.0]  # 100: the last bin is open above
    assert out[1, 0] == 0.0 and out[1, 1] == 1.0  # imputed with the median: 0 once scaled
    assert out[3, 2:5].tolist() == [1.0, 0.0, 0.0]  # 'b' was never seen in train: OOV
    assert out[2, 2:5].tolist() == [0.0, 0.0, 1.0]  # missing is a value of its own


def test_piecewise_linear_known_answers() -> None:
    from dlkit.models.layers import PiecewiseLinear

    x = np.array([[-1.0, 7.0], [0.5, 7.0], [2.0, 7.0], [5.0, 7.0]], dtype=np.float32)
    out = np.asarray(PiecewiseLinear([[0.0, 1.0, 3.0], [7.0, 8.0]])(x))
    # the first bin open below, the last open above; a column of fewer than three edges gives nothing
    assert out.tolist() == [[-1.0, 0.0], [0.5, 0.0], [1.0, 0.5], [1.0, 2.0]]


def test_bins_zero_turns_the_encoding_off() -> None:
    from dlkit.data.columns import ColumnSpec
    from dlkit.models.table_inputs import bin_edges

    frame = pd.DataFrame({"n": [1.0, np.nan, 3.0, 100.0], "m": [5.0, 6.0, 7.0, 8.0]})
    infos, x = type_columns(frame, ["n", "m"], {"n": ColumnSpec(bins=0)}, "t.csv")
    model = _model([i.to_dict() for i in infos], x, np.arange(4))
    assert model.get_layer("numbers_bins").edges == [[], [5.0, 6.0, 7.0, 8.0]]
    # quantiles are values of train: a column of two values has no bins, repeats merge
    assert bin_edges(np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 2.0], [1.0, 9.0]]), [4, 4]) == [
        [],
        [1.0, 2.0, 9.0],
    ]


def test_date_parts_known_answers() -> None:
    from dlkit.models.layers import DateParts

    dates = pd.to_datetime(["2013-02-01", "2024-02-29", "1969-12-31", "2000-03-01"])
    since = ((dates - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=np.float32))[:, None]
    parts = np.asarray(DateParts()(since))
    assert parts[:, 1].tolist() == [2013, 2024, 1969, 2000]
    assert parts[:, 2].tolist() == [2, 2, 12, 3]
    assert parts[:, 3].tolist() == [d.weekday() for d in dates]  # 0 = Monday


def test_saved_model_takes_raw_rows_with_blanks_and_unseen_values(workdir: Path) -> None:
    import keras

    columns, x = _columns()
    inputs, features = encode_columns(columns, x, np.arange(6))
    model = keras.Model(inputs, keras.layers.Dense(1)(features))
    model.save(workdir / "m.keras")
    loaded = load_model(workdir / "m.keras")
    raw = pd.DataFrame({"n": [None, 5.0], "c": ["never seen", None], "d": [None, "2001-05-05"]})
    out = np.asarray(loaded.predict(model_inputs(raw, columns), verbose=0))
    assert out.shape == (2, 1) and np.isfinite(out).all()
    same = np.asarray(model.predict(x[np.arange(6)], verbose=0))
    assert np.allclose(np.asarray(loaded.predict(x[np.arange(6)], verbose=0)), same)
