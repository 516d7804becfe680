"""Seeded train / train-dev / dev / test splits and their manifest.

Strategies (docs/method.md §1): random (stratified by class), grouped (a group never straddles two
sets), time-ordered (train before dev before test), and a stable hash of each id (appending
rows never moves an existing example). ``target_distribution`` puts only the target rows in dev
and test; ``eyeball`` divides dev into a part to look at and a black-box part (docs/method.md §4).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.data.dataset import Dataset
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.checks import LeakageReport
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

SPLITS: tuple[str, ...] = ("train", "train_dev", "dev", "test")
SplitName = Literal["train", "train_dev", "dev", "test"]
DROPPED = "dropped"
SET_DTYPE = "<U9"  # fits every set name, "train_dev", "dropped" and "unused" included
# every set an example can be in; an assignment is stored as int8 codes into this tuple
SET_NAMES: tuple[str, ...] = (*SPLITS, DROPPED, "unused")
CODE: dict[str, int] = {name: i for i, name in enumerate(SET_NAMES)}
_FRACTION_FIELDS = {"train", "train_dev", "dev", "test"}


class TargetDistributionSpec(Spec):
    """The rows the system will face: only they go to dev and test (docs/method.md §1)."""

    column: str = Field(description="A column of the data (listed under source.metadata or not).")
    value: str | int | float | bool = Field(description="Rows whose column equals this are target rows.")


class SplitSpec(Spec):
    """Fractions for each set, and how examples are assigned.

    Leave ``train`` out to give it whatever the other sets leave. ``train_dev`` is held out of
    the training distribution and never trained on (docs/method.md §1). Give no fraction at all for
    the size-aware default. With ``target_distribution``, ``dev`` and ``test`` are fractions of
    the target rows (25% each by default: half the target data in dev and test) and
    ``train_dev`` is a fraction of the training rows.
    """

    train: float | None = Field(default=None, gt=0, le=1)
    train_dev: float = Field(default=0.0, ge=0, lt=1)
    dev: float = Field(default=0.2, gt=0, lt=1)
    test: float = Field(default=0.2, ge=0, lt=1)
    stratify: bool = Field(
        default=True, description="Keep class shares equal across sets (random assignment)."
    )
    group: str | None = Field(default=None, description="Column whose values never straddle two sets.")
    time: str | None = Field(
        default=None, description="Time (or number) column: train before dev before test."
    )
    hash: bool = Field(
        default=False,
        description="Assign by a seeded hash of each id (of each group with `group`): appending rows "
        "never moves an existing example.",
    )
    target_distribution: TargetDistributionSpec | None = Field(
        default=None, description="{column, value}: dev and test only from these rows."
    )
    eyeball: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Share of dev to look at in error analysis; "
        "the rest is a black box that is only measured.",
    )
    dedupe: bool = Field(
        default=False,
        description="Drop exact duplicates across sets (kept in test, then dev, then train-dev).",
    )

    @model_validator(mode="after")
    def _fractions_add_up(self) -> SplitSpec:
        others = self.train_dev + self.dev + self.test
        if self.time is not None and (self.group is not None or self.hash):
            raise ValueError("time cannot be combined with group or hash (one assignment rule at a time)")
        if self.target_distribution is not None:
            if self.train is not None:
                raise ValueError(
                    "leave out train with target_distribution: train gets every other row "
                    "and the target rows not in dev or test"
                )
            if self.dev + self.test >= 1:
                raise ValueError(
                    f"dev + test add up to {self.dev + self.test:g} of the target rows, "
                    "leaving none for train"
                )
            return self
        if self.train is None:
            if others >= 1:
                raise ValueError(f"train_dev + dev + test add up to {others:g}, leaving nothing to train on")
        elif abs(self.train + others - 1) > 1e-6:
            raise ValueError(
                f"train + train_dev + dev + test add up to {self.train + others:g}; "
                "they must add up to 1 (or leave out train to give it the rest)"
            )
        return self

    def fractions(self) -> dict[str, float]:
        """The fraction of each set, train included."""
        others = self.train_dev + self.dev + self.test
        return {
            "train": self.train if self.train is not None else 1 - others,
            "train_dev": self.train_dev,
            "dev": self.dev,
            "test": self.test,
        }

    def columns(self) -> list[str]:
        """The data columns this split reads (group, time, target-distribution column)."""
        names = [self.group, self.time, self.target_distribution.column if self.target_distribution else None]
        return [n for n in dict.fromkeys(names) if n is not None]


def default_split(n_examples: int) -> tuple[SplitSpec, str]:
    """The size-aware default of docs/method.md §1, and the rule that gave it.

    Up to 50,000 examples: 60/20/20. Beyond, dev and test stay at 10,000 each (98/1/1 at
    1,000,000), since they only need to be big enough to tell ideas apart.
    """
    if n_examples <= 50_000:
        return SplitSpec(dev=0.2, test=0.2), "60/20/20 (small data: up to 50,000 examples)"
    share = 10_000 / n_examples
    return (
        SplitSpec(dev=share, test=share),
        f"dev and test 10,000 examples each ({share:.2%}; big data)",
    )


def to_codes(assignment: np.ndarray) -> np.ndarray:
    """Set names -> int8 codes into :data:`SET_NAMES` (codes pass through unchanged).

    Raises:
        ValueError: a name that is not a set.
    """
    assignment = np.asarray(assignment)
    if assignment.dtype.kind in "iu":
        return assignment.astype(np.int8, copy=False)
    codes = np.full(len(assignment), -1, dtype=np.int8)
    for name, code in CODE.items():
        codes[assignment == name] = code
    if (codes < 0).any():
        bad = str(assignment[np.argmax(codes < 0)])
        raise ValueError(f"not a set name: {bad!r} (expected one of {SET_NAMES})")
    return codes


@dataclass
class SplitResult:
    """Which set each example went to.

    Attributes:
        codes: the set of each example as an int8 code into :data:`SET_NAMES`, aligned with
            the dataset `(n,)` (set names may be given instead: they are encoded).
        manifest: one row per example: ``id``, ``set``, ``input_hash`` and, when dev is divided,
            ``dev_part`` (``eyeball`` / ``blackbox`` for dev rows, null elsewhere).
        rule: how the fractions were chosen and how examples were assigned.
        leakage: exact duplicates across sets (before any dedupe), when the source gives hashes.
    """

    codes: np.ndarray
    manifest: pd.DataFrame
    rule: str
    leakage: LeakageReport | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.codes = to_codes(self.codes)

    @cached_property
    def assignment(self) -> np.ndarray:
        """The set name of each example `(n,)` (``dropped`` for duplicates removed by dedupe,
        ``unused`` for rows a learning curve leaves out), built from the codes when first asked."""
        return np.asarray(SET_NAMES, dtype=SET_DTYPE)[self.codes]

    def indices(self, name: str) -> np.ndarray:
        """Sorted indices of the examples in set ``name``."""
        return np.flatnonzero(self.codes == CODE[name])

    def counts(self) -> dict[str, int]:
        """Examples per set, for every name in :data:`SET_NAMES` (one pass over the codes)."""
        counts = np.bincount(self.codes, minlength=len(SET_NAMES))
        return {name: int(c) for name, c in zip(SET_NAMES, counts, strict=True)}

    def sizes(self) -> dict[str, int]:
        counts = self.counts()
        return {name: counts[name] for name in SPLITS}

    def class_counts(self, y: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
        """Examples of each class `(n_classes,)` in every split set, from one bincount."""
        cells = np.bincount(
            self.codes.astype(np.int64) * n_classes + y.astype(np.int64),
            minlength=len(SET_NAMES) * n_classes,
        ).reshape(len(SET_NAMES), n_classes)
        return {name: cells[CODE[name]] for name in SPLITS}

    def present(self) -> list[str]:
        """Sets that hold at least one example, in canonical order."""
        return [name for name, n in self.sizes().items() if n > 0]

    @property
    def dev_part(self) -> np.ndarray | None:
        """``eyeball`` / ``blackbox`` / None per example, when dev is divided."""
        if "dev_part" not in self.manifest.columns:
            return None
        return self.manifest["dev_part"].to_numpy()


def set_column(assignment: np.ndarray) -> pd.Categorical:
    """Set names (or codes) as a categorical of the sets present, in :data:`SET_NAMES` order."""
    codes = to_codes(assignment)
    present = np.flatnonzero(np.bincount(codes, minlength=len(SET_NAMES)))
    renumber = np.full(len(SET_NAMES), -1, dtype=np.int8)
    renumber[present] = np.arange(len(present))
    return pd.Categorical.from_codes(renumber[codes], categories=[SET_NAMES[i] for i in present])


def _counts(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Largest-remainder rounding so that set sizes add up to ``n`` exactly."""
    raw = {k: f * n for k, f in fractions.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    leftover = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:leftover]:
        counts[k] += 1
    return counts


