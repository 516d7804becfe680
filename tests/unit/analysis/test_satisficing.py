"""Satisficing constraints (docs/method.md §3): parse, check, known answers."""

from __future__ import annotations

import pytest

from dlkit.analysis.satisficing import check_satisficing, parse_constraint


@pytest.mark.parametrize(
    ("text", "expected"),
    [("<= 100", ("<=", 100.0)), (">=0.9", (">=", 0.9)), (" < 1e6 ", ("<", 1e6)), ("> -2", (">", -2.0))],
)
def test_parse_constraint(text, expected):
    assert parse_constraint(text) == expected


def test_parse_constraint_rejects_words():
    with pytest.raises(ValueError, match=r"expected an operator and a number like '<= 100' \(got 'fast'\)"):
        parse_constraint("fast")


def test_methodology_example_latency_80_95_1500_ms():
    # classifiers at 80, 95 and 1,500 ms under "running time <= 100 ms": only the first two qualify
    met = [check_satisficing({"latency_ms": "<= 100"}, {"latency_ms": ms})[0].met for ms in (80, 95, 1500)]
    assert met == [True, True, False]


def test_unmeasured_constraint_is_neither_met_nor_failed():
    checks = check_satisficing(
        {"params": "<= 1e6", "latency_ms": "<= 100"},
        {"params": 2_000_000},
        {"latency_ms": "not measured: no model file"},
    )
    assert [(c.name, c.constraint, c.met) for c in checks] == [
        ("params", "<= 1e+06", False),
        ("latency_ms", "<= 100", None),
    ]
    assert checks[1].note == "not measured: no model file"
