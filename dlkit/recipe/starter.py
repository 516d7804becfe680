"""Starter recipes for ``dlkit init``: a commented recipe for a kind of data, filled in from the data.

With a data file or folder, what the data says goes into the recipe: a table's columns, its
target (a column called label / target / y / class, else the last) and classes; an image
folder's classes, image size and colour mode; an npz file's shapes; a text table's text
column and lengths. Without data, the recipe points at an example that ships with dlkit (a
bundled scikit-learn dataset or a gallery data file), so that it validates and trains as
written. Every starter has a ``tune`` section on the scales of METHODOLOGY §5 (log learning
rate, log 1 - β, log widths).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from dlkit.errors import DataError, RecipeError

Kind = Literal["tabular", "images", "sequences", "text", "seq2seq"]
KINDS: tuple[str, ...] = ("tabular", "images", "sequences", "text", "seq2seq")

TARGET_NAMES = ("label", "target", "y", "class", "outcome", "labels", "targets")
TEXT_NAMES = ("text", "review", "sentence", "document", "comment", "message")
PAIR_INPUTS = ("input", "source", "src", "question", "text")
PAIR_OUTPUTS = ("output", "target", "tgt", "answer", "reversed", "translation")
# rows read to guess types and classes (the whole file is read by dlkit split / train)
SAMPLE_ROWS = 50_000
# a numeric target with at most this many distinct integer values is a class label
MAX_INT_CLASSES = 20
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# tables with more feature columns leave source.features out (all numeric columns are used)
MAX_LISTED_FEATURES = 50


@dataclass
class StarterResult:
    """A starter recipe: its text and what was read from the data to write it."""

    kind: str
    text: str
    notes: list[str] = field(default_factory=list)


def _flow(value: Any) -> str:
    """``value`` as one line of YAML (quoted where a column name needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True, sort_keys=False)
    return str(text).strip().removesuffix("...").strip()  # a scalar is dumped as a document


def _recipe_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-._")[:100]
    return name or "my-recipe"


def kind_from_data(data: Path) -> str:
    """The kind of a data path when ``dlkit init`` is not told: a folder holds images, an npz sequences."""
    if data.is_dir():
        return "images"
    if data.suffix.lower() == ".npz":
        try:
            with np.load(data, allow_pickle=False) as arrays:
                ndim = arrays["x"].ndim if "x" in arrays else 3
        except (OSError, ValueError):
            return "sequences"  # _npz says what is wrong with the file
        return {2: "tabular", 4: "images"}.get(ndim, "sequences")
    return "tabular"


def _relative(data: Path, recipe: Path) -> str:
    """The data path as the recipe should name it: relative to the recipe's folder."""
    data, folder = data.resolve(), recipe.resolve().parent
    try:
        shared = Path(os.path.commonpath([data, folder]))
    except ValueError:  # another drive (Windows)
        return str(data)
    # a path that climbs to the root says less than the absolute one
    return str(data) if shared == Path(shared.anchor) else os.path.relpath(data, folder)


def _read_table(data: Path) -> pd.DataFrame:
    if not data.exists():
        raise DataError(f"{data}: file not found")
    if data.is_dir():
        raise DataError(f"{data}: is a folder; expected a CSV, TSV or Parquet file")
    suffix = data.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(data).head(SAMPLE_ROWS)
        sep = "\t" if suffix == ".tsv" else ","
        return pd.read_csv(data, sep=sep, nrows=SAMPLE_ROWS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise DataError(f"{data}: cannot read it as a table ({exc})") from None


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _target_task(column: pd.Series) -> tuple[str, list[Any] | None]:
    """The task a target column suggests and its classes (None for regression)."""
    values = column.dropna()
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(int)
    numeric = pd.api.types.is_numeric_dtype(values)
    integral = numeric and bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    if numeric and (not integral or values.nunique() > MAX_INT_CLASSES):
        return "regression", None
    classes = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))
    classes = [int(c) if numeric else str(c) for c in classes]
    return ("binary" if len(classes) == 2 else "multiclass"), classes


def _string_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of text (object or string dtype, not numbers or booleans)."""
    return [
        str(c)
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _id_column(frame: pd.DataFrame) -> str | None:
    for column in frame.columns:
        name = str(column).lower()
        if (name == "id" or name.endswith("_id")) and frame[column].is_unique:
            return str(column)
    return None


TUNE_COMMON = """\
tune:                                # dlkit tune FILE  (preview: dlkit tune preview FILE)
  strategy: random
  trials: 20
  rounds: 2                          # round 2 narrows around round 1's best (coarse to fine)
  space:
    train.optimizer.learning_rate: {log: [1.0e-4, 1.0e-1]}     # alpha on a log scale
    train.optimizer.beta_1: {one_minus_log: [0.8, 0.999]}      # 1 - beta on a log scale
    train.batch_size: {choice: [32, 64, 128, 256]}
