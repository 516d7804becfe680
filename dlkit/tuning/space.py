"""The search space: sampling on each dimension's own scale, keras-tuner hyperparameters, narrowing.

A dimension's *scale* is where its distribution is uniform: ``x`` for ``uniform`` and linear
ints, ``log10(x)`` for ``log`` and log ints, ``log10(1 - x)`` for ``one_minus_log``. Sampling,
grids, the coarse-to-fine box and the preview histograms all work on that scale, so a learning
rate in [1e-4, 1e-1] gets as many draws in [1e-4, 1e-3] as in [1e-2, 1e-1] (docs/method.md §5).

Everything here is pure NumPy except :func:`add_to_hyperparameters` (keras-tuner).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlkit._dotted import set_path
from dlkit.tuning.spec import DimensionSpec, TuneSpec

#: Top-level recipe sections a search may change. Data (source, split) and tracking are fixed
#: for a study: every trial must see the same split.
SEARCHABLE_ROOTS = ("model", "train", "seed", "data.normalize")


@dataclass(frozen=True)
class Dimension:
    """One searched recipe value, bound to its dotted path."""

    path: str
    spec: DimensionSpec

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def is_numeric(self) -> bool:
        return self.kind != "choice"

    @property
    def log_scale(self) -> bool:
        """Whether plots of this dimension take a log axis."""
        return self.kind in ("log", "one_minus_log") or (self.kind == "int" and self.spec.scale == "log")

    @property
    def bounds(self) -> tuple[float, float]:
        a, b = self.spec.bounds_or_values(self.kind)
        return float(a), float(b)

    @property
    def choices(self) -> list[Any]:
        return list(self.spec.choice or [])

    # -- the dimension's own scale -------------------------------------------------------------

    def to_scale(self, x: Any) -> Any:
        """Value(s) -> position on the dimension's own scale."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "log" or (self.kind == "int" and self.spec.scale == "log"):
            return np.log10(x)
        if self.kind == "one_minus_log":
            return np.log10(np.maximum(1.0 - x, 1e-300))
        return x

    def from_scale(self, t: Any) -> Any:
        """Position(s) on the dimension's own scale -> value(s) (ints not yet rounded)."""
        t = np.asarray(t, dtype=np.float64)
        if self.kind == "log" or (self.kind == "int" and self.spec.scale == "log"):
            return 10.0**t
        if self.kind == "one_minus_log":
            return 1.0 - 10.0**t
        return t

    def scale_box(self) -> tuple[float, float]:
        """The bounds on the dimension's own scale, low to high."""
        a, b = (float(v) for v in self.to_scale(self.bounds))
        return (min(a, b), max(a, b))

    # -- sampling ------------------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        """``n`` draws, as a search draws them (uniform on the dimension's own scale)."""
        if self.kind == "choice":
            values = self.choices
            return [values[i] for i in rng.integers(0, len(values), size=n)]
        lo, hi = self.scale_box()
        if self.kind == "int":
            a, b = (int(v) for v in self.bounds)
            if self.spec.scale == "linear":
                return [int(v) for v in rng.integers(a, b + 1, size=n)]
            # uniform in log10 over [a, b + 1), floored: every integer's share follows its width
            t = rng.uniform(math.log10(a), math.log10(b + 1), size=n)
            return [int(min(b, math.floor(v))) for v in 10.0**t]
        return [_tidy(float(v)) for v in self.from_scale(rng.uniform(lo, hi, size=n))]

    def grid(self, points: int) -> list[Any]:
        """``points`` values evenly spaced on the dimension's own scale (the choices for a choice)."""
        if self.kind == "choice":
            return self.choices
        lo, hi = self.scale_box()
        values = self.from_scale(np.linspace(lo, hi, points))
        if self.kind == "int":
            return sorted({round(float(v)) for v in values})
        return sorted(_tidy(float(v)) for v in values)

    def describe(self) -> str:
        """``log [0.0001, 0.1]``, ``int log [16, 512]``, ``choice [adam, sgd]``."""
        if self.kind == "choice":
            return f"choice [{', '.join(_show(v) for v in self.choices)}]"
        a, b = self.bounds
        name = "int log" if self.kind == "int" and self.spec.scale == "log" else self.kind
        return f"{name} [{_show(a)}, {_show(b)}]"


