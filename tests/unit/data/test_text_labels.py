"""Unaligned string labels (task ctc): encoding and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlkit.data.arrays import NpzSource, load_npz
from dlkit.data.text_labels import decode_labels
from dlkit.errors import DataError


def _write(folder: Path, labels: list[str]) -> Path:
    x = np.zeros((len(labels), 8, 16, 1), dtype=np.uint8)
    np.savez(folder / "s.npz", x=x, y=np.array(labels))
    return folder / "s.npz"


def test_strings_encode_as_alphabet_indices_plus_one(workdir: Path) -> None:
    _write(workdir, ["31", "4", "1592"])
    data = load_npz(NpzSource(path=Path("s.npz")), "ctc", workdir)
    assert data.task == "ctc" and data.classes == ["1", "2", "3", "4", "5", "9"]
    np.testing.assert_array_equal(data.y, [[3, 1, 0, 0], [4, 0, 0, 0], [1, 5, 6, 2]])
    assert decode_labels(data.y, data.classes) == ["31", "4", "1592"]


def test_bad_string_labels_are_one_line(workdir: Path) -> None:
    _write(workdir, ["12", "3x"])
    with pytest.raises(DataError) as info:
        load_npz(NpzSource(path=Path("s.npz"), classes=list("0123456789")), "ctc", workdir)
    assert info.value.message.endswith(
        "array 'y': character 'x' at row 2 (1-based) is not one of the classes "
        "['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']"
    )
    _write(workdir, ["12", ""])
    with pytest.raises(DataError, match="array 'y': empty label at row 2 \\(1-based\\)"):
        load_npz(NpzSource(path=Path("s.npz")), "ctc", workdir)