"""


def _number(value: float) -> str:
    """``3.0e-3`` (YAML 1.1 reads ``3e-3`` without a dot as a string)."""
    return f"{value:.1e}".replace("e-0", "e-")


def _default_metric(task: str) -> str:
    """What the task's ``metrics.optimize`` is when a recipe leaves it out."""
    from dlkit.tasks import task_for

    return task_for(task).default_metric


def _train(epochs: int, lr: float, extra: str = "") -> str:
    return (
        "train:\n"
        f"  epochs: {epochs}\n"
        "  batch_size: 64\n"
        f"  optimizer: {{type: adam, learning_rate: {_number(lr)}}}\n"
        "  early_stopping: {patience: 5}      # stop when val_loss has not improved for 5 epochs\n"
        f"{extra}"
    )


def _tail(name: str, optimize: str | None, space: str) -> str:
    metrics = f"metrics: {{optimize: {optimize}}}\n" if optimize else ""
    return (
        f"{metrics}"
        "# targets: {human_error: 0.01}       # human-level error: dlkit diagnose compares with it\n"
        f"{TUNE_COMMON}{space}"
        f"tracking: {{experiment: {_flow(name)}}}   # the store: sqlite:///mlflow.db here, or tracking.uri\n"
    )


def _header(kind: str, path: Path, data: Path | None, notes: list[str]) -> str:
    lines = [f"# A starter recipe for {kind} data, written by `dlkit init {kind}`."]
    if data is None:
        lines.append(
            "# It trains as written on example data that ships with dlkit: point data.source at yours."
        )
    else:
        lines.append(f"# Filled in from {data}: check the guesses below.")
    lines += [f"#   {' '.join(note.splitlines())}" for note in notes]  # a column name may hold a newline
    lines += [
        f"# Check:  dlkit recipe validate {path}      Split:  dlkit split {path}",
        f"# Train:  dlkit train {path} --set train.epochs=5",
        "# Every field: dlkit recipe schema; models: dlkit models list; examples: dlkit init --list",
    ]
    return "\n".join(lines) + "\n"


def _tabular(path: Path, data: Path | None) -> StarterResult:
    name, notes = _recipe_name(path), []
    if data is None:
        source = (
            "  source: {type: sklearn, name: breast_cancer}   # 569 rows, 30 features, 2 classes\n"
            "  # source: {type: csv, path: my.csv, target: label}   # your table (or type: parquet)\n"
        )
        optimize = "accuracy"
    elif data.suffix.lower() == ".npz":
        return _npz("tabular", path, data)
    else:
        frame = _read_table(data)
        columns = [str(c) for c in frame.columns]
        if len(columns) < 2:
            raise DataError(f"{data}: has {len(columns)} column(s); expected features and a target column")
        target = _pick(columns, TARGET_NAMES) or columns[-1]
        task, classes = _target_task(frame[target])
        id_column = _id_column(frame)
        numeric = [
            c for c in columns if c not in (target, id_column) and pd.api.types.is_numeric_dtype(frame[c])
        ]
        other = [c for c in columns if c not in (target, id_column, *numeric)]
        if not numeric:
            raise DataError(f"{data}: no numeric feature column besides the target '{target}'")
        kind = "parquet" if data.suffix.lower() == ".parquet" else "csv"
        spec: dict[str, Any] = {"type": kind, "path": _relative(data, path), "target": target}
        if kind == "csv" and data.suffix.lower() == ".tsv":
            spec["sep"] = "\t"
        if id_column:
            spec["id_column"] = id_column
        if len(numeric) <= MAX_LISTED_FEATURES:
            spec["features"] = numeric
        if other:
            spec["metadata"] = other  # kept with predictions for reports, never features
            notes.append(f"not numeric, so kept as metadata (not features): {', '.join(other)}")
        whole = len(frame) < SAMPLE_ROWS
        if classes is not None and whole:
            spec["classes"] = classes
        notes.append(f"{len(frame):,} rows read; target '{target}' ({task}), {len(numeric)} numeric features")
        if classes is not None:
            notes.append(
                f"classes: {', '.join(map(str, classes[:20]))}{'' if whole else ' (in the first rows)'}"
            )
        source = f"  source: {_flow(spec)}\n  task: {task}\n"
        optimize = _default_metric(task)
    text = (
        _header("tabular", path, data, notes)
        + f"name: {_flow(name)}\nseed: 0\n"
        + "data:\n"
        + source
        + "  split: {train_dev: 0.05, dev: 0.15, test: 0.15}   # train gets the rest; stratified\n"
        + "model:\n"
        + "  type: mlp                          # dense layers; units: [] is logistic regression\n"
        + "  units: [64, 32]\n"
        + "  dropout: 0.1\n"
        + _train(30, 1e-3)
        + _tail(
            name,
            optimize,
            "    model.units.0: {int: [16, 512], scale: log}            # width on a log scale\n"
            "    model.dropout: {uniform: [0.0, 0.5]}\n",
        )
    )
    return StarterResult("tabular", text, notes)


