"""Checks of a split: exact duplicates across sets (leakage) and whether dev and test look alike.

Pure NumPy / pandas / SciPy: they take a dataset and its assignment and return result objects;
rendering lives in :mod:`dlkit.reporting.split`.

An identical input in two sets is the same example (leakage) when the input *is* the example: an
image's bytes, a text, a sequence. A table's row is measurements of an example, and two
examples may measure alike (two days with the same weather): identical feature rows are
reported with how many share the target, never called leakage. Only a table without an id
column whose whole row (features and target) repeats across sets is flagged as a possible
copy of one record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlkit.data.dataset import Dataset

# when an input sits in several sets, dedupe keeps it in the first of these
PRECEDENCE = ("test", "dev", "train_dev", "train")
ALPHA = 0.01
MAX_FEATURE_TESTS = 200
N_EXAMPLES = 5


@dataclass
class LeakageReport:
    """Exact duplicate inputs (row values, image bytes, text) found in more than one set.

    Attributes:
        pairs: per pair of sets ``"train/dev"``: distinct inputs found in both.
        n_inputs: distinct inputs found in more than one set.
        n_rows: rows carrying those inputs.
        n_conflicting: of those inputs, how many carry different labels in different sets.
        drop: rows dedupe removes: every copy outside the first set of test, dev, train_dev, train.
        examples: a few duplicates: ``{set: [ids]}`` each.
        identity: what an identical input means: ``input`` (the input is the example: images,
            texts, sequences: leakage), ``row`` (a table without an id column: a repeated
            whole row may be one record twice), ``features`` (a table with an id column: rows
            are different examples whatever their values; an npz ``ids`` array counts as one).
        n_held_out: rows of train-dev, dev and test whose input equals a train row's.
        n_same_target: of those, rows with the same target as such a train row.
        n_other_target: of those, rows whose every identical train row has another target.
    """

    pairs: dict[str, int]
    n_inputs: int
    n_rows: int
    n_conflicting: int
    drop: np.ndarray
    examples: list[dict[str, list[Any]]] = field(default_factory=list)
    identity: str = "input"
    n_held_out: int = 0
    n_same_target: int = 0
    n_other_target: int = 0

    @property
    def n_dropped(self) -> int:
        return len(self.drop)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "n_inputs": self.n_inputs,
            "n_rows": self.n_rows,
            "n_conflicting": self.n_conflicting,
            "n_dropped_by_dedupe": self.n_dropped,
            "examples": self.examples,
            "identity": self.identity,
            "n_held_out": self.n_held_out,
            "n_same_target": self.n_same_target,
            "n_other_target": self.n_other_target,
        }


def find_leakage(data: Dataset, assignment: np.ndarray) -> LeakageReport:
    """Exact duplicates across train, train-dev, dev and test.

    Args:
        data: a dataset with ``input_hashes``.
        assignment: the set of each example `(n,)`: names, or codes into ``SET_NAMES``.
    """
    from dlkit.data.split import CODE, SET_NAMES, to_codes

    assert data.input_hashes is not None
    codes = to_codes(assignment)
    candidates = np.flatnonzero(
        _repeated(data.input_hashes) & np.isin(codes, [CODE[name] for name in PRECEDENCE])
    )
    rank = np.full(len(SET_NAMES), -1)
    rank[[CODE[name] for name in PRECEDENCE]] = np.arange(len(PRECEDENCE))
    frame = pd.DataFrame(
        {
            "row": candidates,
            "hash": data.input_hashes[candidates],
            "set": np.asarray(SET_NAMES, dtype=object)[codes[candidates]],
            "rank": rank[codes[candidates]],
            "y": data.y[candidates] if data.y.ndim == 1 else _row_keys(data.y[candidates]),
        }
    )
    n_sets = frame.groupby("hash")["set"].transform("nunique") if len(frame) else pd.Series(dtype=int)
    cross = frame[n_sets.to_numpy() > 1] if len(frame) else frame
    pairs: dict[str, int] = {}
    examples: list[dict[str, list[Any]]] = []
    n_conflicting = 0
    drop = np.empty(0, dtype=np.int64)
    held = _held_out_matches(cross)
    if len(cross):
        best = cross.groupby("hash")["rank"].transform("min")
        drop = np.sort(cross["row"].to_numpy()[cross["rank"].to_numpy() > best.to_numpy()])
        members = cross.groupby("hash")["set"].agg(lambda s: frozenset(s))
        for i, a in enumerate(PRECEDENCE[::-1]):
            for b in PRECEDENCE[::-1][i + 1 :]:
                n = int(sum(1 for m in members if a in m and b in m))
                if n:
                    pairs[f"{a}/{b}"] = n
        n_conflicting = int((cross.groupby("hash")["y"].nunique() > 1).sum())
        for _, rows in list(cross.groupby("hash", sort=False))[:N_EXAMPLES]:
            shown: dict[str, list[Any]] = {}
            for name in PRECEDENCE[::-1]:
                ids = data.ids[rows["row"][rows["set"] == name].to_numpy()]
                if len(ids):
                    shown[name] = [_plain(v) for v in ids[:3]]
            examples.append(shown)
    return LeakageReport(
        pairs=pairs,
        n_inputs=int(cross["hash"].nunique()) if len(cross) else 0,
        n_rows=len(cross),
        n_conflicting=n_conflicting,
        drop=drop,
        examples=examples,
        identity=identity(data),
        n_held_out=held[0],
        n_same_target=held[1],
        n_other_target=held[2],
    )


def identity(data: Dataset) -> str:
    """What an identical input across sets means for ``data`` (see :class:`LeakageReport`)."""
    if data.kind != "tabular":
        return "input"
    return "features" if data.options.get("id_column") else "row"


def _held_out_matches(cross: pd.DataFrame) -> tuple[int, int, int]:
    """Rows of train-dev, dev and test whose input a train row has: all, same target, other target."""
    if not len(cross):
        return 0, 0, 0
    train = cross[cross["set"] == "train"]
    held = cross[(cross["set"] != "train") & cross["hash"].isin(train["hash"])]
    if not len(held):
        return 0, 0, 0
    pairs = train[["hash", "y"]].astype({"y": str}).drop_duplicates()
    matched = held[["hash", "y"]].astype({"y": str}).merge(pairs, how="left", indicator=True)
    same = int((matched["_merge"] == "both").sum())
    return len(held), same, len(held) - same


def _repeated(hashes: np.ndarray) -> np.ndarray:
    """Whether each hash occurs more than once `(n,)` bool (a sort: faster than a hash table here)."""
    ordered = np.sort(hashes)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(twice):
        return np.zeros(len(hashes), dtype=bool)
    return np.isin(hashes, np.unique(twice))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class DistributionReport:
    """Dev against test: are they one distribution? (docs/method.md §1).

    Attributes:
        source_column: the column whose share per set is shown (target distribution or ``source``).
        source_shares: per set, the share of each value of ``source_column``.
        tests: each two-sample test run: what, statistic, p-value.
        warning: one line when some test rejects at the Bonferroni-corrected level, else None.
    """

    source_column: str | None
    source_shares: dict[str, dict[str, float]]
    tests: list[dict[str, Any]]
    warning: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_column": self.source_column,
            "source_shares": self.source_shares,
            "tests": self.tests,
            "warning": self.warning,
        }


def _statistics(data: Dataset, idx: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Per-example numbers to compare dev and test on: features, or summaries of images and sequences."""
    if data.kind == "text" and data.texts is not None:
        lengths = np.asarray([len(str(t).split()) for t in data.texts[idx]], dtype=np.float64)
        return ["words per text"], lengths[:, None]
    if "columns" in data.options:  # typed columns: the complete numbers among them
        from dlkit.data.columns import table_columns

        names, values = table_columns(data).numeric(idx)
        return names[:MAX_FEATURE_TESTS], values[:, :MAX_FEATURE_TESTS]
    x = data.x[idx]
    if x.size == 0 or x.ndim < 2:
        return [], np.empty((len(idx), 0))
    if data.kind == "tabular":
        names = data.feature_names or [f"feature {i}" for i in range(x.shape[1])]
        return names[:MAX_FEATURE_TESTS], x[:, :MAX_FEATURE_TESTS].astype(np.float64)
    flat = x.reshape(len(x), -1, x.shape[-1]).astype(np.float64)
    means, stds = flat.mean(axis=1), flat.std(axis=1)
    what = "channel" if data.kind == "image" else "feature"
    names = [f"mean of {what} {c}" for c in range(flat.shape[2])] + [
        f"spread of {what} {c}" for c in range(flat.shape[2])
    ]
    return names[:MAX_FEATURE_TESTS], np.hstack([means, stds])[:, :MAX_FEATURE_TESTS]