def subsample_train(result: SplitResult, data: Dataset, fraction: float, seed: int) -> SplitResult:
    """Keep a seeded, stratified ``fraction`` of train (for learning curves); the rest is ``unused``.

    The other sets are untouched, so points of a learning curve share one dev set.
    """
    if not 0 < fraction <= 1:
        raise DataError(f"train fraction: expected a value in (0, 1] (got {fraction:g})")
    train = result.indices("train")
    if fraction == 1:
        return result
    # regression, multitask, seq2seq, per-step labels: no single class to keep
    stratify = data.classifies
    groups = [train[data.y[train] == c] for c in range(data.n_classes)] if stratify else [train]
    rng = np.random.default_rng(seed)
    assignment = result.codes.copy()
    for members, counts in zip(
        groups, _allocate([len(g) for g in groups], {"train": fraction, "unused": 1 - fraction}), strict=True
    ):
        assignment[rng.permutation(members)[counts["train"] :]] = CODE["unused"]
    if not (assignment == CODE["train"]).any():
        raise DataError(f"train fraction {fraction:g} of {len(train)} examples leaves none to train on")
    manifest = result.manifest.copy()
    manifest["set"] = set_column(assignment)
    return SplitResult(
        assignment,
        manifest,
        f"{result.rule}; train subsampled to {fraction:.0%}",
        result.leakage,
        result.notes,
    )


