"""Labels of image tasks that are not one value per example: a class and a box, keypoints, masks.

Array sources give them in pixels of the input image; they are held normalised so the model
learns the same numbers whatever the image size:

- ``localization``: `(n, 5)` = class label, then the box ``x_min, y_min, x_max, y_max`` in
  pixels; held as class index and box divided by width and height (in [0, 1]).
- ``landmarks``: `(n, k, 2)` = k points ``(x, y)`` in pixels, in a fixed order; held as
  `(n, 2k)` = ``x0, y0, x1, y1, ...`` divided by width and height.
- ``segmentation``: `(n, height, width)` class indices per pixel, the image's height and width;
  held as int32.

Without labels (``dlkit predict``) each gives zeros of the right shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlkit.errors import DataError


def _image_size(x_shape: tuple[int, ...], where: str, task: str) -> tuple[int, int]:
    if len(x_shape) != 4:
        raise DataError(
            f"{where}: task {task} takes images (n, height, width, channels), got inputs {x_shape}"
        )
    return int(x_shape[1]), int(x_shape[2])


def _finite(y: np.ndarray, where: str) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.number):
        raise DataError(f"{where}: expected numbers (dtype {y.dtype})")
    y = y.astype(np.float64)
    bad = ~np.isfinite(y.reshape(len(y), -1)).all(axis=1)
    if bad.any():
        raise DataError(f"{where}: NaN or infinite values, first at row {int(np.flatnonzero(bad)[0])}")
    return y


def class_boxes(
    y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
) -> tuple[np.ndarray, list[object]]:
    """Encode ``(class, x_min, y_min, x_max, y_max)`` rows; classes sorted, or as given.

    Raises:
        DataError: not `(n, 5)`, a box outside the image or with max <= min, an unknown class.
    """
    h, w = _image_size(x_shape, where, "localization")
    n = x_shape[0]
    if y is None:
        if not classes:
            raise DataError(f"{where}: no labels, and no trained classes to predict")
        return np.zeros((n, 5), np.float32), list(classes)
    if y.shape != (n, 5):
        raise DataError(
            f"{where} has shape {y.shape}; localization expects ({n}, 5): class, x_min, y_min, x_max, y_max "
            "(pixels)"
        )
    y = _finite(y, where)
    labels = y[:, 0]
    if not np.all(labels == np.round(labels)):
        raise DataError(f"{where}: column 0 (the class) must hold integers")
    found = sorted({int(v) for v in labels})
    names: list[object] = list(classes) if classes is not None else [int(v) for v in found]
    index = {str(c): i for i, c in enumerate(names)}
    unknown = [v for v in found if str(v) not in index]
    if unknown:
        raise DataError(f"{where}: class {unknown[0]} is not one of the classes {names!r}")
    box = y[:, 1:]
    bad = (box[:, 0] >= box[:, 2]) | (box[:, 1] >= box[:, 3])
    bad |= (box[:, [0, 1]] < 0).any(axis=1) | (box[:, 2] > w) | (box[:, 3] > h)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: row {row}: box {box[row].tolist()} is not inside the {w}x{h} image with "
            "x_min < x_max and y_min < y_max"
        )
    out = np.empty((n, 5), np.float32)
    out[:, 0] = [index[str(int(v))] for v in labels]
    out[:, 1:] = box / np.array([w, h, w, h], dtype=np.float64)
    return out, names


def keypoints(
    y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
) -> tuple[np.ndarray, list[object]]:
    """Encode points `(n, k, 2)`; the classes are the points' names (``point_0`` ... when absent).

    Raises:
        DataError: not `(n, k, 2)`, a point outside the image, names that do not match k.
    """
    h, w = _image_size(x_shape, where, "landmarks")
    n = x_shape[0]
    if y is None:
        if not classes:
            raise DataError(f"{where}: no labels, and no trained point names to predict")
        return np.zeros((n, 2 * len(classes)), np.float32), list(classes)
    if y.ndim != 3 or y.shape[0] != n or y.shape[2] != 2:
        raise DataError(
            f"{where} has shape {y.shape}; landmarks expects ({n}, points, 2): each point's x, y (pixels)"
        )
    k = y.shape[1]
    names: list[object] = list(classes) if classes is not None else [f"point_{i}" for i in range(k)]
    if len(names) != k:
        raise DataError(f"{where}: {k} points per example, but data.source.classes names {len(names)}")
    y = _finite(y, where)
    outside = (y[..., 0] < 0) | (y[..., 0] > w) | (y[..., 1] < 0) | (y[..., 1] > h)
    if outside.any():
        row, point = (int(i) for i in np.argwhere(outside)[0])
        raise DataError(
            f"{where}: row {row}: point {names[point]} {y[row, point].tolist()} is outside the {w}x{h} image"
        )
    return (y / np.array([w, h])).reshape(n, 2 * k).astype(np.float32), names


def class_masks(
    y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
) -> tuple[np.ndarray, list[object]]:
    """Check masks `(n, height, width)` of class indices; the classes name the indices (0, 1, ...
    up to the largest index when absent).

    Raises:
        DataError: another shape than the images', indices that are no integers or not below the
            number of classes.
    """
    h, w = _image_size(x_shape, where, "segmentation")
    n = x_shape[0]
    if y is None:
        if not classes:
            raise DataError(f"{where}: no masks, and no trained classes to predict")
        return np.zeros((n, h, w), np.int32), list(classes)
    if y.shape != (n, h, w):
        raise DataError(
            f"{where} has shape {y.shape}; segmentation expects masks ({n}, {h}, {w}) like the images"
        )
    integers = np.issubdtype(y.dtype, np.integer)
    if not integers and (not np.issubdtype(y.dtype, np.number) or not np.all(y == np.round(y))):
        raise DataError(f"{where}: masks must hold class indices, integers (dtype {y.dtype})")
    top = int(y.max()) if y.size else 0
    names: list[object] = list(classes) if classes is not None else list(range(max(top + 1, 2)))
    bad = (y < 0) | (y >= len(names))
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(n, -1).any(axis=1))[0])
        raise DataError(
            f"{where}: row {row}: class index {int(y[row][bad[row]][0])} is not in 0..{len(names) - 1} "
            f"({len(names)} classes)"
        )
    return y.astype(np.int32), names


# -- labels read from an image CSV (dlkit.data.image_csv): one row per image, lines named ------

BOX_COLUMNS = ("class", "x_min", "y_min", "x_max", "y_max")


def _numbers(frame: pd.DataFrame, names: Sequence[str], where: str) -> np.ndarray:
    """The columns ``names`` as floats `(n, len(names))`; a value that is no number names its line."""
    out = np.empty((len(frame), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        values = pd.to_numeric(frame[name], errors="coerce")
        bad = frame[name].notna() & values.isna()
        if bad.any():
            line = frame.index[int(np.flatnonzero(bad.to_numpy())[0])]
            raise DataError(f"{where}: line {line}: {name} is not a number ({frame.at[line, name]!r})")
        out[:, j] = values.to_numpy(dtype=np.float64)
    return out


def _columns(frame: pd.DataFrame, expected: Sequence[str], layout: str, where: str) -> None:
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)} ({layout})")
    extra = [str(c) for c in frame.columns if c not in expected]
    if extra:
        raise DataError(f"{where}: unexpected column '{extra[0]}' ({layout})")


def csv_class_boxes(
    frame: pd.DataFrame,
    images: pd.Series,
    sizes: np.ndarray,
    x_shape: tuple[int, ...],
    classes: list[Any] | None,
    where: str,
) -> tuple[np.ndarray, list[object]]:
    """``class, x_min, y_min, x_max, y_max`` per image (pixels of the image as stored), encoded by
    :func:`class_boxes` after scaling to the resized images.

    Args:
        frame: the label columns, indexed by the CSV's line numbers.
        images: each row's image name (for messages).
        sizes: `(n, 2)` each image's stored ``(width, height)``.
        x_shape: the resized images' shape `(n, height, width, channels)`.
        classes: the class names in index order, or None (the sorted names found).
        where: the CSV, for messages.

    Raises:
        DataError: a missing column, a missing class, a coordinate that is no number, a box
            outside its image or with max <= min, a class not in ``classes`` (each naming its line).
    """
    layout = "localization expects image, class, x_min, y_min, x_max, y_max: one box per image"
    _columns(frame, BOX_COLUMNS, layout, where)
    box = _numbers(frame, BOX_COLUMNS[1:], where)
    lines = frame.index
    empty = frame["class"].isna().to_numpy() | np.isnan(box).any(axis=1)
    if empty.any():
        raise DataError(
            f"{where}: line {lines[int(np.flatnonzero(empty)[0])]}: a class and all four coordinates needed"
        )
    w, h = sizes[:, 0:1].astype(np.float64), sizes[:, 1:2].astype(np.float64)
    bad = (box[:, 0] >= box[:, 2]) | (box[:, 1] >= box[:, 3]) | (box < 0).any(axis=1)
    bad |= (box[:, 2] > w[:, 0]) | (box[:, 3] > h[:, 0])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: line {lines[i]}: box {box[i].tolist()} is not inside the {sizes[i, 0]}x{sizes[i, 1]} "
            f"image '{images.iloc[i]}' with x_min < x_max and y_min < y_max (pixels)"
        )
    values = frame["class"].tolist()
    names: list[object] = list(classes) if classes is not None else sorted(set(values))
    index = {str(c): i for i, c in enumerate(names)}
    unknown = [i for i, v in enumerate(values) if str(v) not in index]
    if unknown:
        i = unknown[0]
        raise DataError(
            f"{where}: line {lines[i]}: class {values[i]!r} is not one of data.source.classes {names!r}"
        )
    height, width = int(x_shape[1]), int(x_shape[2])
    raw = np.empty((len(frame), 5), dtype=np.float64)
    raw[:, 0] = [index[str(v)] for v in values]
    # stored pixels -> pixels of the resized image (divided first: a box to the edge stays there)
    raw[:, 1:] = box / np.hstack([w, h, w, h]) * np.array([width, height, width, height])
    y, _ = class_boxes(raw, x_shape, list(range(len(names))), where)
    return y, names


def csv_keypoints(
    frame: pd.DataFrame,
    images: pd.Series,
    sizes: np.ndarray,
    x_shape: tuple[int, ...],
    classes: list[Any] | None,
    where: str,
) -> tuple[np.ndarray, list[object]]:
    """Points ``x1, y1, x2, y2, ..., xk, yk`` per image (pixels of the image as stored, in one
    order), encoded by :func:`keypoints` after scaling to the resized images.

    Arguments as :func:`csv_class_boxes`.

    Raises:
        DataError: columns that are not x1, y1 ... xk, yk, a row without all k points, a
            coordinate that is no number or outside its image (each naming its line).
    """
    numbered = [int(str(c)[1:]) for c in frame.columns if str(c)[:1] in "xy" and str(c)[1:].isdigit()]
    k = max(numbered, default=0)
    expected = [f"{axis}{i}" for i in range(1, k + 1) for axis in "xy"]
    layout = "landmarks expects image, x1, y1, x2, y2, ..., xk, yk: every image's points in one order"
    if not k:
        raise DataError(f"{where}: no point columns x1, y1 ({layout})")
    _columns(frame, expected, layout, where)
    xy = _numbers(frame, expected, where).reshape(len(frame), k, 2)
    lines = frame.index
    given = (~np.isnan(xy).any(axis=2)).sum(axis=1)
    short = np.flatnonzero(np.isnan(xy).any(axis=(1, 2)))
    if len(short):
        i = int(short[0])
        raise DataError(
            f"{where}: line {lines[i]}: {int(given[i])} of {k} points (every image needs all {k}, x and y)"
        )
    w, h = sizes[:, 0].astype(np.float64), sizes[:, 1].astype(np.float64)
    outside = (xy[..., 0] < 0) | (xy[..., 0] > w[:, None]) | (xy[..., 1] < 0) | (xy[..., 1] > h[:, None])
    if outside.any():
        i, point = (int(v) for v in np.argwhere(outside)[0])
        line, what = lines[i], f"point {point + 1}"
        point_lines = frame.attrs.get("point_lines")  # the long layout's (wide_points): a line a point
        if point_lines is not None:
            line, what = point_lines[i, point], "point"
        raise DataError(
            f"{where}: line {line}: {what} {xy[i, point].tolist()} is outside the "
            f"{sizes[i, 0]}x{sizes[i, 1]} image '{images.iloc[i]}'"
        )
    height, width = int(x_shape[1]), int(x_shape[2])
    scaled = xy / np.stack([w, h], axis=1)[:, None, :] * np.array([width, height])
    return keypoints(scaled, x_shape, classes, where)


POINT_COLUMNS = ("image", "point", "x", "y")


def wide_points(
    frame: pd.DataFrame, classes: list[Any] | None, where: str
) -> tuple[pd.DataFrame, list[Any] | None]:
    """The long landmarks layout ``image, point, x, y`` (one row per point) made wide, as
    :func:`csv_keypoints` reads it: one row per image, ``image, x1, y1, ..., xk, yk``.

    A point is an index (an integer: the points in increasing order, named by ``classes`` as the
    wide form's are) or a name (in the order of ``classes``, sorted when absent), as
    ``pandas.pivot`` would order them; every image has each point once.

    Args:
        frame: the CSV, indexed by its line numbers.
        classes: the recipe's (or the trained run's) point names, or None.
        where: the CSV, for messages.

    Returns:
        The wide frame (images in order of first appearance, indexed by their first line; the
        line of each image's every point in ``attrs["point_lines"]`` `(n, k)`, for messages) and
        the points' names (None: ``point_0`` ... as the wide form's).

    Raises:
        DataError: other columns, an empty point, x or y missing or no number, a point name not in
            ``classes``, an image with a point twice or without one (each naming its line).
    """
    layout = "landmarks long form expects image, point, x, y: one row per point"
    _columns(frame, POINT_COLUMNS, layout, where)
    lines = frame.index
    points = frame["point"]
    empty = points.isna().to_numpy() | (points.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise DataError(f"{where}: line {lines[int(np.flatnonzero(empty)[0])]}: column 'point' is empty")
    xy = _numbers(frame, ("x", "y"), where)
    missing = np.isnan(xy).any(axis=1)
    if missing.any():
        raise DataError(f"{where}: line {lines[int(np.flatnonzero(missing)[0])]}: x and y needed")
    numeric = pd.api.types.is_numeric_dtype(points)
    if numeric and not np.all(points.to_numpy() == np.round(points.to_numpy())):
        i = int(np.flatnonzero(points.to_numpy() != np.round(points.to_numpy()))[0])
        raise DataError(
            f"{where}: line {lines[i]}: point {float(points.iloc[i]):g} is no index (an integer) nor a name"
        )
    keys: list[Any] = [int(v) for v in points] if numeric else [str(v).strip() for v in points]
    names: list[Any] | None = list(classes) if classes is not None else None
    if numeric or names is None:
        order = sorted(set(keys))
    else:
        order = [str(c) for c in names]
        unknown = [i for i, key in enumerate(keys) if key not in order]
        if unknown:
            i = unknown[0]
            raise DataError(
                f"{where}: line {lines[i]}: point {keys[i]!r} is not one of data.source.classes {names!r}"
            )
    if names is None and not numeric:
        names = list(order)
    position = {key: j for j, key in enumerate(order)}
    codes, images = pd.factorize(frame["image"])
    n, k = len(images), len(order)
    point_lines = np.zeros((n, k), dtype=np.int64)
    out = np.full((n, k, 2), np.nan)
    for row, (i, key) in enumerate(zip(codes, keys, strict=True)):
        j = position[key]
        if point_lines[i, j]:
            raise DataError(
                f"{where}: line {lines[row]}: image '{images[i]}' has point {key!r} twice "
                f"(first on line {point_lines[i, j]})"
            )
        point_lines[i, j] = lines[row]
        out[i, j] = xy[row]
    first = pd.Series(lines).groupby(codes).min().to_numpy()
    absent = np.argwhere(point_lines == 0)
    if len(absent):
        i, j = (int(v) for v in absent[0])
        raise DataError(
            f"{where}: line {first[i]}: image '{images[i]}' has no point {order[j]!r} (every image needs "
            f"all {k} points: {', '.join(str(o) for o in order)})"
        )
    wide = pd.DataFrame(out.reshape(n, 2 * k), columns=[f"{a}{j}" for j in range(1, k + 1) for a in "xy"])
    wide.insert(0, "image", np.asarray(images, dtype=object))
    wide.index = pd.Index(first)
    wide.attrs["point_lines"] = point_lines
    return wide, names


TEXT = "text"


def csv_text_labels(
    frame: pd.DataFrame,
    images: pd.Series,
    sizes: np.ndarray,
    x_shape: tuple[int, ...],
    classes: list[Any] | None,
    where: str,
) -> tuple[np.ndarray, list[object]]:
    """``text`` per image (task ctc: the string written in it, read left to right), encoded by
    :func:`dlkit.data.text_labels.encode_text_labels` as an npz's strings are.

    Arguments as :func:`csv_class_boxes`; the text is read as written (``0071`` keeps its zeros,
    ``NA`` is a word).

    Raises:
        DataError: columns other than ``text``, an empty text, a character outside
            ``classes`` (each naming its line).
    """
    from dlkit.data.text_labels import encode_text_labels

    _columns(frame, (TEXT,), "ctc expects image, text: the string written in each image", where)
    texts = [str(v) if isinstance(v, str) else "" for v in frame[TEXT]]
    lines = frame.index
    empty = [i for i, text in enumerate(texts) if not text]
    if empty:
        raise DataError(
            f"{where}: line {lines[empty[0]]}: text is empty (task ctc expects at least one character)"
        )
    alphabet = [str(c) for c in classes] if classes is not None else None
    if alphabet is not None and all(len(c) == 1 for c in alphabet):  # else encode_text_labels says so
        for i, text in enumerate(texts):
            unknown = [c for c in text if c not in alphabet]
            if unknown:
                raise DataError(
                    f"{where}: line {lines[i]}: character {unknown[0]!r} is not one of data.source.classes "
                    f"{alphabet!r}"
                )
    return encode_text_labels(np.asarray(texts, dtype=str), classes, where)
