"""Use cases on a finished run (or its directory): read what it stored, compute, write, log.

Each module here reads a run directory (run.json, recipe.yaml, predictions, the split
manifest), calls the pure computations of :mod:`dlkit.analysis`, writes its reports into the
run directory (rendered by :mod:`dlkit.reporting`) and logs them to the run's MLflow run.
``dlkit.api`` calls them; nothing here prints.
"""