def _allocate(group_sizes: list[int], fractions: dict[str, float]) -> list[dict[str, int]]:
    """Per-group set sizes whose totals hit the global sizes exactly (controlled rounding).

    Each cell starts at floor(group size x fraction); the examples left over go first to the
    cells with the largest remainders, as long as both the group and the set still need them.
    """
    targets = _counts(sum(group_sizes), fractions)
    cells = [{k: int(np.floor(g * f)) for k, f in fractions.items()} for g in group_sizes]
    group_left = [g - sum(c.values()) for g, c in zip(group_sizes, cells, strict=True)]
    set_left = {k: targets[k] - sum(c[k] for c in cells) for k in fractions}
    order = sorted(
        ((g * f - np.floor(g * f), i, k) for i, g in enumerate(group_sizes) for k, f in fractions.items()),
        key=lambda t: -t[0],
    )
    for remainder, i, k in order:
        if remainder > 0 and group_left[i] > 0 and set_left[k] > 0:
            cells[i][k] += 1
            group_left[i] -= 1
            set_left[k] -= 1
    for i, left in enumerate(group_left):
        for k in fractions:
            take = min(left, set_left[k])
            cells[i][k] += take
            set_left[k] -= take
            left -= take
    return cells


class _Context:
    """What the assignment rules read: labels, group codes, times, hash keys."""

    def __init__(self, data: Dataset, spec: SplitSpec, seed: int, by_label: bool = False) -> None:
        self.data = data
        self.spec = spec
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        # whole labels to one set (the identities of a verification task): no label in two sets
        self.by_label = by_label and spec.group is None and spec.time is None and not spec.hash
        self.stratify = spec.stratify and data.classifies and not self.by_label
        self.groups = _codes(data, spec.group) if spec.group else None
        if self.by_label:
            self.groups = np.asarray(data.y, dtype=np.int64)
        self.times = _times(data, spec.time) if spec.time else None
        self._keys: np.ndarray | None = None

    @property
    def keys(self) -> np.ndarray:
        """Hash keys: the group value (with group) or the id, as text."""
        if self._keys is None:
            source = self.data.metadata[self.spec.group] if self.spec.group else pd.Series(self.data.ids)
            self._keys = _key_text(source)
        return self._keys

    def unit(self, salt: str) -> np.ndarray:
        """A seeded number in [0, 1) per example from its key alone (stable when rows are added)."""
        prefix = f"{self.seed}:{salt}:".encode()
        out = np.empty(len(self.keys), dtype=np.float64)
        cache: dict[str, float] = {}
        for i, key in enumerate(self.keys):
            value = cache.get(key)
            if value is None:
                digest = hashlib.blake2b(prefix + key.encode(), digest_size=8).digest()
                value = cache[key] = int.from_bytes(digest, "little") / 2.0**64
            out[i] = value
        return out


def _key_text(values: pd.Series) -> np.ndarray:
    """Ids as text; integral floats written as integers (1.0 -> '1'), so a dtype change moves nothing."""
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.dropna(), 1) == 0):
        values = values.astype("Int64")
    return values.astype(str).to_numpy(dtype=object)


