"""Text sources: a column of strings in a table, vectorised with Keras ``TextVectorization``.

The vocabulary is adapted on the training set only (:meth:`Dataset.prepare`, called once the
split is known), so dev and test words never shape the inputs; every example becomes
`(output_sequence_length,)` token ids (0 padding, 1 out of vocabulary).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.data._common import (
    RowNames,
    duplicate_id,
    encode_target,
    hash_file,
    no_labels,
    read_error,
    require_columns,
    require_file,
    resolve,
    text_hashes,
)
from dlkit.data.dataset import Dataset, Labels, Task
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


class TextSource(Spec):
    """A table (CSV, TSV or Parquet, by the file's suffix) with a text column and a target column."""

    type: Literal["text"] = "text"
    path: Path = Field(description="Relative paths are taken from the recipe's folder.")
    text: str = Field(description="The column of strings.")
    target: str = Field(description="The column to predict.")
    id_column: str | None = Field(default=None, description="Stable example ids; the row number when absent.")
    metadata: list[str] = Field(
        default_factory=list, description="Columns kept with predictions for reports."
    )
    sep: str | None = Field(
        default=None, min_length=1, description="Column separator; ',' for .csv, tab for .tsv when absent."
    )
    max_tokens: int = Field(
        default=20_000, ge=3, description="Vocabulary size, padding and OOV tokens included."
    )
    output_sequence_length: int = Field(
        default=64, ge=1, description="Token ids per example (padded or cut)."
    )
    classes: list[str | int] | None = Field(
        default=None, description="The expected labels in index order; any other label is an error."
    )
    vocabulary: Path | None = Field(
        default=None,
        description="Tokens, one a line, or a GloVe-format vectors file (each line's first word): "
        "the vocabulary (its first max_tokens - 2 tokens) instead of train's, so words no training "
        "text has still get their own ids (and pretrained vectors).",
    )

    def resolve_paths(self, base_dir: Path) -> None:
        """Make the vocabulary file absolute, relative to the recipe's folder."""
        if self.vocabulary is not None and not self.vocabulary.is_absolute():
            self.vocabulary = (base_dir / self.vocabulary).resolve()


def _separator(path: Path, sep: str | None) -> str:
    return sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")


def table_rows(path: Path, sep: str | None) -> RowNames:
    """How messages name the rows of a text table: by line for a CSV or TSV file."""
    return RowNames() if path.suffix.lower() == ".parquet" else RowNames(path, _separator(path, sep))


def read_text_table(path: Path, sep: str | None, what: str, dtype: type | None = None) -> pd.DataFrame:
    """A CSV, TSV or Parquet table of strings, refused in one line when missing, unreadable or empty.

    Empty cells read as missing (NaN), never as the text "NA" or "null".
    """
    require_file(path)
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(
                path, sep=_separator(path, sep), keep_default_na=False, na_values=[""], dtype=dtype
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise read_error(path, what, exc) from None
    if df.empty:
        raise DataError(f"{path}: no rows")
    return df


def load_text(
    spec: TextSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Read the strings and labels; token ids come later, from train's vocabulary.

    With ``labels="optional"`` a table without the target column loads unlabelled.
    """
    path = resolve(spec.path, base_dir)
    df = read_text_table(path, spec.sep, "text table")
    require_columns(df.columns, path, "text", [spec.text])
    labelled = labels != "optional" or spec.target in df.columns
    if labelled:
        require_columns(df.columns, path, "target", [spec.target])
    if spec.id_column:
        require_columns(df.columns, path, "id", [spec.id_column])
    keep = list(dict.fromkeys([*spec.metadata, *columns]))
    require_columns(df.columns, path, "metadata", keep)
    texts = df[spec.text]
    rows = table_rows(path, spec.sep)
    missing = texts.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{path}: text column '{spec.text}' has {int(missing.sum())} missing value(s), "
            f"first at {rows(int(np.flatnonzero(missing)[0]))}"
        )
    where = f"{path}: target column '{spec.target}'"
    if labelled:
        y, task, classes = encode_target(df[spec.target], task, where, spec.classes, rows)
    else:
        y, task, classes = no_labels(task, len(df), where, spec.classes)
    ids = df[spec.id_column].to_numpy() if spec.id_column else np.arange(len(df))
    if spec.id_column:
        dup = pd.Series(ids).duplicated().to_numpy()
        if dup.any():
            raise DataError(duplicate_id(ids, dup, f"{path}: id column '{spec.id_column}'", rows))
    strings = texts.astype(str).to_numpy(dtype=object)
    content_hash = hash_file(path)
    options: dict[str, Any] = {
        "max_tokens": spec.max_tokens,
        "output_sequence_length": spec.output_sequence_length,
        "input_shape": [spec.output_sequence_length],
    }
    if spec.vocabulary is not None:
        vocabulary = resolve(spec.vocabulary, base_dir)
        require_file(vocabulary)
        options["vocabulary_file"] = str(vocabulary)
        # the token ids depend on the vocabulary as much as on the texts
        content_hash = hashlib.sha256((content_hash + hash_file(vocabulary)).encode()).hexdigest()
    return Dataset(
        x=np.zeros((len(df), 0), dtype=np.int32),
        y=y,
        ids=ids,
        task=task,
        kind="text",
        classes=classes,
        content_hash=content_hash,
        description=str(path),
        metadata=df[keep].reset_index(drop=True),
        input_hashes=text_hashes(strings),
        texts=strings,
        options=options,
        labelled=labelled,
        rows=rows,
    )


def vectorize(
    texts: np.ndarray, train: np.ndarray | None, options: dict[str, Any], vocabulary: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Token ids `(n, output_sequence_length)` int32 for every text, vocabulary from ``train`` only
    (or from the source's vocabulary file, never from the texts).

    Args:
        texts: every example's string `(n,)`.
        train: the examples the vocabulary is adapted on (None with ``vocabulary``).
        options: the source's vectorisation settings.
        vocabulary: a vocabulary adapted before (a trained run's): used as is, never adapted.

    Returns:
        The token ids and the vocabulary (index = token id: '' padding, '[UNK]', then by frequency).
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    import keras

    if vocabulary is None and options.get("vocabulary_file"):
        vocabulary = vocabulary_tokens(Path(options["vocabulary_file"]), int(options["max_tokens"]))
    layer = keras.layers.TextVectorization(
        max_tokens=int(options["max_tokens"]),
        output_mode="int",
        output_sequence_length=int(options["output_sequence_length"]),
        vocabulary=vocabulary,
    )
    if vocabulary is None:
        assert train is not None
        layer.adapt(np.asarray(texts[train], dtype=str))
    ids = np.asarray(layer(np.asarray(texts, dtype=str)), dtype=np.int32)
    return ids, [str(t) for t in layer.get_vocabulary()]


def vocabulary_tokens(path: Path, max_tokens: int) -> list[str]:
    """The first ``max_tokens - 2`` distinct tokens of a vocabulary file (the first word of each
    line: a token list or a GloVe-format vectors file), ids 0 and 1 left to padding and OOV.

    Raises:
        DataError: a file without tokens.
    """
    tokens: dict[str, None] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            token = line.rstrip("\n").split(" ", 1)[0]
            if token and token != "[UNK]":
                tokens[token] = None
                if len(tokens) >= max_tokens - 2:
                    break
    if not tokens:
        raise DataError(f"{path}: the vocabulary file has no tokens; expected one a line")
    return list(tokens)
