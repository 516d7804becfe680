"""dlkit: YAML recipes in, Keras models trained and tracked in MLflow, reports that say what next.

The Python API lives in :mod:`dlkit.api`; attributes are imported lazily so that
``import dlkit`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("analyze_errors", "diagnose", "learning_curve", "load_recipe", "resolve_run", "split", "train")


def __getattr__(name: str) -> Any:
    if name in _API:
        from dlkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'dlkit' has no attribute '{name}'")


__all__ = ["__version__", *_API]