def _column(data: Dataset, name: str) -> pd.Series:
    if name not in data.metadata.columns:
        raise DataError(f"{data.description}: no column '{name}' for the split")
    return data.metadata[name]


def _missing(values: pd.Series, data: Dataset, name: str, role: str) -> None:
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{data.description}: {role} column '{name}' has {int(missing.sum())} missing value(s), "
            f"first at {data.row_name(int(np.flatnonzero(missing)[0]))}"
        )


def _codes(data: Dataset, name: str) -> np.ndarray:
    values = _column(data, name)
    _missing(values, data, name, "group")
    codes, _ = pd.factorize(values)
    return codes


def _times(data: Dataset, name: str) -> np.ndarray:
    """Numeric or date-time values of the time column, as numbers that sort in time order."""
    values = _column(data, name)
    _missing(values, data, name, "time")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return (
            values.to_numpy().astype(np.float64)
            if pd.api.types.is_numeric_dtype(values)
            else (values.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(np.float64))
        )
    # one format for the whole column (the recipe's date_format, or inferred once): parsing value
    # by value would read 01/02 and 13/02 in different orders and misorder the split
    from dlkit.data.columns import parse_dates

    where = f"{data.description}: time column '{name}'"
    parsed, _ = parse_dates(values, data.options.get("date_formats", {}).get(name), where, data.row_name)
    return parsed.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(np.float64)


def _check_strata(ctx: _Context, members: np.ndarray, wanted: list[str]) -> None:
    data = ctx.data
    counts = np.bincount(data.y[members].astype(int), minlength=data.n_classes)
    for c, count in enumerate(counts):
        if 0 < count < len(wanted):
            raise DataError(
                f"{data.description}: class {data.classes[c]!r} has {int(count)} example(s), "
                f"too few to stratify over {len(wanted)} sets ({', '.join(wanted)})",
                hint="set data.split.stratify: false, or drop that class",
            )


def _assign_random(ctx: _Context, members: np.ndarray, fractions: dict[str, float], out: np.ndarray) -> None:
    wanted = [k for k, f in fractions.items() if f > 0]
    if ctx.stratify:
        _check_strata(ctx, members, wanted)
        y = ctx.data.y[members]
        strata = [members[y == c] for c in range(ctx.data.n_classes)]
    else:
        strata = [members]
    for stratum, counts in zip(strata, _allocate([len(s) for s in strata], fractions), strict=True):
        shuffled = ctx.rng.permutation(stratum)
        start = 0
        for name, count in counts.items():
            out[shuffled[start : start + count]] = CODE[name]
            start += count


def _assign_groups(ctx: _Context, members: np.ndarray, fractions: dict[str, float], out: np.ndarray) -> None:
    """Whole groups, in seeded random order, each to the set furthest below its target size."""
    assert ctx.groups is not None
    codes = ctx.groups[members]
    uniques, inverse, sizes = np.unique(codes, return_inverse=True, return_counts=True)
    wanted = [k for k, f in fractions.items() if f > 0]
    if len(uniques) < len(wanted):
        what = "label(s) (each goes whole to one set)" if ctx.by_label else "group(s)"
        column = "labels" if ctx.by_label else f"group column '{ctx.spec.group}'"
        raise DataError(
            f"{ctx.data.description}: {column} has {len(uniques)} {what}, "
            f"too few for {len(wanted)} sets ({', '.join(wanted)})"
        )
    targets = _counts(len(members), fractions)
    filled = dict.fromkeys(wanted, 0)
    choice = np.empty(len(uniques), dtype=np.int8)
    for g in ctx.rng.permutation(len(uniques)):
        name = max(wanted, key=lambda k: (targets[k] - filled[k], -wanted.index(k)))
        choice[g] = CODE[name]
        filled[name] += int(sizes[g])
    out[members] = choice[inverse]


def _assign_hash(
    ctx: _Context, members: np.ndarray, fractions: dict[str, float], out: np.ndarray, salt: str
) -> None:
    """Set boundaries on a per-key number in [0, 1): the same key always lands in the same set."""
    u = ctx.unit(salt)[members]
    edges = np.cumsum([fractions[k] for k in fractions])
    names = np.asarray([CODE[k] for k in fractions], dtype=np.int8)
    out[members] = names[np.minimum(np.searchsorted(edges, u, side="right"), len(names) - 1)]


