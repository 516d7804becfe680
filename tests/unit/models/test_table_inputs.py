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
    # the features: scaled number, its missing flag, c one-hot (OOV, a, missing), date parts, date flag
    assert out.shape == (6, 1 + 1 + 3 + 4 + 1)
    assert out[1, 0] == 0.0 and out[1, 1] == 1.0  # imputed with the median: 0 once scaled
    assert out[3, 2:5].tolist() == [1.0, 0.0, 0.0]  # 'b' was never seen in train: OOV
    assert out[2, 2:5].tolist() == [0.0, 0.0, 1.0]  # missing is a value of its own


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
