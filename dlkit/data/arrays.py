"""NumPy ``.npz`` sources: arrays ``x`` and ``y`` (tables, sequences or images) and optional ids."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._naming import did_you_mean
from dlkit._spec import Spec
from dlkit.data._common import (
    data_row,
    duplicate_id,
    encode_target,
    hash_file,
    no_labels,
    require_file,
    resolve,
    row_hashes,
)
from dlkit.data.dataset import Dataset, Kind, Labels, Task, task_rules
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

_KIND_BY_NDIM: dict[int, Kind] = {2: "tabular", 3: "sequence", 4: "image"}


class NpzSource(Spec):
    """A NumPy ``.npz`` file with an input array and a label array of the same length.

    ``x`` of shape `(n, features)` is a table, `(n, timesteps, features)` a sequence and
    `(n, height, width, channels)` an image set. Other 1-D arrays of length n can serve as split
    columns (group, time, source).
    """

    type: Literal["npz"] = "npz"
    path: Path = Field(description="Relative paths are taken from the recipe's folder.")
    x: str = Field(default="x", description="Name of the input array.")
    y: str = Field(
        default="y",
        description="Name of the label array: `(n,)`, `(n, timesteps)` of per-step labels "
        "(task sequence_labeling, sequence x only), `(n,)` strings read left to right (task ctc); "
        "for images `(n, 5)` class and box in pixels (localization), `(n, points, 2)` x, y in pixels "
        "(landmarks), `(n, height, width)` class indices (segmentation).",
    )
    ids: str | None = Field(
        default=None, description="Name of an id array `(n,)`; the row number when absent."
    )
    kind: Literal["tabular", "sequence", "image"] | None = Field(
        default=None, description="Inferred from x's rank when absent: 2 table, 3 sequence, 4 images."
    )
    classes: list[str | int] | None = Field(
        default=None,
        description="The expected labels in index order; any other label is an error. Landmarks: "
        "the points' names, in order; segmentation: the name of each class index.",
    )
    padding_label: int | str = Field(
        default=-1,
        description="Per-step labels `(n, timesteps)`: this label marks a step with no label "
        "(padding); it is masked from the loss and the metrics.",
    )

    #: the task per-step labels `(n, timesteps)` are, when the recipe does not say data.task
    step_task: ClassVar[Task] = "sequence_labeling"


class SequenceSource(NpzSource):
    """An ``.npz`` of sequences: ``x`` shaped `(n, timesteps, features)` (checked)."""

    type: Literal["sequence"] = "sequence"  # type: ignore[assignment]  # a narrower tag
    kind: Literal["sequence"] | None = "sequence"  # type: ignore[assignment]


def npz_array(
    arrays: np.lib.npyio.NpzFile, name: str, path: Path, role: str, hint: str | None = None
) -> np.ndarray:
    """The array ``name`` of an open npz, read without pickle; a one-line error naming the file.

    Args:
        arrays: the archive, from :func:`open_npz`.
        name: the array.
        path: the file, for messages.
        role: what the array holds, for messages ("input", "label", ...).
        hint: what the archive should hold (default: the arrays it has).
    """
    if name not in arrays.files:
        raise DataError(
            f"{path}: no {role} array '{name}'.{did_you_mean(name, arrays.files)}",
            hint=hint or f"arrays are: {', '.join(arrays.files) or 'none'}",
        )
    try:
        return np.asarray(arrays[name])
    except ValueError as exc:  # object arrays need pickle, which is never enabled
        raise DataError(
            f"{path}: array '{name}' cannot be read without pickle ({exc})",
            hint="save strings as a fixed-width array: np.asarray(values, dtype=str)",
        ) from None


def open_npz(path: Path) -> np.lib.npyio.NpzFile:
    """The ``.npz`` archive at ``path``, opened without pickle; a one-line error for anything else."""
    require_file(path)
    if not zipfile.is_zipfile(path):  # np.load would take any other bytes for pickled data
        with path.open("rb") as f:
            npy = f.read(6) == b"\x93NUMPY"
        what = "a single .npy array" if npy else "not a zip archive, as numpy.savez writes"
        raise DataError(f"{path}: expected an .npz archive of named arrays (got {what})")
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read as npz: {str(exc).splitlines()[0]}") from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: expected an .npz archive of named arrays (got a single .npy array)")
    return arrays


def load_npz(
    spec: NpzSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Load ``x``, ``y`` (and ids, split columns) from an ``.npz`` file; never unpickles.

    With ``labels="optional"`` an archive without the label array loads unlabelled.
    """
    path = resolve(spec.path, base_dir)
    arrays = open_npz(path)
    with arrays:
        x = npz_array(arrays, spec.x, path, "input")
        labelled = labels != "optional" or spec.y in arrays.files
        y_raw = npz_array(arrays, spec.y, path, "label") if labelled else np.zeros(len(x))
        ids = npz_array(arrays, spec.ids, path, "id") if spec.ids else np.arange(len(x))
        extra = {c: npz_array(arrays, c, path, "split") for c in columns}
    n = len(x)
    if n == 0:
        raise DataError(f"{path}: array '{spec.x}' has no examples")
    if x.ndim not in _KIND_BY_NDIM:
        raise DataError(
            f"{path}: array '{spec.x}' has shape {x.shape}; expected (n, features), "
            "(n, timesteps, features) or (n, height, width, channels)"
        )
    kind = spec.kind or _KIND_BY_NDIM[x.ndim]
    wanted = {"tabular": 2, "sequence": 3, "image": 4}[kind]
    if x.ndim != wanted:
        expected = {2: "(n, features)", 3: "(n, timesteps, features)", 4: "(n, height, width, channels)"}
        raise DataError(f"{path}: array '{spec.x}' has shape {x.shape}; {kind} expects {expected[wanted]}")
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise DataError(f"{path}: array '{spec.x}' is not numeric (dtype {x.dtype})")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x.reshape(n, -1)).all(axis=1)
    if bad.any():
        raise DataError(
            f"{path}: array '{spec.x}' has {int(bad.sum())} example(s) with NaN or infinite values, "
            f"first at {data_row(int(np.flatnonzero(bad)[0]))}"
        )
    shaped = None  # labels in the task's own shape: a class and box, keypoints, masks
    if task is not None:
        from dlkit.tasks import task_for

        where = f"{path}: array '{spec.y}'"
        shaped = task_for(task).array_labels(y_raw if labelled else None, x.shape, spec.classes, where)
    # labels (n, timesteps): given so, or the task reads them so (its shape error then says what)
    per_step = shaped is None and (y_raw.ndim == 2 or (task is not None and task_rules(task).step_labels))
    if not labelled and per_step:  # every step of every sequence predicted
        y_raw = np.full(x.shape[:2], (spec.classes or [0])[0])
    per_example = {
        **({} if per_step or shaped is not None else {spec.y: y_raw}),
        **({spec.ids: ids} if spec.ids else {}),
        **extra,
    }
    for name, a in per_example.items():
        if a.shape != (n,):
            raise DataError(f"{path}: array '{name}' has shape {a.shape}; expected ({n},) like '{spec.x}'")
    if spec.ids and pd.Series(ids).duplicated().any():
        dup = pd.Series(ids).duplicated().to_numpy()
        raise DataError(duplicate_id(ids, dup, f"{path}: id array '{spec.ids}'"))
    if shaped is not None and task is not None:
        (y, classes), found = shaped, task
    elif per_step:
        from dlkit.data.sequence_labels import encode_step_labels

        y, found, classes = encode_step_labels(y_raw, x.shape, task, spec, path)
    elif not labelled:
        y, found, classes = no_labels(task, n, f"{path}: array '{spec.y}'", spec.classes)
    else:
        y, found, classes = encode_target(pd.Series(y_raw), task, f"{path}: array '{spec.y}'", spec.classes)
    return Dataset(
        x=x,
        y=y,
        ids=ids,
        task=found,
        kind=kind,
        classes=classes,
        content_hash=hash_file(path),
        description=str(path),
        metadata=pd.DataFrame(extra),
        input_hashes=row_hashes(x),
        labelled=labelled,
        # rows with their own ids are different examples (the leakage check)
        options={"id_column": spec.ids} if spec.ids else {},
    )
