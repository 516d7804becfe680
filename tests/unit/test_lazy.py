"""dlkit._lazy: a module bound lazily imports on first use, then is the real module's namespace."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dlkit._lazy import lazy_module


def test_a_lazy_module_imports_on_first_attribute_and_then_holds_the_namespace() -> None:
    code = (
        "import sys\n"
        "from dlkit._lazy import lazy_module\n"
        "csv = lazy_module('csv')\n"
        "before = 'csv' in sys.modules\n"
        "reader = csv.reader\n"
        "import csv as real\n"
        "print(before, reader is real.reader, 'writer' in vars(csv), csv.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True", "True", "csv"]


def test_a_name_the_module_lacks_raises_attribute_error() -> None:
    lazy = lazy_module("json")
    with pytest.raises(AttributeError, match="no_such_name"):
        lazy.no_such_name  # noqa: B018
