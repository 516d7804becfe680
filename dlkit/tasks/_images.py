"""What the image tasks with structured labels share: the image size and safe column names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlkit.data.dataset import Dataset


def image_size(data: Dataset) -> tuple[int, int]:
    """``(height, width)`` of the data's images."""
    shape = data.input_shape
    return int(shape[0]), int(shape[1])


def column_name(value: object) -> str:
    """A class or point name as a column and MLflow metric name part (letters, digits, _)."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", str(value)).strip("_") or "_"
