"""Images named by a CSV, with labels in the task's own shape (``image_csv``): one row per image.

The first column ``image`` is a path relative to the CSV's folder; the other columns are the
labels, in pixels of the image as stored, in the layout the task reads
(:meth:`dlkit.tasks.Task.image_csv_labels`):

- ``localization``: ``image, class, x_min, y_min, x_max, y_max`` (one object per image);
- ``landmarks``: ``image, x1, y1, x2, y2, ..., xk, yk`` (the k points in one order for every
  image; named by ``data.source.classes``, ``point_0`` ... when absent), or the long form
  ``image, point, x, y``, one row per point, made wide first
  (:func:`dlkit.data.vision_labels.wide_points`);
- ``ctc``: ``image, text`` (the string written in the image, read as written: ``0071`` keeps
  its zeros), encoded over the alphabet as an npz's strings are.

Images are resized to ``image_size`` and the coordinates with them, then encoded by the task's
:meth:`~dlkit.tasks.Task.array_labels`, as an npz source's are: the same labels whichever the
source. Errors name the CSV's line (line 1 is the header). A CSV with the ``image`` column
alone is unlabelled (``dlkit predict``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Pixels, Spec
from dlkit.data._common import hash_bytes64, resolve
from dlkit.data.dataset import Dataset, Labels, Task
from dlkit.data.images import _MAGIC, decode
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


IMAGE = "image"


class ImageCsvSource(Spec):
    """A CSV of image paths (relative to it) and their labels: a box (localization), points
    (landmarks) or a string (ctc)."""

    type: Literal["image_csv"] = "image_csv"
    path: Path = Field(description="The CSV; relative paths are taken from the recipe's folder.")
    image_size: tuple[Pixels, Pixels] = Field(description="[height, width] every image is resized to.")
    color_mode: Literal["rgb", "grayscale"] = Field(default="rgb", description="3 channels or 1.")
    classes: list[str | int] | None = Field(
        default=None,
        description="Localization: the class names in index order (the sorted names found when absent); "
        "landmarks: the points' names, in order; ctc: the alphabet, single characters.",
    )


def _tasks_reading_csv() -> list[str]:
    from dlkit.tasks import TASKS
    from dlkit.tasks.base import Task as TaskBase

    return [t.name for t in TASKS if type(t).image_csv_labels is not TaskBase.image_csv_labels]


def _stored_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        return opened.size


def load_image_csv(
    spec: ImageCsvSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Read the CSV, its images (resized to ``image_size``) and their labels.

    Raises:
        RecipeError: no ``data.task``, or a task that reads no labels from an image CSV.
        DataError: a missing column or image file, a coordinate that is not a number or lies
            outside its image, an image listed twice, a row without all its points, an empty
            text (each named by its line).
    """
    from dlkit.data.vision_labels import POINT_COLUMNS, TEXT, wide_points
    from dlkit.tasks import task_for

    path = resolve(spec.path, base_dir)
    readers = _tasks_reading_csv()
    if task is None or task not in readers:
        raise RecipeError(
            f"data.task: an image_csv source gives labels for task {', '.join(readers[:-1])} or "
            f"{readers[-1]} (got {task})"
        )
    if columns:
        raise DataError(
            f"{path}: an image CSV has no column '{columns[0]}' for the split (only images and labels)"
        )
    if not path.is_file():
        raise DataError(f"{path}: not found")
    try:
        frame = pd.read_csv(path, dtype={IMAGE: str}, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read as a CSV ({str(exc).splitlines()[0]})") from None
    if IMAGE not in frame.columns:
        raise DataError(
            f"{path}: no column '{IMAGE}' (the first column names each image, relative to the CSV)"
        )
    if frame.empty:
        raise DataError(f"{path}: no rows (one row per image)")
    if TEXT in frame.columns:  # strings as written: '0071' keeps its zeros, 'NA' is a word
        text = pd.read_csv(path, usecols=[TEXT], dtype=str, keep_default_na=False, skipinitialspace=True)
        frame[TEXT] = text[TEXT].to_numpy(dtype=object)
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # the CSV's line numbers: messages name them
    empty = frame[IMAGE].isna() | (frame[IMAGE].str.strip() == "")
    if empty.any():
        raise DataError(
            f"{path}: line {frame.index[int(np.flatnonzero(empty)[0])]}: column '{IMAGE}' is empty"
        )
    classes = list(spec.classes) if spec.classes is not None else None
    if POINT_COLUMNS[1] in frame.columns:  # the long landmarks layout, one row per point
        frame, classes = wide_points(frame, classes, str(path))
    names = frame[IMAGE]
    twice = names.duplicated()
    if twice.any():
        line = int(names.index[int(np.flatnonzero(twice)[0])])
        raise DataError(f"{path}: line {line}: image '{names[line]}' is listed twice (one row per image)")
    height, width = spec.image_size
    channels = 3 if spec.color_mode == "rgb" else 1
    n = len(frame)
    x = np.empty((n, height, width, channels), dtype=np.float32)
    hashes = np.empty(n, dtype=np.uint64)
    sizes = np.zeros((n, 2), dtype=np.int64)
    whole = hashlib.sha256(path.read_bytes())
    files = []
    for i, (line, name) in enumerate(names.items()):
        image_path = path.parent / str(name)
        if not image_path.is_file():
            raise DataError(f"{path}: line {line}: image '{name}' not found in {path.parent}")
        data = image_path.read_bytes()
        if not data.startswith(_MAGIC):
            raise DataError(f"{path}: line {line}: image '{name}' is not a PNG or JPEG image")
        hashes[i] = hash_bytes64(data)
        whole.update(hashlib.sha256(data).digest())
        x[i] = decode(data, image_path, spec.image_size, spec.color_mode)
        sizes[i] = _stored_size(data)
        files.append(str(image_path))
    chosen = task_for(task)
    label_columns = frame.drop(columns=[IMAGE])
    labelled = labels != "optional" or not label_columns.columns.empty
    if labelled:
        shaped = chosen.image_csv_labels(label_columns, names, sizes, x.shape, classes, str(path))
    else:
        shaped = chosen.array_labels(None, x.shape, classes, f"{path}")
    assert shaped is not None  # a task in _tasks_reading_csv() reads both
    y, found = shaped
    return Dataset(
        x=x,
        y=y,
        ids=names.to_numpy(dtype=object),
        task=task,
        kind="image",
        classes=found,
        content_hash=whole.hexdigest(),
        description=str(path),
        input_hashes=hashes,
        files=np.asarray(files, dtype=object),
        options={
            "input_shape": [height, width, channels],
            "image_size": [height, width],
            "channels": channels,
        },
        labelled=labelled,
    )
