"""NumPy and pandas imported on their first use, not when a module that uses them is imported.

The recipe schema is built from every data source, model and task module (each spec sits next
to its builder), so ``dlkit recipe validate`` imports them all; validating a recipe needs
neither NumPy nor pandas, which take about a second of CPU to import. Such a module names them
as::

    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = lazy_module("numpy")

mypy and the layer test (``tests/unit/test_layers.py`` reads every import) see the real import;
at run time ``np`` imports NumPy on its first attribute access. A module-level use (a constant,
a default argument) imports it at once, so those stay inside functions.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class LazyModule(types.ModuleType):
    """A module that imports its namesake on the first attribute asked of it.

    The real module's namespace is then copied in, so later lookups cost what a module's do;
    a name the real module provides later (its own ``__getattr__``) is passed through.
    """

    def __getattr__(self, attr: str) -> Any:
        # called only for names not (yet) in this module's namespace
        module = importlib.import_module(self.__name__)
        if self.__dict__.get("__spec__") is None:  # not copied in yet
            self.__dict__.update(module.__dict__)
        return getattr(module, attr)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self.__name__))


def lazy_module(name: str) -> Any:
    """``name`` (``"numpy"``, ``"pandas"``), imported when first used.

    Typed ``Any`` on purpose: callers bind it under ``if TYPE_CHECKING: import ... else:``,
    where mypy sees the real module.
    """
    return LazyModule(name)
