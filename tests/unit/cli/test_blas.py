"""The run-reading commands have OpenBLAS's idle threads sleep at once, unless told otherwise."""

from __future__ import annotations

import os
import sys

import pytest

from dlkit.cli._blas import idle_blas_threads

VAR = "OPENBLAS_THREAD_TIMEOUT"


def test_set_before_numpy_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    idle_blas_threads()
    assert os.environ[VAR] == "4"


def test_a_value_of_the_users_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "20")
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    idle_blas_threads()
    assert os.environ[VAR] == "20"


def test_nothing_once_numpy_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenBLAS read its settings when NumPy loaded it: a value set now would only mislead
    monkeypatch.delenv(VAR, raising=False)
    monkeypatch.setitem(sys.modules, "numpy", sys.modules.get("numpy") or object())
    idle_blas_threads()
    assert VAR not in os.environ