def _assign_time(ctx: _Context, members: np.ndarray, fractions: dict[str, float], out: np.ndarray) -> None:
    """Earliest rows to the first set, latest to the last; rows sharing a time stay together."""
    assert ctx.times is not None
    order = members[np.argsort(ctx.times[members], kind="stable")]
    times = ctx.times[order]
    counts = _counts(len(order), fractions)
    # cuts may only fall between different times, so that no time straddles two sets
    boundaries = np.concatenate([np.flatnonzero(times[1:] != times[:-1]) + 1, [len(order)]])
    names = [k for k in fractions if fractions[k] > 0]
    start, target = 0, 0
    for i, name in enumerate(names):
        target += counts[name]
        later = boundaries[boundaries > start]
        end = (
            len(order)
            if i == len(names) - 1 or not len(later)
            else int(later[np.argmin(abs(later - target))])
        )
        out[order[start:end]] = CODE[name]
        start = end
    empty = [k for k in names if fractions[k] > 0 and not (out[members] == CODE[k]).any()]
    if empty:
        raise DataError(
            f"{ctx.data.description}: time column '{ctx.spec.time}' has too few distinct times: "
            f"{', '.join(empty)} would be empty"
        )


def _assign(
    ctx: _Context, members: np.ndarray, fractions: dict[str, float], out: np.ndarray, salt: str
) -> None:
    if ctx.spec.hash:
        _assign_hash(ctx, members, fractions, out, salt)
    elif ctx.groups is not None and (salt != "train_dev" or not ctx.by_label):
        # train-dev: unseen examples of train's labels, so whole labels only for the main split
        _assign_groups(ctx, members, fractions, out)
    else:
        _assign_random(ctx, members, fractions, out)


def _strategy_text(ctx: _Context) -> str:
    spec = ctx.spec
    if spec.time:
        return f"time-ordered by '{spec.time}'"
    if spec.hash:
        keyed = f"group '{spec.group}'" if spec.group else "id"
        return f"stable hash of each {keyed}"
    if spec.group:
        return f"grouped by '{spec.group}'"
    if ctx.by_label:
        return "whole labels per set (dev and test labels unseen in train)"
    return "stratified" if ctx.stratify else "random"


def split_dataset(
    data: Dataset, spec: SplitSpec | None, seed: int, *, dedupe: bool | None = None, by_label: bool = False
) -> SplitResult:
    """Assign every example to one set, reproducibly for a given seed and data.

    Random assignment stratifies each class across sets in proportion (largest remainder), so
    every set with a non-zero fraction gets each class when the class is large enough.

    Args:
        data: the loaded dataset (split columns in its metadata).
        spec: the recipe's ``data.split``; None for the size-aware default.
        seed: the recipe's seed.
        dedupe: drop exact duplicates across sets (the spec's ``dedupe`` when None).
        by_label: every label goes whole to one set (train-dev still takes train's labels), unless
            the spec groups, hashes or orders by time: the task asks for it
            (:attr:`dlkit.tasks.Task.split_by_label`, one-shot verification).

    Raises:
        DataError: too few examples (or groups, or times) for the requested sets, a class too
            small to stratify, a missing split column, or no target rows.
    """
    if data.n_examples == 0:
        raise DataError(f"{data.description}: no examples to split")
    given = spec is not None and bool(_FRACTION_FIELDS & spec.model_fields_set)
    if spec is None:
        spec, rule = default_split(data.n_examples)
    elif not given and spec.target_distribution is None:
        default, rule = default_split(data.n_examples)
        spec = spec.model_copy(update={"dev": default.dev, "test": default.test})
    else:
        rule = "recipe fractions"
    ctx = _Context(data, spec, seed, by_label)
    assignment = np.empty(data.n_examples, dtype=np.int8)  # every row gets a set code below
    everyone = np.arange(data.n_examples)
    if spec.target_distribution is not None:
        rule = _split_target(ctx, assignment, bool({"dev", "test"} & spec.model_fields_set))
    elif spec.time is not None or ctx.by_label:
        # train-dev comes from train's examples afterwards (its times; its labels)
        fractions = spec.fractions()
        pool = fractions["train"] + fractions["train_dev"]
        main = {"train": pool, "dev": fractions["dev"], "test": fractions["test"]}
        if spec.time is not None:
            _assign_time(ctx, everyone, main, assignment)
        else:
            _assign(ctx, everyone, main, assignment, "split")
        if spec.train_dev > 0:
            _carve_train_dev(ctx, assignment, spec.train_dev / pool)
        rule = f"{rule}; {_strategy_text(ctx)}"
    else:
        _assign(ctx, everyone, spec.fractions(), assignment, "split")
        rule = f"{rule}; {_strategy_text(ctx)}"
    wanted = [k for k, f in spec.fractions().items() if f > 0]
    sizes = np.bincount(assignment, minlength=len(SET_NAMES))
    empty = [k for k in wanted if not sizes[CODE[k]]]
    if empty:
        raise DataError(
            f"{data.description}: {data.n_examples} examples are too few for the split: "
            f"{', '.join(empty)} would be empty"
        )
    return _finish(ctx, assignment, rule, spec.dedupe if dedupe is None else dedupe)


