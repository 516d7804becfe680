"""Folders of images, one sub-folder per class (PNG or JPEG), resized as the recipe says.

Every file is read once to hash it (the leakage check compares image bytes) and to check that
it is a PNG or JPEG. Loaded eagerly, images are decoded and resized with Pillow; streamed
(``stream: true``, or automatically when the decoded set would pass 1 GiB) only the file list
is kept and ``tf.data`` decodes batch by batch (:func:`dlkit.data.pipeline.make_stream`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Pixels, Spec
from dlkit.data._common import encode_target, hash_bytes64, no_labels, resolve
from dlkit.data.dataset import Dataset, Labels, Task, task_rules
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

EXTENSIONS = (".png", ".jpg", ".jpeg")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
STREAM_BYTES = 1 << 30


class ImageFolderSource(Spec):
    """A folder with one sub-folder of PNG/JPEG images per class (the folder name is the label)."""

    #: the task this source's labels always are (a recipe need not say data.task)
    implied_task: ClassVar[str] = "multiclass"

    type: Literal["images"] = "images"
    path: Path = Field(description="The folder; relative paths are taken from the recipe's folder.")
    image_size: tuple[Pixels, Pixels] = Field(description="[height, width] every image is resized to.")
    color_mode: Literal["rgb", "grayscale"] = Field(default="rgb", description="3 channels or 1.")
    classes: list[str] | None = Field(
        default=None,
        description="Class sub-folders to use, in index order; all sub-folders, sorted, when absent.",
    )
    stream: bool | None = Field(
        default=None,
        description="Decode batch by batch through tf.data instead of loading whole; "
        "automatic when the decoded images would pass 1 GiB.",
    )


def _check_image(p: Path) -> None:
    if p.suffix.lower() not in EXTENSIONS:
        raise DataError(
            f"{p}: not a PNG or JPEG image (expected {', '.join(EXTENSIONS)})",
            hint="remove it, or move it out of the image folder",
        )


def _members(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def list_images(
    spec: ImageFolderSource, root: Path, labels: Labels = "train"
) -> tuple[list[Path], list[str] | None, list[str]]:
    """Image files, their labels and the class names, in a stable order.

    Args:
        spec: the source (``classes``: the class sub-folders and their order).
        root: the folder.
        labels: ``train``: every class has a sub-folder of images; ``required`` (new data for a
            trained model): each sub-folder is one of ``spec.classes``, some may be absent;
            ``optional``: also a folder of images without class sub-folders (no labels: None).

    Raises:
        DataError: a missing folder, a stray file, an empty class, a sub-folder that is no
            class, or a file that is not an image.
    """
    if not root.is_dir():
        raise DataError(f"{root}: folder not found" if not root.exists() else f"{root}: not a folder")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    if labels == "optional" and (not entries or any(not p.is_dir() for p in entries)):
        unlabelled = _members(root)  # images without class sub-folders
        if not unlabelled:
            raise DataError(f"{root}: no images")
        for p in unlabelled:
            _check_image(p)
        return unlabelled, None, list(spec.classes or [])
    if labels != "train":
        known = list(spec.classes or [])
        for p in entries:
            if p.is_dir() and p.name not in known:
                raise DataError(
                    f"{p}: class '{p.name}' was never seen in training (classes: {', '.join(known)})",
                    hint="remove or rename the sub-folder; the model predicts only the classes it learned",
                )
        spec = spec.model_copy(update={"classes": [c for c in known if (root / c).is_dir()]})
        if not spec.classes:
            raise DataError(f"{root}: no class sub-folders (expected some of: {', '.join(known)})")
    for p in entries:
        if not p.is_dir():
            raise DataError(
                f"{p}: expected only class sub-folders in {root} (got a file)",
                hint="put each image in the sub-folder named after its class",
            )
    found = [p.name for p in entries]
    classes = list(spec.classes) if spec.classes is not None else found
    for c in classes:
        if c not in found:
            raise DataError(f"{root}: no sub-folder for class '{c}' (found: {', '.join(found) or 'none'})")
    if len(classes) < 2 and labels == "train":
        raise DataError(f"{root}: classification needs at least 2 class sub-folders (got {classes!r})")
    files: list[Path] = []
    found_labels: list[str] = []
    for c in classes:
        members = _members(root / c)
        if not members:
            raise DataError(f"{root / c}: no images in class '{c}'")
        for p in members:
            _check_image(p)
        files += members
        found_labels += [c] * len(members)
    return files, found_labels, classes


def load_images(
    spec: ImageFolderSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Load (or index, when streamed) a folder of class sub-folders of images.

    New data for a trained model (``labels`` ``required`` or ``optional``) is labelled by the
    trained classes (``spec.classes``); see :func:`list_images`.
    """
    root = resolve(spec.path, base_dir)
    if columns:
        raise DataError(f"{root}: image folders have no column '{columns[0]}' (only class and file)")
    if task is not None and task_rules(task).labels != "categorical":
        raise DataError(
            f"{root}: an image folder gives one class label per image; task {task} needs a table or npz"
        )
    files, found, classes = list_images(spec, root, labels)
    if labels != "train":
        classes = list(spec.classes or [])
    height, width = spec.image_size
    channels = 3 if spec.color_mode == "rgb" else 1
    stream = spec.stream
    if stream is None:
        stream = len(files) * height * width * channels * 4 > STREAM_BYTES
    whole = hashlib.sha256()
    hashes = np.empty(len(files), dtype=np.uint64)
    x = (
        np.zeros((len(files), 0), dtype=np.float32)
        if stream
        else np.empty((len(files), height, width, channels), dtype=np.float32)
    )
    for i, path in enumerate(files):
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            raise DataError(f"{path}: not a PNG or JPEG image (its content is neither)")
        hashes[i] = hash_bytes64(data)
        whole.update(path.relative_to(root).as_posix().encode() + b"\0")
        whole.update(hashlib.sha256(data).digest())
        if not stream:
            x[i] = decode(data, path, spec.image_size, spec.color_mode)
    if found is None:
        y, task, class_list = no_labels(task, len(files), f"{root}", classes)
    else:
        y, task, class_list = encode_target(pd.Series(found), task, f"{root}", list(classes))
    return Dataset(
        x=x,
        y=y,
        ids=np.asarray([p.relative_to(root).as_posix() for p in files], dtype=object),
        task=task,
        kind="image",
        classes=class_list,
        content_hash=whole.hexdigest(),
        description=str(root),
        input_hashes=hashes,
        files=np.asarray([str(p) for p in files], dtype=object),
        stream=stream,
        options={
            "input_shape": [height, width, channels],
            "image_size": [height, width],
            "channels": channels,
        },
        labelled=found is not None,
    )


def decode(data: bytes, path: Path, size: tuple[int, int], color_mode: str) -> np.ndarray:
    """One image as float32 `(height, width, channels)` in [0, 255], resized bilinearly."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            converted = opened.convert("RGB" if color_mode == "rgb" else "L")
            resized = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(resized, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot decode the image ({exc})") from None
    return array[..., np.newaxis] if array.ndim == 2 else array
