"""``analyze-errors RUN --apply-corrections SHEET``: turn confirmed label fixes into a corrections file.

The sheet is the error sheet or the suspected-label list (``analysis/label_issues.csv``) with a
``corrected_label`` column a person filled in. The result is a corrections file
(:mod:`dlkit.data.corrections`) that the next training applies through the recipe's
``data.corrections``: the same rule for every set, so dev and test stay one distribution.
Reads only the run directory (no TensorFlow).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dlkit.data.corrections import (
    CORRECTED_LABEL,
    corrections_from_sheet,
    merge_corrections,
    read_corrections,
    write_corrections,
)
from dlkit.errors import DataError, TrackingError, UnsupportedRunError
from dlkit.rundir import RunDir
from dlkit.tasks import task_for

log = logging.getLogger(__name__)

CORRECTIONS_FILE = "analysis/corrections.csv"


@dataclass
class ApplyCorrectionsResult:
    """The corrections file written from a sheet.

    Attributes:
        run_name: the run.
        sheet_path: the sheet read.
        path: the corrections file in the run directory.
        copy_path: where else it was written (``--corrections-out``), if anywhere.
        n_new: corrections taken from the sheet.
        n_earlier: corrections carried over from the run's own ``data.corrections``.
        n_total: rows of the file.
        by_set: new corrections per set.
        corrections: the new corrections (id, label, previous_label, set, reason).
        logged: whether the file was logged to the run's MLflow run.
        notes: what the reader should know (e.g. a set left unreviewed).
    """

    run_name: str
    sheet_path: Path
    path: Path
    copy_path: Path | None
    n_new: int
    n_earlier: int
    n_total: int
    by_set: dict[str, int]
    corrections: pd.DataFrame
    logged: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def recipe_path(self) -> Path:
        """The file a recipe should name under ``data.corrections``."""
        return (self.copy_path or self.path).resolve()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "run_name": self.run_name,
            "sheet": str(self.sheet_path),
            "corrections_file": str(self.path),
            "copy": str(self.copy_path) if self.copy_path else None,
            "n_new": self.n_new,
            "n_earlier": self.n_earlier,
            "n_total": self.n_total,
            "by_set": self.by_set,
            "corrections": self.corrections.to_dict("records"),
            "use_with": f"--set data.corrections={self.recipe_path}",
            "logged": self.logged,
            "notes": self.notes,
        }


def run_labels(run: RunDir) -> tuple[dict[str, str], dict[str, str]]:
    """id -> set and id -> label as the run trained and scored them (from its predictions).

    Raises:
        DataError: the run stored no predictions.
    """
    sets: dict[str, str] = {}
    labels: dict[str, str] = {}
    names = run.splits_with_predictions()
    if not names:
        raise DataError(
            f"run '{run.path.name}': no stored predictions", hint="train the run to the end first"
        )
    for name in names:
        frame = pd.read_parquet(run.predictions_path(name), columns=["id", "y_true"])
        for ident, label in zip(frame["id"].astype(str), frame["y_true"].astype(str), strict=True):
            sets[ident] = name
            labels[ident] = label
    return sets, labels


def _earlier(recipe: dict[str, Any]) -> pd.DataFrame | None:
    path = (recipe.get("data") or {}).get("corrections")
    if not path:
        return None
    if not Path(path).is_file():
        raise DataError(
            f"data.corrections: the run was trained with {path}, which no longer exists",
            hint="restore it: new corrections are added to the earlier ones",
        )
    return read_corrections(Path(path))


def apply_sheet_corrections(
    run: RunDir, sheet: Path, *, out: Path | None = None, log_to_mlflow: bool = True
) -> ApplyCorrectionsResult:
    """Write the corrections a person confirmed on ``sheet`` as the run's corrections file.

    Corrections the run was already trained with (its recipe's ``data.corrections``) are kept;
    a new correction of the same id replaces the earlier one.

    Args:
        run: the run the sheet was made from.
        sheet: a sheet with ``id`` and ``corrected_label`` columns (empty cell: no correction).
        out: also write the file here (e.g. beside the recipe).
        log_to_mlflow: log the file to the run's MLflow run.

    Returns:
        What was written, and how to train with it.

    Raises:
        UnsupportedRunError: the run's task has no class labels to correct.
        CorrectionsError: an unknown id or label (file, row and column named), a missing column.
    """
    import yaml

    info = run.info()
    task = task_for(str(info.get("task", "multiclass")))
    if not task.classifies:
        raise UnsupportedRunError(
            f"run '{info.get('run_name', run.path.name)}': --apply-corrections: corrections replace class "
            f"labels, one per example; task {task.name} has none"
        )
    recipe = yaml.safe_load(run.recipe_path.read_text(encoding="utf-8")) if run.recipe_path.is_file() else {}
    sets, labels = run_labels(run)
    classes = [str(c) for c in info.get("classes") or sorted(set(labels.values()))]
    new = corrections_from_sheet(Path(sheet), sets, labels, classes, label_column=CORRECTED_LABEL)
    earlier = _earlier(recipe or {})
    merged = merge_corrections(earlier, new) if earlier is not None else new
    path = write_corrections(merged, run.path / CORRECTIONS_FILE)
    copy = write_corrections(merged, Path(out)) if out is not None else None
    by_set = {str(k): int(v) for k, v in new["set"].value_counts().items()}
    notes: list[str] = []
    evaluated = [s for s in ("dev", "test") if run.predictions_path(s).is_file()]
    touched = [s for s in evaluated if by_set.get(s)]
    if len(new) and touched and len(touched) < len(evaluated):
        other = next(s for s in evaluated if s not in touched)
        notes.append(
            f"these corrections touch {' and '.join(touched)} only: review {other} by the same rule "
            f"(e.g. dlkit analyze-errors {run.path} --folds 5 --label-issues-on dev,test) so dev "
            "and test stay one distribution"
        )
    if not len(new):
        notes.append(f"no row of {sheet} has a '{CORRECTED_LABEL}' that differs from its label")
    result = ApplyCorrectionsResult(
        run_name=str(info.get("run_name", run.path.name)),
        sheet_path=Path(sheet),
        path=path,
        copy_path=copy,
        n_new=len(new),
        n_earlier=0 if earlier is None else len(earlier),
        n_total=len(merged),
        by_set=by_set,
        corrections=new,
        notes=notes,
    )
    if log_to_mlflow and info.get("run_id") and info.get("tracking_uri"):
        from dlkit.tracking.mlflow_tracker import log_to_run

        try:
            log_to_run(
                info["run_id"],
                info["tracking_uri"],
                [(path, "analysis")],
                {"errors_corrections": len(merged)},
            )
            result.logged = True
        except TrackingError as exc:
            log.warning("corrections not logged to MLflow: %s", exc.message)
    return result