def source_column(data: Dataset, target_column: str | None) -> str | None:
    """The column to show per-source shares for: the target-distribution column, else ``source``."""
    if target_column and target_column in data.metadata.columns:
        return target_column
    return "source" if "source" in data.metadata.columns else None


def check_distribution(
    data: Dataset, assignment: np.ndarray, target_column: str | None = None, *, labels: bool = True
) -> DistributionReport:
    """Per-source shares per set, and two-sample tests of dev against test.

    ``assignment`` gives the set of each example: names, or codes into ``SET_NAMES``.

    Labels: a chi-square test of homogeneity (classification) or Kolmogorov-Smirnov (regression);
    inputs: Kolmogorov-Smirnov on each feature (tables) or on per-example means and spreads
    (images, sequences), words per text (text). The warning uses a Bonferroni correction over
    all the tests at level 0.01, so one random split raises it about once in a hundred.
    ``labels`` False leaves the labels out (a split that gives dev and test different labels
    on purpose: the identities of a verification task).
    """
    from scipy import stats

    from dlkit.data.split import CODE, to_codes

    column = source_column(data, target_column)
    shares: dict[str, dict[str, float]] = {}
    codes = to_codes(assignment)
    in_set = {name: codes == CODE[name] for name in PRECEDENCE}
    if column is not None:
        codes, uniques = pd.factorize(data.metadata[column], sort=True)
        for name in PRECEDENCE[::-1]:
            members = codes[in_set[name]]
            if len(members):
                counts = np.bincount(members[members >= 0], minlength=len(uniques))
                shares[name] = {
                    str(v): float(c / len(members)) for v, c in zip(uniques, counts, strict=True) if c
                }
    dev, test = np.flatnonzero(in_set["dev"]), np.flatnonzero(in_set["test"])
    tests: list[dict[str, Any]] = []
    if len(dev) >= 2 and len(test) >= 2:
        if data.label_kind == "continuous" and labels:
            result = stats.ks_2samp(data.y[dev], data.y[test])
            tests.append(
                {
                    "what": "labels",
                    "test": "KS",
                    "statistic": float(result.statistic),
                    "p": float(result.pvalue),
                }
            )
        elif data.classifies and labels:  # several labels, texts, per-step labels: no one distribution
            table = np.stack(
                [np.bincount(data.y[s].astype(int), minlength=data.n_classes) for s in (dev, test)]
            )
            table = table[:, table.sum(axis=0) > 0]
            if table.shape[1] > 1:
                chi2, p, _, _ = stats.chi2_contingency(table)
                tests.append(
                    {"what": "labels", "test": "chi-square", "statistic": float(chi2), "p": float(p)}
                )
        names, dev_stats = _statistics(data, dev)
        _, test_stats = _statistics(data, test)
        for k, name in enumerate(names):
            a, b = dev_stats[:, k], test_stats[:, k]
            if np.all(a == a[0]) and np.all(b == a[0]):
                continue
            result = stats.ks_2samp(a, b)
            tests.append(
                {"what": name, "test": "KS", "statistic": float(result.statistic), "p": float(result.pvalue)}
            )
    level = ALPHA / max(len(tests), 1)
    failed = sorted((t for t in tests if t["p"] < level), key=lambda t: t["p"])
    warning = None
    if failed:
        shown = "; ".join(f"{t['what']} ({t['test']} p = {t['p']:.1e})" for t in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        warning = (
            f"dev and test may not come from one distribution: {shown}{more} differ "
            f"(Bonferroni-corrected level {ALPHA:g} over {len(tests)} tests)"
        )
    return DistributionReport(column, shares, tests, warning)


def _row_keys(y: np.ndarray) -> list[str]:
    """One string per row of `(n, tasks)` labels (NaN included), for comparing rows' labels."""
    return [",".join(map(str, row)) for row in y.tolist()]


@dataclass(frozen=True)
class SplitWarning:
    """One finding of the split checks a person should see before trusting the sets.

    Attributes:
        code: ``leakage``, ``repeated_rows``, ``identical_features`` or ``dev_test_distribution``.
        message: what was found.
        advice: what to do about it (or why it may be fine).
    """

    code: str
    message: str
    advice: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "advice": self.advice}