def _tidy(value: float) -> float:
    """Drop float noise (0.9990000000000001 -> 0.999) without losing real precision."""
    return float(f"{value:.12g}")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def dimensions(spec: TuneSpec) -> list[Dimension]:
    """The space's dimensions, parents of conditional dimensions first."""
    dims = {path: Dimension(path, d) for path, d in spec.space.items()}
    ordered: list[Dimension] = []
    placed: set[str] = set()

    def place(path: str, trail: tuple[str, ...]) -> None:
        if path in placed or path not in dims:
            return
        if path in trail:
            raise ValueError(f"conditions form a cycle: {' -> '.join((*trail, path))}")
        for parent in dims[path].spec.when or {}:
            place(parent, (*trail, path))
        placed.add(path)
        ordered.append(dims[path])

    for path in dims:
        place(path, ())
    return ordered


# -- keras-tuner --------------------------------------------------------------------------------


def _encoded_choices(values: list[Any]) -> tuple[list[Any], bool]:
    """Choices keras-tuner accepts (one scalar type); mappings and mixed types go as JSON text."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {int, float, str, bool}:
        return list(values), False
    return [json.dumps(v, sort_keys=True) for v in values], True


def encode_choice(dim: Dimension, value: Any) -> Any:
    """The keras-tuner value of one of ``dim``'s choices."""
    _, as_json = _encoded_choices(dim.choices)
    return json.dumps(value, sort_keys=True) if as_json else value


def add_to_hyperparameters(hp: Any, dims: list[Dimension], grid_points: int | None = None) -> None:
    """Declare ``dims`` on a ``keras_tuner.HyperParameters`` (conditions as conditional scopes).

    Args:
        hp: the keras-tuner HyperParameters.
        dims: from :func:`dimensions` (parents first).
        grid_points: when set (grid search), every dimension becomes a choice of this many
            points evenly spaced on its own scale.
    """
    by_path = {d.path: d for d in dims}
    for dim in dims:
        scopes = []
        for parent, wanted in (dim.spec.when or {}).items():
            values = wanted if isinstance(wanted, list) else [wanted]
            scopes.append((parent, [encode_choice(by_path[parent], v) for v in values]))
        _declare_in_scopes(hp, dim, scopes, grid_points)


def _declare_in_scopes(
    hp: Any, dim: Dimension, scopes: list[tuple[str, list[Any]]], grid: int | None
) -> None:
    if scopes:
        parent, values = scopes[0]
        with hp.conditional_scope(parent, values):
            _declare_in_scopes(hp, dim, scopes[1:], grid)
        return
    name, kind = dim.path, dim.kind
    if grid is not None and kind != "choice":
        # a grid over the dimension's own scale; one_minus_log is declared as 1 - x like below
        points = dim.grid(grid)
        if kind == "one_minus_log":
            points = sorted(_tidy(1 - p) for p in points)
        hp.Choice(name, points, ordered=True)
        return
    if kind == "choice":
        values, _ = _encoded_choices(dim.choices)
        hp.Choice(name, values)
    elif kind == "uniform":
        a, b = dim.bounds
        hp.Float(name, a, b)
    elif kind == "log":
        a, b = dim.bounds
        hp.Float(name, a, b, sampling="log")
    elif kind == "one_minus_log":
        # keras-tuner has no 1 - x log scale (its reverse_log differs): search u = 1 - x on a log scale
        a, b = dim.bounds
        hp.Float(name, _tidy(1 - b), _tidy(1 - a), sampling="log")
    else:
        a, b = (int(v) for v in dim.bounds)
        hp.Int(name, a, b, sampling=dim.spec.scale)


def decode_values(dims: list[Dimension], hp: Any) -> dict[str, Any]:
    """Recipe values of the active dimensions in a keras-tuner HyperParameters (trial values)."""
    values: dict[str, Any] = {}
    for dim in dims:
        if dim.path not in hp.values or not hp.is_active(dim.path):
            continue
        raw = hp.values[dim.path]
        values[dim.path] = decode_value(dim, raw)
    return values


def decode_value(dim: Dimension, raw: Any) -> Any:
    """One keras-tuner value -> the recipe value."""
    if dim.kind == "choice":
        _, as_json = _encoded_choices(dim.choices)
        return json.loads(raw) if as_json else raw
    if dim.kind == "one_minus_log":
        return _tidy(1 - float(raw))
    if dim.kind == "int":
        return int(raw)
    return _tidy(float(raw))


