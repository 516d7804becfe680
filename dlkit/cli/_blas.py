"""OpenBLAS's worker threads in the commands that only read a run (``diagnose``, ``analyze-errors``).

NumPy's OpenBLAS starts its worker threads when NumPy is imported, and each then spins, waiting
for work, for 2**28 processor cycles (about a tenth of a second) before it sleeps. A command that
reads a run's stored predictions does no linear algebra worth a thread: on an idle machine that
spin was what its CPU time had over its wall time (``diagnose``: 0.49 CPU s, 0.38 s). OpenBLAS reads
``OPENBLAS_THREAD_TIMEOUT`` (2**N cycles, N from 4 to 30) once, when it is loaded: set before
NumPy's import, its threads sleep as soon as they have nothing to do, and still share a large
product's work when there is one. What the commands compute and print is unchanged.
"""

from __future__ import annotations

import os
import sys

# the shortest spin OpenBLAS takes: 2**4 cycles
THREAD_TIMEOUT = "4"


def idle_blas_threads() -> None:
    """Have OpenBLAS's threads sleep as soon as they are idle, unless NumPy is already loaded
    (too late: OpenBLAS read its settings then) or the environment already says how long."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
