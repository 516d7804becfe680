"""``text_pairs``: (input text, output text) pairs for sequence-to-sequence models.

A table (CSV, TSV or Parquet) with an input column and an output column, split into characters
(``level: char``) or whitespace-separated words (``level: word``). Both vocabularies are built
from the training set only (:meth:`PairDataset.prepare`, once the split is known), most frequent
tokens first; a token never seen in train becomes ``[UNK]``.

Ids: source 0 padding, 1 ``[UNK]``; target 0 padding, 1 start, 2 end, 3 ``[UNK]`` (the
``seq2seq`` model's default ``start_token`` 1 and ``end_token`` 2). ``x`` holds the source ids
`(n, max_input_length)`, ``targets`` the target ids `(n, max_output_length)` without start or end
tokens, both 0-padded on the right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.data._common import RowNames, duplicate_id, hash_file, require_columns, resolve, text_hashes
from dlkit.data.dataset import Dataset, Labels, Task
from dlkit.data.text import read_text_table, table_rows
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

SOURCE_SPECIALS = ["", "[UNK]"]
TARGET_SPECIALS = ["", "<s>", "</s>", "[UNK]"]
START, END = 1, 2


class TextPairsSource(Spec):
    """A table with an input text column and an output text column (task ``seq2seq``)."""

    #: the task this source's labels always are (a recipe need not say data.task)
    implied_task: ClassVar[Task] = "seq2seq"

    type: Literal["text_pairs"] = "text_pairs"
    path: Path = Field(description="Relative paths are taken from the recipe's folder.")
    input: str = Field(description="The column of input strings.")
    output: str = Field(description="The column of output strings.")
    level: Literal["char", "word"] = Field(
        default="char", description="Tokens are characters, or words split on whitespace."
    )
    id_column: str | None = Field(default=None, description="Stable example ids; the row number when absent.")
    sep: str | None = Field(
        default=None, min_length=1, description="Column separator; ',' for .csv, tab for .tsv when absent."
    )
    max_input_length: int | None = Field(
        default=None, ge=1, description="Input tokens kept (longer inputs are cut); the longest when absent."
    )
    max_output_length: int | None = Field(
        default=None,
        ge=1,
        description="Most output tokens; a longer output is an error. The longest when absent.",
    )
    max_tokens: int | None = Field(
        default=None,
        ge=4,
        description="Vocabulary size per side, special tokens included; all train tokens when absent.",
    )


def tokenize(text: str, level: str) -> list[str]:
    return list(text) if level == "char" else text.split()


def detokenize(tokens: Sequence[str], level: str) -> str:
    return ("" if level == "char" else " ").join(tokens)


@dataclass
class PairDataset(Dataset):
    """A :class:`Dataset` of text pairs; ``prepare`` builds both vocabularies from train."""

    output_texts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    level: str = "char"
    source_tokens: list[list[str]] = field(default_factory=list)
    target_tokens: list[list[str]] = field(default_factory=list)
    target_vocabulary: list[str] = field(default_factory=list)
    targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int32))

    @property
    def source_vocab_size(self) -> int | None:
        return len(self.vocabulary) or None

    @property
    def target_vocab_size(self) -> int | None:
        return len(self.target_vocabulary) or None

    def prepare(self, train: np.ndarray) -> None:
        limit = self.options.get("max_tokens")
        self.vocabulary = _vocabulary([self.source_tokens[i] for i in train], SOURCE_SPECIALS, limit)
        self.target_vocabulary = _vocabulary([self.target_tokens[i] for i in train], TARGET_SPECIALS, limit)
        self.x = _ids(self.source_tokens, self.vocabulary, int(self.options["max_input_length"]))
        self.targets = _ids(
            self.target_tokens, self.target_vocabulary, int(self.options["max_output_length"])
        )

    def use_vocabulary(self, vocabulary: list[str], target_vocabulary: list[str] | None = None) -> None:
        self.vocabulary = list(vocabulary)
        self.target_vocabulary = list(target_vocabulary or [])
        self.x = _ids(self.source_tokens, self.vocabulary, int(self.options["max_input_length"]))
        self.targets = _ids(
            self.target_tokens, self.target_vocabulary, int(self.options["max_output_length"])
        )


def _vocabulary(sequences: list[list[str]], specials: list[str], limit: int | None) -> list[str]:
    counts = Counter(token for seq in sequences for token in seq)
    ordered = sorted(counts, key=lambda t: (-counts[t], t))
    room = None if limit is None else max(limit - len(specials), 0)
    return [*specials, *ordered[:room]]


def _ids(sequences: list[list[str]], vocabulary: list[str], length: int) -> np.ndarray:
    index = {t: i for i, t in enumerate(vocabulary) if t}
    unk = vocabulary.index("[UNK]")
    out = np.zeros((len(sequences), length), dtype=np.int32)
    for row, seq in enumerate(sequences):
        ids = [index.get(t, unk) for t in seq[:length]]
        out[row, : len(ids)] = ids
    return out


def _strings(df: pd.DataFrame, column: str, role: str, path: Path, rows: RowNames) -> np.ndarray:
    values = df[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{path}: {role} column '{column}' has {int(missing.sum())} missing value(s), "
            f"first at {rows(int(np.flatnonzero(missing)[0]))}"
        )
    return values.astype(str).to_numpy(dtype=object)


def load_text_pairs(
    spec: TextPairsSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> PairDataset:
    """Read the pairs and tokenise them; ids come later, from train's vocabularies.

    With ``labels="optional"`` a table without the output column loads unlabelled (empty outputs).
    """
    path = resolve(spec.path, base_dir)
    if task not in (None, spec.implied_task):
        raise RecipeError(f"{path}: data.task: a text_pairs source is seq2seq (got {task})")
    df = read_text_table(path, spec.sep, "text pairs table", dtype=str)
    require_columns(df.columns, path, "input", [spec.input])
    labelled = labels != "optional" or spec.output in df.columns
    if not labelled:
        df[spec.output] = ""
    require_columns(df.columns, path, "output", [spec.output])
    if spec.id_column:
        require_columns(df.columns, path, "id", [spec.id_column])
    keep = list(dict.fromkeys(columns))
    require_columns(df.columns, path, "split", keep)
    rows = table_rows(path, spec.sep)
    inputs = _strings(df, spec.input, "input", path, rows)
    outputs = _strings(df, spec.output, "output", path, rows)
    source_tokens = [tokenize(t, spec.level) for t in inputs]
    target_tokens = [tokenize(t, spec.level) for t in outputs]
    for role, tokens in (("input", source_tokens), ("output", target_tokens) if labelled else ("", [])):
        empty = [i for i, seq in enumerate(tokens) if not seq]
        if empty:
            raise DataError(
                f"{path}: {role} column has an empty text at {rows(empty[0])} (expected at least one token)"
            )
    longest_out = max(len(t) for t in target_tokens) or 1
    if spec.max_output_length is not None and longest_out > spec.max_output_length:
        row = next(i for i, t in enumerate(target_tokens) if len(t) > spec.max_output_length)
        raise DataError(
            f"{path}: output column '{spec.output}' at {rows(row)} has {len(target_tokens[row])} tokens "
            f"(data.source.max_output_length is {spec.max_output_length})"
        )
    ids = df[spec.id_column].to_numpy() if spec.id_column else np.arange(len(df))
    if spec.id_column:
        dup = pd.Series(ids).duplicated().to_numpy()
        if dup.any():
            raise DataError(duplicate_id(ids, dup, f"{path}: id column '{spec.id_column}'", rows))
    max_in = spec.max_input_length or max(len(t) for t in source_tokens)
    max_out = spec.max_output_length or longest_out
    return PairDataset(
        x=np.zeros((len(df), 0), dtype=np.int32),
        y=np.zeros(len(df), dtype=np.float32),
        ids=ids,
        task=spec.implied_task,
        kind="text",
        classes=[],
        content_hash=hash_file(path),
        description=str(path),
        metadata=df[keep].reset_index(drop=True),
        input_hashes=text_hashes(inputs),
        texts=inputs,
        options={
            "max_input_length": max_in,
            "max_output_length": max_out,
            "max_tokens": spec.max_tokens,
            "input_shape": [max_in],
            "level": spec.level,
        },
        output_texts=outputs,
        level=spec.level,
        source_tokens=source_tokens,
        target_tokens=target_tokens,
        labelled=labelled,
        rows=rows,
    )