def _carve_train_dev(ctx: _Context, assignment: np.ndarray, fraction: float) -> None:
    """Move ``fraction`` of the train rows to train_dev, by the split's own rule (random for time)."""
    pool = np.flatnonzero(assignment == CODE["train"])
    fractions = {"train": 1 - fraction, "train_dev": fraction}
    if ctx.spec.time is not None:
        _assign_random(ctx, pool, fractions, assignment)
    else:
        _assign(ctx, pool, fractions, assignment, "train_dev")


def _split_target(ctx: _Context, assignment: np.ndarray, given: bool) -> str:
    """Dev and test from the target rows only; every other row, and the rest of the target rows, to train."""
    spec, data = ctx.spec, ctx.data
    td = spec.target_distribution
    assert td is not None
    values = _column(data, td.column)
    is_target = (values.astype(str) == str(td.value)).to_numpy()
    if not is_target.any():
        shown = ", ".join(map(str, pd.unique(values)[:5]))
        raise DataError(
            f"{data.description}: target_distribution: no rows with {td.column} = {td.value!r} "
            f"(values: {shown})"
        )
    dev, test = (spec.dev, spec.test) if given else (0.25, 0.25)
    target = np.flatnonzero(is_target)
    assignment[~is_target] = CODE["train"]
    fractions = {"train": 1 - dev - test, "dev": dev, "test": test}
    if spec.time is not None:
        _assign_time(ctx, target, fractions, assignment)
    else:
        _assign(ctx, target, fractions, assignment, "split")
    if spec.train_dev > 0:
        _carve_train_dev(ctx, assignment, spec.train_dev)
    how = "given fractions" if given else "half of them to dev and test (docs/method.md §1)"
    return (
        f"target distribution {td.column} = {td.value}: dev and test only from its "
        f"{len(target):,} rows ({how}), train gets the other {int((~is_target).sum()):,} rows "
        f"and the rest; {_strategy_text(ctx)}"
    )


def _finish(ctx: _Context, assignment: np.ndarray, rule: str, dedupe: bool) -> SplitResult:
    from dlkit.data.checks import find_leakage

    data, spec = ctx.data, ctx.spec
    notes: list[str] = []
    leakage = find_leakage(data, assignment) if data.input_hashes is not None else None
    if dedupe and leakage is not None and leakage.n_dropped:
        assignment = assignment.copy()
        assignment[leakage.drop] = CODE[DROPPED]
        notes.append(f"dedupe: dropped {leakage.n_dropped} duplicate example(s) across sets")
    # categorical: a few set names over many rows are stored (and compared) as small codes
    manifest: dict[str, Any] = {"id": data.ids, "set": set_column(assignment)}
    if data.input_hashes is not None:
        manifest["input_hash"] = data.input_hashes
    if spec.eyeball is not None:
        manifest["dev_part"] = _dev_parts(ctx, assignment, spec.eyeball)
    # the id and hash columns are the dataset's own arrays, not copies (pandas' copy-on-write
    # keeps them unchanged): at 500,000 rows a copy of each was 8 MiB
    return SplitResult(assignment, pd.DataFrame(manifest, copy=False), rule, leakage, notes)


def _dev_parts(ctx: _Context, assignment: np.ndarray, share: float) -> pd.Series:
    """``eyeball`` for a seeded ``share`` of dev (stable per id with hash), ``blackbox`` for the rest."""
    dev = np.flatnonzero(assignment == CODE["dev"])
    parts = np.full(len(assignment), None, dtype=object)
    if ctx.spec.hash:
        eye = ctx.unit("eyeball")[dev] < share
    else:
        n_eye = max(1, round(share * len(dev))) if len(dev) else 0
        eye = np.zeros(len(dev), dtype=bool)
        eye[np.random.default_rng([ctx.seed, 4]).permutation(len(dev))[:n_eye]] = True
    parts[dev] = np.where(eye, "eyeball", "blackbox")
    return pd.Series(parts, dtype=object)
