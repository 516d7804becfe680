"""A table as named NumPy columns: what the reports read where a pandas frame is not needed.

pandas takes about half a CPU second to import, more than ``dlkit analyze-errors``'s whole
reading of a classification run. The readings that need only whole columns (per-class
metrics, the confusion, the highest losses) take either a pandas DataFrame or a
:class:`Columns`, read alike: ``table["loss"]``, ``"loss" in table``, ``len(table)`` (rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class Columns:
    """Named 1-D NumPy columns of one length.

    Args:
        columns: name -> values `(n,)`, in the table's column order.

    Raises:
        ValueError: columns of different lengths.
    """

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self._columns = dict(columns)
        lengths = {len(values) for values in self._columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self._n = lengths.pop() if lengths else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return self._n

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self._columns)

    def take(self, rows: np.ndarray, names: Sequence[str]) -> Columns:
        """The rows at positions ``rows`` `(k,)`, in that order, of the columns ``names``."""
        return Columns({name: self._columns[name][rows] for name in names})

    def records(self) -> list[dict[str, Any]]:
        """One dict per row, column name -> Python value (as a DataFrame's ``to_dict("records")``)."""
        values = [self._columns[name].tolist() for name in self._columns]
        return [dict(zip(self._columns, row, strict=True)) for row in zip(*values, strict=True)]
