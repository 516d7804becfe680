"""Satisficing metrics (docs/method.md §3): thresholds a model must meet, not optimise.

A recipe states them as ``metrics.satisfice: {latency_ms: "<= 100", params: "<= 1e6"}``. This
module parses and checks them against measured values; measuring is the caller's job.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_CONSTRAINT = re.compile(r"^\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}

#: What each built-in satisficing metric measures.
DESCRIPTIONS: dict[str, str] = {
    "latency_ms": "inference latency per example (batch of 1, median), ms",
    "params": "parameter count",
    "model_size_mb": "saved model file size, MB (10^6 bytes)",
}


@dataclass(frozen=True)
class SatisficingCheck:
    """One satisficing constraint and whether the model meets it.

    Attributes:
        name: the metric (latency_ms, params, model_size_mb, or a dev-set metric).
        constraint: as written in the recipe, e.g. ``<= 100``.
        value: the measured value, or None when it could not be measured.
        met: whether ``value`` satisfies the constraint; None when not measured.
        note: how it was measured, or why it was not.
    """

    name: str
    constraint: str
    value: float | None
    met: bool | None
    note: str = ""


def parse_constraint(text: str) -> tuple[str, float]:
    """``"<= 100"`` -> ``("<=", 100.0)``.

    Raises:
        ValueError: not an operator (<=, >=, <, >) followed by a number.
    """
    match = _CONSTRAINT.match(str(text))
    if match is None:
        raise ValueError(f"expected an operator and a number like '<= 100' (got {text!r})")
    return match.group(1), float(match.group(2))


def check_satisficing(
    constraints: Mapping[str, str],
    measured: Mapping[str, float | None],
    notes: Mapping[str, str] | None = None,
) -> list[SatisficingCheck]:
    """Check every constraint against its measured value.

    Args:
        constraints: metric name -> constraint text.
        measured: metric name -> value (missing or None: not measured).
        notes: metric name -> how it was measured or why not.

    Returns:
        One check per constraint, in the constraints' order.
    """
    notes = notes or {}
    checks = []
    for name, text in constraints.items():
        op, threshold = parse_constraint(text)
        value = measured.get(name)
        met = None if value is None else bool(_OPS[op](value, threshold))
        note = notes.get(name, DESCRIPTIONS.get(name, "" if value is not None else "not measured"))
        checks.append(SatisficingCheck(name, f"{op} {threshold:g}", value, met, note))
    return checks