def _image_folder(data: Path) -> tuple[list[str], tuple[int, int], str, int]:
    from PIL import Image, UnidentifiedImageError

    if not data.is_dir():
        raise DataError(f"{data}: expected a folder with one sub-folder of images per class")
    classes = sorted(p.name for p in data.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(
            f"{data}: found {len(classes)} class folder(s); expected one sub-folder per class (2+)"
        )
    images = [p for c in classes for p in sorted((data / c).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise DataError(f"{data}: no PNG or JPEG images in its class folders")
    try:
        with Image.open(images[0]) as first:
            width, height = first.size
            mode = first.mode
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{images[0]}: cannot read the image ({exc})") from None
    color = "grayscale" if mode in ("L", "1", "I", "I;16", "F") else "rgb"
    return classes, (height, width), color, len(images)


def _images(path: Path, data: Path | None) -> StarterResult:
    name, notes = _recipe_name(path), []
    if data is None:
        source = (
            "  source: {type: sklearn, name: digits}   # 1,797 8x8 grayscale images, 10 classes\n"
            "  # source: {type: images, path: my-folder, image_size: [64, 64], color_mode: rgb}\n"
        )
        size = (8, 8)
    elif data.suffix.lower() == ".npz":
        return _npz("images", path, data)
    else:
        classes, size, color, n = _image_folder(data)
        # small images keep their size; big ones are resized to at most 128 on the long side
        scale = min(1.0, 128 / max(size))
        size_used = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
        notes.append(f"{n:,} images in {len(classes)} classes; first image {size[0]}x{size[1]} ({color})")
        spec: dict[str, Any] = {
            "type": "images",
            "path": _relative(data, path),
            "image_size": list(size_used),
            "color_mode": color,
        }
        spec["classes"] = classes
        source = f"  source: {_flow(spec)}\n"
        size = size_used
    # two 2x2 pools need at least 4 pixels a side; bigger images get a third block
    filters = [32, 64, 128] if min(size) >= 32 else [32, 64]
    text = (
        _header("images", path, data, notes)
        + f"name: {_flow(name)}\nseed: 0\n"
        + "data:\n"
        + source
        + "  split: {train_dev: 0.05, dev: 0.15, test: 0.15}\n"
        + "model:\n"
        + "  type: cnn                          # or a classic network: dlkit models list\n"
        + f"  filters: {_flow(filters)}          # one 3x3 conv + 2x2 max pool block each\n"
        + "  dense: [64]\n"
        + "  dropout: 0.2\n"
        + _train(20, 1e-3, "  # augment: {flip: horizontal, rotation: 0.05}   # training only\n")
        + _tail(
            name,
            "accuracy",
            "    model.dense.0: {int: [32, 256], scale: log}\n    model.dropout: {uniform: [0.0, 0.5]}\n",
        )
    )
    return StarterResult("images", text, notes)


def _gallery_data(file: str) -> Path:
    from dlkit.gallery import GALLERY_DIR

    return GALLERY_DIR / "data" / file


def _npz(kind: str, path: Path, data: Path | None) -> StarterResult:
    """Sequences (or arrays for tabular / images) from an npz file: its shapes fill the recipe."""
    name, notes = _recipe_name(path), []
    example = data is None
    data = data if data is not None else _gallery_data("parity.npz")
    if not data.is_file():
        raise DataError(f"{data}: file not found")
    try:
        with np.load(data, allow_pickle=False) as arrays:
            if "x" not in arrays or "y" not in arrays:
                raise DataError(
                    f"{data}: expected arrays 'x' and 'y' (found {', '.join(arrays.files) or 'none'})"
                )
            x_shape, y = arrays["x"].shape, arrays["y"]
    except (OSError, ValueError) as exc:
        raise DataError(f"{data}: cannot read it as an npz file ({exc})") from None
    wanted = {"tabular": 2, "sequences": 3, "images": 4}[kind]
    if len(x_shape) != wanted:
        expected = {2: "(n, features)", 3: "(n, timesteps, features)", 4: "(n, height, width, channels)"}
        raise DataError(f"{data}: x has shape {x_shape}; {kind} expects {expected[wanted]}")
    per_step = y.ndim == 2 and kind == "sequences"
    labels = y[y != -1] if per_step else y
    integral = labels.dtype.kind in "iub" or bool(np.all(np.mod(labels, 1) == 0))
    n_classes = len(np.unique(labels)) if integral else 0
    task = "regression" if not integral or n_classes > MAX_INT_CLASSES else None
    notes.append(f"x {x_shape}, y {y.shape}" + (f": {n_classes} classes" if task is None else ": regression"))
    rel = str(data) if example else _relative(data, path)
    source_type = "sequence" if kind == "sequences" else "npz"
    spec: dict[str, Any] = {"type": source_type, "path": rel}
    if per_step:
        spec["padding_label"] = -1
        notes.append("y holds a label per step: sequence labelling (-1 marks padding)")
    lines = [f"  source: {_flow(spec)}\n"]
    if example:
        lines = [
            f"  source: {_flow(spec)}\n",
            "  # ^ an example shipped with dlkit (running parity of bit sequences); yours: x, y arrays\n",
        ]
    if task:
        lines.append(f"  task: {task}\n")
    if kind == "sequences":
        model = (
            "model:\n"
            "  type: rnn\n"
            "  cell: gru                          # or lstm, simple\n"
            "  units: [32]\n"
            + ("  output: sequence                   # one label per step\n" if per_step else "")
            + ("  output: last                       # one label per sequence\n" if not per_step else "")
        )
        space = "    model.units.0: {int: [16, 256], scale: log}\n"
    elif kind == "images":
        model = "model:\n  type: cnn\n  filters: [32, 64]\n  dense: [64]\n  dropout: 0.2\n"
        space = "    model.dense.0: {int: [32, 256], scale: log}\n    model.dropout: {uniform: [0.0, 0.5]}\n"
    else:
        model = "model:\n  type: mlp\n  units: [64, 32]\n  dropout: 0.1\n"
        space = "    model.units.0: {int: [16, 512], scale: log}\n    model.dropout: {uniform: [0.0, 0.5]}\n"
    text = (
        _header(kind, path, None if example else data, notes)
        + f"name: {_flow(name)}\nseed: 0\n"
        + "data:\n"
        + "".join(lines)
        + "  split: {train_dev: 0.05, dev: 0.15, test: 0.15}\n"
        + model
        + _train(20, 3e-3)
        + _tail(name, None, space)
    )
    return StarterResult(kind, text, notes)


def _text(path: Path, data: Path | None) -> StarterResult:
    name, notes = _recipe_name(path), []
    example = data is None
    data = data if data is not None else _gallery_data("reviews.csv")
    frame = _read_table(data)
    columns = [str(c) for c in frame.columns]
    strings = _string_columns(frame)
    text_col = _pick(columns, TEXT_NAMES) or max(
        strings, key=lambda c: frame[c].astype(str).str.len().mean(), default=None
    )
    if text_col is None:
        raise DataError(f"{data}: no column of strings to classify; expected a text column")
    rest = [c for c in columns if c != text_col]
    target = _pick(rest, TARGET_NAMES) or (rest[-1] if rest else None)
    if target is None:
        raise DataError(f"{data}: no target column besides the text column '{text_col}'")
    task, classes = _target_task(frame[target])
    tokens = frame[text_col].fillna("").astype(str).str.split()
    length = int(np.percentile(tokens.str.len(), 95)) if len(tokens) else 64
    vocabulary = len({w.lower() for words in tokens for w in words})
    max_tokens = int(min(20_000, max(16, vocabulary + 2)))
    notes.append(
        f"text '{text_col}' (95% of texts have at most {length} words, {vocabulary:,} distinct words), "
        f"target '{target}' ({task})"
    )
    spec: dict[str, Any] = {
        "type": "text",
        "path": str(data) if example else _relative(data, path),
        "text": text_col,
        "target": target,
        "max_tokens": max_tokens,
        "output_sequence_length": max(4, length),
    }
    source = f"  source: {_flow(spec)}\n"
    if example:
        source += "  # ^ an example shipped with dlkit (generated reviews, pos / neg)\n"
    if classes is None:  # a number target: the task is said, never left to inference
        source += f"  task: {task}\n"
    if classes is not None:
        source += f"  # classes (index order): {_flow(classes)}\n"
    text = (
        _header("text", path, None if example else data, notes)
        + f"name: {_flow(name)}\nseed: 0\n"
        + "data:\n"
        + source
        + "  split: {train_dev: 0.05, dev: 0.15, test: 0.15}\n"
        + "model:\n"
        + "  type: transformer                  # or rnn with embedding: {output_dim: 32}\n"
        + "  embedding: {output_dim: 32}\n"
        + "  d_model: 32\n  num_heads: 2\n  ff_dim: 64\n  num_layers: 2\n  dropout: 0.1\n"
        + _train(15, 1e-3)
        + _tail(
            name,
            _default_metric(task),
            "    model.dropout: {uniform: [0.0, 0.5]}\n    model.num_layers: {int: [1, 4]}\n",
        )
    )
    return StarterResult("text", text, notes)


def _seq2seq(path: Path, data: Path | None) -> StarterResult:
    name, notes = _recipe_name(path), []
    example = data is None
    data = data if data is not None else _gallery_data("reverse.csv")
    frame = _read_table(data)
    strings = _string_columns(frame)
    source_col = _pick(strings, PAIR_INPUTS) or (strings[0] if strings else None)
    rest = [c for c in strings if c != source_col]
    output_col = _pick(rest, PAIR_OUTPUTS) or (rest[0] if rest else None)
    if source_col is None or output_col is None:
        raise DataError(f"{data}: expected two columns of strings (input and output); found {len(strings)}")
    words = frame[source_col].fillna("").astype(str).str.contains(" ").mean() > 0.5
    level = "word" if words else "char"
    notes.append(f"input '{source_col}' -> output '{output_col}', {level} level, {len(frame):,} pairs read")
    spec: dict[str, Any] = {
        "type": "text_pairs",
        "path": str(data) if example else _relative(data, path),
        "input": source_col,
        "output": output_col,
        "level": level,
    }
    source = f"  source: {_flow(spec)}\n"
    if example:
        source += "  # ^ an example shipped with dlkit (strings and their reversals)\n"
    text = (
        _header("seq2seq", path, None if example else data, notes)
        + f"name: {_flow(name)}\nseed: 0\n"
        + "data:\n"
        + source
        + "  split: {dev: 0.1, test: 0.1}\n"
        + "model:\n"
        + "  type: seq2seq                      # encoder-decoder RNN with attention\n"
        + "  embedding_dim: 32\n  units: 64\n  attention: additive\n"
        + "  decoding: {method: beam, beam_width: 3}\n"
        + _train(10, 3e-3)
        + _tail(name, None, "    model.units: {int: [32, 256], scale: log}\n")
    )
    return StarterResult("seq2seq", text, notes)


def starter_recipe(kind: str | None, path: Path, data: Path | None = None) -> StarterResult:
    """A commented starter recipe for ``kind`` of data, filled in from ``data`` when given.

    Args:
        kind: tabular, images, sequences, text or seq2seq; None: guessed from ``data``.
        path: where the recipe will be written (names it; data paths are made relative to it).
        data: a CSV / TSV / Parquet table, an image folder (one sub-folder per class) or an npz file.

    Returns:
        The recipe's text and notes on what was read from the data.

    Raises:
        RecipeError: an unknown kind, or neither a kind nor data.
        DataError: the data cannot be read or does not fit the kind.
    """
    if kind is None:
        if data is None:
            raise RecipeError(f"dlkit init: give a kind of data ({', '.join(KINDS)}) or --data PATH")
        kind = kind_from_data(data)
    if kind not in KINDS:
        from dlkit._naming import did_you_mean

        hint = did_you_mean(kind, KINDS)
        raise RecipeError(f"dlkit init: unknown kind '{kind}'; expected one of {', '.join(KINDS)}.{hint}")
    if data is not None and not data.exists():
        raise DataError(f"{data}: file or folder not found")
    if kind == "sequences":
        return _npz("sequences", path, data)
    builders = {"tabular": _tabular, "images": _images, "text": _text, "seq2seq": _seq2seq}
    return builders[kind](path, data)
