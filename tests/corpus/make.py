"""The corpus's files that are not kept as text: binary data, an oversized recipe, a Keras model.

:func:`make` writes them into a copy of the corpus folder (the test's), so the repository holds
only readable files and this code says exactly what each binary file is.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd


def _png(path: Path, value: int) -> None:
    """A 2x2 grey PNG of one value (written by hand: no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([value, value]) for _ in range(2))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog")) -> None:
    for k, name in enumerate(classes):
        for i in range(4):
            _png(root / name / f"{i}.png", 40 * k + 10 * i)


def big_recipe(folder: Path) -> None:
    """``recipes/too-big.yaml``: a valid-looking recipe padded past 1 MiB with comments."""
    text = "name: c\ndata:\n  source: {type: sklearn, name: iris}\nmodel: {type: mlp}\n"
    (folder / "recipes" / "too-big.yaml").write_text(text + ("# padding\n" * 160_000), encoding="utf-8")


def data(folder: Path) -> None:
    """Parquet, npz, image folders and a fake model file under ``data/``."""
    out = folder / "data"
    n = 40
    good = pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.ones(n), "y": ["x", "z"] * (n // 2)})
    frame = good.copy()
    frame.loc[5, "b"] = np.inf
    frame.to_parquet(out / "inf.parquet")
    frame = good.copy()
    frame["a"] = [str(v) for v in frame["a"]]
    frame.loc[37, "a"] = "n/k"
    frame.to_parquet(out / "text-feature.parquet")
    (out / "csv-inside.parquet").write_text((out / "good.csv").read_text())

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    y = np.array([0, 1] * 5)
    with_nan = x.copy()
    with_nan[3, 1] = np.nan
    np.savez(out / "nan.npz", x=with_nan, y=y)
    with_inf = x.copy()
    with_inf[7, 0] = np.inf
    np.savez(out / "inf.npz", x=with_inf, y=y)
    np.savez(out / "no-x.npz", inputs=x, y=y)
    np.savez(out / "short-y.npz", x=x, y=y[:5])
    np.savez(out / "object.npz", x=np.array([[1, "a"]] * 10, dtype=object), y=y)
    np.savez(out / "flat.npz", x=x[:, 0], y=y)
    np.savez(out / "table.npz", x=x, y=y)
    (out / "text.npz").write_text("x,y\n1,2\n")

    _image_folder(out / "imgs-fake")
    (out / "imgs-fake" / "cat" / "fake.png").write_text("text in disguise")
    _image_folder(out / "imgs-stray")
    (out / "imgs-stray" / "labels.csv").write_text("file,label\n")
    _image_folder(out / "imgs-one", ("cat",))
    _image_folder(out / "imgs-empty", ("cat",))
    (out / "imgs-empty" / "dog").mkdir()
    _image_folder(out / "imgs-txt")
    (out / "imgs-txt" / "cat" / "notes.txt").write_text("not an image")
    (out / "not-a-model.keras").write_text("not a model")


def keras_lambda(folder: Path) -> None:
    """``data/lambda.keras``: a saved model with a Lambda layer (Keras's safe mode refuses it)."""
    import keras

    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="hidden")(inputs)
    x = keras.layers.Lambda(lambda t: t * 2, name="double")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(x)
    keras.Model(inputs, outputs).save(folder / "data" / "lambda.keras")


MAKERS = {"big": big_recipe, "data": data, "keras": keras_lambda}


def make(folder: Path, what: str) -> None:
    """Write the files ``what`` (big, data or keras) names into the corpus copy at ``folder``."""
    MAKERS[what](folder)