def sample_configurations(dims: list[Dimension], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` whole configurations drawn as a random search draws them (conditions respected)."""
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n):
        values: dict[str, Any] = {}
        for dim in dims:
            if active(dim, values):
                values[dim.path] = dim.sample(1, rng)[0]
        configs.append(values)
    return configs


def active(dim: Dimension, values: dict[str, Any]) -> bool:
    """Whether ``dim``'s conditions hold for the (parent) values drawn so far."""
    for parent, wanted in (dim.spec.when or {}).items():
        options = wanted if isinstance(wanted, list) else [wanted]
        if parent not in values or values[parent] not in options:
            return False
    return True


# -- applying values to a recipe -------------------------------------------------------------


def apply_values(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the recipe mapping ``base`` with each ``dotted.path: value`` set (parents first).

    Raises:
        ValueError: a path through a value that is not a section, or a list index out of range.
    """
    data = copy.deepcopy(base)
    for path in sorted(values, key=lambda p: p.count(".")):
        set_path(data, path, copy.deepcopy(values[path]))
    return data


def searchable(path: str) -> bool:
    """Whether a study may change ``path`` (not the data, the split or the tracking).

    A typed column's encoding (``data.source.columns.<column>.encoding`` or ``.embedding_dim``)
    is searchable: it changes the model, not the examples.
    """
    if column_setting(path) is not None:
        return True
    return any(path == root or path.startswith(root + ".") for root in SEARCHABLE_ROOTS)


def column_setting(path: str) -> tuple[str, str] | None:
    """``(column, field)`` of a searchable column encoding path, else None."""
    from dlkit.data.columns import ENCODING_FIELDS

    prefix = "data.source.columns."
    if not path.startswith(prefix):
        return None
    column, _, name = path.removeprefix(prefix).rpartition(".")
    return (column, name) if column and name in ENCODING_FIELDS else None


# -- coarse to fine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Narrowed:
    """How one dimension changed from one round to the next.

    Attributes:
        path: the recipe path.
        old: the box before, as text.
        new: the box after, as text.
        shrink: new width / old width on the dimension's own scale (choices: kept / before).
        at_bound: "lower" or "upper" when the best trial sits at that bound of the old box.
        spec: the new dimension.
    """

    path: str
    old: str
    new: str
    shrink: float
    at_bound: str | None
    spec: DimensionSpec


def narrow(
    dim: Dimension, top: list[Any], best: Any, margin: float, tried: list[Any] | None = None
) -> Narrowed:
    """Narrow ``dim`` around the values the best trials took, on its own scale.

    A choice keeps the values the best trials took and every value no trial tried: a round too
    short to try a choice has no evidence against it.

    Args:
        dim: the dimension of the round that finished.
        top: its values in the best trials (where the dimension was active).
        best: its value in the best trial (None when inactive there).
        margin: share of the old width added on each side of the span of ``top``.
        tried: its values in every finished trial of the round (completed or failed); None:
            ``top`` (only the best trials' values are known to be tried).

    Returns:
        The new dimension, with the shrink and whether the best sits at a bound.
    """
    spec = dim.spec
    if not top:
        return Narrowed(dim.path, dim.describe(), dim.describe(), 1.0, None, spec)
    if dim.kind == "choice":
        seen = top if tried is None else [*top, *tried]
        kept = [v for v in dim.choices if any(_same(v, t) for t in top) or not any(_same(v, t) for t in seen)]
        new_spec = spec.model_copy(update={"choice": kept})
        new_dim = Dimension(dim.path, new_spec)
        return Narrowed(
            dim.path, dim.describe(), new_dim.describe(), len(kept) / len(dim.choices), None, new_spec
        )
    lo, hi = dim.scale_box()
    width = hi - lo
    t = np.asarray(dim.to_scale([float(v) for v in top]), dtype=np.float64)
    new_lo = max(lo, float(t.min()) - margin * width)
    new_hi = min(hi, float(t.max()) + margin * width)
    if new_hi - new_lo < 1e-9 * max(width, 1e-12):
        pad = 0.05 * width
        new_lo, new_hi = max(lo, new_lo - pad), min(hi, new_hi + pad)
    a, b = sorted(float(v) for v in dim.from_scale([new_lo, new_hi]))
    if dim.kind == "int":
        old_a, old_b = (int(v) for v in dim.bounds)
        ia, ib = max(old_a, math.floor(a + 1e-9)), min(old_b, math.ceil(b - 1e-9))
        if ib <= ia:
            ia, ib = (ia, ia + 1) if ia < old_b else (ia - 1, ia)
        bounds: tuple[Any, Any] = (ia, ib)
        new_spec = spec.model_copy(update={"int_": bounds})
    else:
        bounds = (_tidy(a), _tidy(b))
        new_spec = spec.model_copy(update={dim.kind: bounds})
    new_dim = Dimension(dim.path, new_spec)
    nlo, nhi = new_dim.scale_box()
    at_bound = None
    if best is not None:
        tb = float(dim.to_scale(float(best)))
        tolerance = 0.02 * width
        if dim.kind == "int":
            if int(best) == int(dim.bounds[0]):
                at_bound = "lower"
            elif int(best) == int(dim.bounds[1]):
                at_bound = "upper"
        elif tb - lo <= tolerance:
            at_bound = "lower" if dim.kind != "one_minus_log" else "upper"
        elif hi - tb <= tolerance:
            at_bound = "upper" if dim.kind != "one_minus_log" else "lower"
    shrink = (nhi - nlo) / width if width > 0 else 1.0
    return Narrowed(dim.path, dim.describe(), new_dim.describe(), shrink, at_bound, new_spec)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def narrowed_space(spec: TuneSpec, changes: list[Narrowed]) -> TuneSpec:
    """``spec`` with the space replaced by the narrowed dimensions.

    A conditional dimension whose parent no longer offers any value it needs is dropped.
    """
    space = {c.path: c.spec for c in changes}
    for path, dim in list(space.items()):
        if not dim.when:
            continue
        when: dict[str, Any] = {}
        for parent, wanted in dim.when.items():
            options = wanted if isinstance(wanted, list) else [wanted]
            parent_spec = space.get(parent)
            left = [
                o
                for o in options
                if parent_spec is None or any(_same(o, c) for c in parent_spec.choice or [])
            ]
            when[parent] = left if isinstance(wanted, list) else (left[0] if left else None)
            if not left:
                space.pop(path)
                break
        else:
            space[path] = dim.model_copy(update={"when": when})
    return spec.model_copy(update={"space": space})


# -- preview warnings ------------------------------------------------------------------------


#: Last path keys of values that live on a log scale whatever their range (rates, penalties).
RATE_NAMES = ("learning_rate", "l2", "l1", "epsilon", "decay_rate", "weight_decay", "clipnorm")


def rate_like(path: str) -> bool:
    """Whether ``path`` names a rate or penalty, searched on a log scale by good practice."""
    return path.rsplit(".", 1)[-1] in RATE_NAMES


def warnings_for(dims: list[Dimension], spec: TuneSpec) -> list[str]:
    """Likely mistakes in a space: a wide range on a linear scale, a β sampled linearly, a small grid."""
    found = []
    for dim in dims:
        if not dim.is_numeric:
            continue
        a, b = dim.bounds
        decades = math.log10(b / a) if a > 0 else math.inf
        if dim.kind == "uniform" and b > 0 and (decades >= 2 if a > 0 else rate_like(dim.path)):
            span = f"{decades:.0f} decades" if math.isfinite(decades) else "from 0 across decades"
            share = (b - b / 10) / (b - a)
            found.append(
                f"{dim.path}: uniform [{_show(a)}, {_show(b)}] spans {span} on a linear scale: "
                f"{share:.0%} of draws land in [{_show(b / 10)}, {_show(b)}]; "
                f"use log: [{_show(a if a > 0 else b / 1000)}, {_show(b)}]"
            )
        elif dim.kind == "int" and dim.spec.scale == "linear" and a >= 1 and decades >= 1.5:
            found.append(
                f"{dim.path}: int [{int(a)}, {int(b)}] spans {decades:.1f} decades on a linear scale; "
                "most draws will be large: add scale: log"
            )
        if dim.kind in ("uniform", "log") and a >= 0.5 and b < 1 and (1 - a) / (1 - b) >= 10:
            # the upper half of [a, b] on the 1 - x log scale, where 1/(1 - β) changes fastest
            middle = 1 - math.sqrt((1 - a) * (1 - b))
            share = float((dim.to_scale(b) - dim.to_scale(middle)) / (dim.to_scale(b) - dim.to_scale(a)))
            found.append(
                f"{dim.path}: {dim.kind} [{_show(a)}, {_show(b)}] is an averaging parameter near 1: "
                f"only {share:.0%} of draws fall in [{_show(middle)}, {_show(b)}], where 1/(1 - x) "
                f"changes fastest; use one_minus_log: [{_show(a)}, {_show(b)}]"
            )
    if spec.strategy == "grid":
        size = 1
        for dim in dims:
            size *= len(dim.grid(spec.grid_points))
        if size > spec.trials:
            found.append(
                f"grid of {size} points but trials is {spec.trials}: only the first {spec.trials} are tried"
            )
        elif len(dims) > 1:
            found.append(
                f"grid: each dimension gets only {spec.grid_points} distinct values in {size} trials; "
                "random search tries a new value of every dimension in every trial"
            )
    return found