def split_warnings(
    leakage: LeakageReport | None, distribution: DistributionReport | None, deduped: bool = False
) -> list[SplitWarning]:
    """What the split checks found, as ``dlkit split`` and ``dlkit train`` show and record it.

    Args:
        leakage: the duplicates found across sets (before any dedupe).
        distribution: the dev-against-test check.
        deduped: the split dropped the copies already (``dedupe``).
    """
    found: list[SplitWarning] = []
    dropped = (
        f"Dedupe dropped {leakage.n_dropped:,} copies (kept in test, then dev, then train-dev)"
        if leakage is not None and deduped
        else ""
    )
    if leakage is not None and leakage.n_inputs and leakage.identity == "input":
        conflicting = f", {leakage.n_conflicting:,} with different labels" if leakage.n_conflicting else ""
        found.append(
            SplitWarning(
                "leakage",
                f"{leakage.n_inputs:,} input(s) sit in more than one set ({leakage.n_rows:,} rows"
                f"{conflicting}): the same example in two sets (leakage)",
                dropped + "."
                if dropped
                else f"--dedupe (or data.split.dedupe: true) drops {leakage.n_dropped:,} copies "
                "(kept in test, then dev, then train-dev).",
            )
        )
    elif leakage is not None and leakage.n_held_out:
        held = (
            f"{leakage.n_held_out:,} train-dev/dev/test row(s) have feature values identical to a "
            f"train row: {leakage.n_same_target:,} with the same target, "
            f"{leakage.n_other_target:,} with a different target"
        )
        if leakage.identity == "row" and leakage.n_same_target:
            advice = (
                "If they are one record entered twice, that is leakage: --dedupe (or "
                "data.split.dedupe: true) drops the copies. If they are different examples that "
                "measure alike, keep them (an id_column says each row is its own example)."
            )
            held += f" (the table has no id column: the whole row repeats in {leakage.n_same_target:,})"
            found.append(SplitWarning("repeated_rows", held, advice))
        else:
            advice = (
                "Different examples can have identical features (two days with the same weather): "
                "not leakage by itself. A different target for the same features is noise no model "
                "can remove; look at them if identical rows are unexpected."
            )
            found.append(SplitWarning("identical_features", held, advice))
        if dropped:
            found[-1] = SplitWarning(found[-1].code, found[-1].message, dropped + ".")
    if distribution is not None and distribution.warning:
        found.append(
            SplitWarning(
                "dev_test_distribution",
                distribution.warning,
                "Dev and test should come from the data the system will face: check how they were "
                "collected, or take both from those rows (data.split.target_distribution; "
                "docs/method.md §1).",
            )
        )
    return found
