"""``analyze_errors`` on a finished run: the error analysis of its dev set, the sheet, label suspicions.

Reads only the run directory (predictions, run.json, recipe.yaml): no TensorFlow, except to
retrain the recipe's model for ``--folds``. What is read depends on the run's task (the task
registry and :mod:`dlkit.runs._task_reports`): a classification's per-class metrics, confusion
and highest loss; a regression's residuals; a sequence task's exact match against token or step
accuracy and error by length; a multitask run's classification reading of each task. Where an
example is either right or wrong (classification, sequences), a seeded sample of the dev
errors goes on a sheet to tag, and the tags give each category's ceiling (docs/method.md §4).

Writes ``analysis/errors.{csv,parquet,html}`` (the sheet and a page to look at its examples)
and ``reports/errors.html`` into the run directory, and logs them to the run's MLflow run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit._naming import did_you_mean
from dlkit.analysis.columns import Columns
from dlkit.analysis.error_analysis import (
    CategoryReport,
    SetReport,
    category_report,
    category_rows,
    sample_errors,
)
from dlkit.analysis.error_sheet import TaggedSheet, build_sheet
from dlkit.analysis.rules import apply_rules, rule_summary
from dlkit.analysis.section import AnalysisDefaults
from dlkit.errors import DataError, RecipeError, TrackingError, UnsupportedRunError
from dlkit.rundir import RunDir
from dlkit.runs._parquet import read_columns
from dlkit.runs._recipe import read_recipe
from dlkit.runs._task_reports import TaskReports, reports_for
from dlkit.runs.error_sheet import count_rows, read_sheet, write_sheet
from dlkit.tasks import Task, task_for

if TYPE_CHECKING:
    import pandas as pd

    from dlkit.analysis.ctc_errors import CTCErrors
    from dlkit.analysis.detection import DetectionErrors
    from dlkit.analysis.image_errors import PartsReport
    from dlkit.analysis.label_issues import LabelIssuesResult
    from dlkit.analysis.residuals import RegressionReport
    from dlkit.analysis.sequence_errors import SequenceReport
    from dlkit.analysis.spec import AnalysisSpec
    from dlkit.data.dataset import Dataset
    from dlkit.runs.attention import AttentionMap
    from dlkit.training.cross_val import FoldEnd
else:  # imported on first use: a classification run is read without pandas (about 0.5 s)
    pd = lazy_module("pandas")

log = logging.getLogger(__name__)

ANALYSIS_DIR = "analysis"
REPORTS_DIR = "reports"
SET = "dev"
LABEL_ISSUES_FILE = "label_issues.csv"
SHEET_FILE = "errors.csv"


@dataclass
class AnalyzeErrorsResult:
    """Everything ``dlkit analyze-errors`` found and wrote for one run.

    Exactly one of ``whole_set``, ``sequence``, ``regression`` and ``per_task`` is filled, as
    the run's task reads.

    Attributes:
        run_name: the run's name.
        run_dir: its directory.
        run_id: its MLflow run id (None when untracked).
        tracking_uri: its MLflow store.
        set_name: the set analysed (dev).
        spec: the analysis section used (:class:`AnalysisDefaults` when the recipe sets none).
        task: the run's task.
        whole_set: a classification's per-class metrics, confusion, most-confused pairs,
            highest loss and slices.
        sequence: a sequence task's exact match against token or step accuracy per set, worst
            examples, error by reference length and slices.
        regression: a regression's largest errors and residuals by slice.
        per_task: a multitask run's classification reading of each task.
        detection: a detector's misses and false detections by class, box size and IoU.
        worst_images: the folder of its worst dev images with their boxes drawn (None when the
            run's data source cannot be read again).
        parts: an image task read by part and by image (segmentation, landmarks).
        ctc: a CTC model's character edits per set, confusions and collapsed repeats (with
            ``sequence``).
        sheet_path: the error sheet (CSV; a Parquet copy sits beside it); None for a task
            without one (regression, multitask).
        examples_path: the page showing the sheet's examples.
        n_sampled: errors on the sheet.
        sheet_written: False when an existing sheet was kept (it may hold a person's tags).
        sheet_columns: the prediction columns the sheet carries besides its own (task columns
            such as a sequence's input, then metadata).
        classes: the labels a corrected label may take (a classification's classes; else none).
        tags_path: the filled sheet read back (None without ``--tags``).
        categories: the tagged report (None without tags and rules).
        rules: each rule in words.
        label_issues: suspected label errors (None unless asked for).
        label_issues_path: the ranked list as CSV, with a corrected_label column to fill.
        report_path: ``reports/errors.html``.
        logged: whether the outputs were logged to MLflow.
        logging_error: why logging failed, if it did.
        notes: anything the reader should know.
        attention: where a seq2seq model looked, for chosen dev examples (the HTML report only).
    """

    run_name: str
    run_dir: Path
    run_id: str | None
    tracking_uri: str | None
    set_name: str
    spec: AnalysisSpec | AnalysisDefaults
    task: str = "multiclass"
    whole_set: SetReport | None = None
    sequence: SequenceReport | None = None
    regression: RegressionReport | None = None
    per_task: dict[str, SetReport] = field(default_factory=dict)
    detection: DetectionErrors | None = None
    worst_images: Path | None = None
    parts: PartsReport | None = None
    ctc: CTCErrors | None = None
    sheet_path: Path | None = None
    examples_path: Path | None = None
    n_sampled: int = 0
    sheet_written: bool = False
    sheet_columns: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    tags_path: Path | None = None
    categories: CategoryReport | None = None
    rules: dict[str, str] = field(default_factory=dict)
    label_issues: LabelIssuesResult | None = None
    label_issues_path: Path | None = None
    report_path: Path | None = None
    logged: bool = False
    logging_error: str | None = None
    notes: list[str] = field(default_factory=list)
    attention: list[AttentionMap] = field(default_factory=list)

    @property
    def dev_errors(self) -> tuple[int, int, float] | None:
        """``(n, n_errors, error)`` of the analysed set where its examples are right or wrong."""
        if self.whole_set is not None:
            return self.whole_set.n, self.whole_set.n_errors, self.whole_set.error
        if self.sequence is not None:
            return self.sequence.n, self.sequence.n_errors, self.sequence.error
        if self.detection is not None:
            d = self.detection
            return d.n_images, d.n_errors, d.n_errors / d.n_images if d.n_images else float("nan")
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (rates as fractions)."""
        out: dict[str, Any] = {
            "run_name": self.run_name,
            "run_dir": str(self.run_dir),
            "run_id": self.run_id,
            "task": self.task,
            "set": self.set_name,
        }
        errors = self.dev_errors
        if errors is not None:
            out.update(dict(zip(("n", "n_errors", "error"), errors, strict=True)))
        out.update(
            {
                "sheet": str(self.sheet_path) if self.sheet_path else None,
                "sheet_written": self.sheet_written,
                "examples_page": str(self.examples_path) if self.examples_path else None,
                "n_sampled": self.n_sampled,
                "tags": str(self.tags_path) if self.tags_path else None,
                "rules": self.rules,
                "categories": None,
            }
        )
        if self.whole_set is not None:
            out.update(_set_report_dict(self.whole_set))
        if self.sequence is not None:
            q = self.sequence
            out["sequence"] = {
                "score": q.score,
                "weighted": q.weighted,
                "sets": [asdict(s) for s in q.sets],
                "worst": _records(q.worst),
                "by_length": [asdict(r) for r in q.by_length],
                "attention": [m.to_dict() for m in self.attention],
            }
            out["slices"] = [asdict(s) for s in q.slices]
        if self.ctc is not None:
            from dlkit.analysis.ctc_errors import ctc_dict

            out["ctc"] = ctc_dict(self.ctc)
        if self.regression is not None:
            g = self.regression
            out.update({"n": g.n, "mse": g.mse, "mae": g.mae, "mean_residual": g.mean_residual})
            out["largest_errors"] = _records(g.largest)
            out["slices"] = [asdict(s) for s in g.slices]
        if self.detection is not None:
            d = self.detection
            out["detection"] = {
                "by_class": [
                    {**asdict(r), "miss_rate": r.miss_rate, "false_rate": r.false_rate} for r in d.by_class
                ],
                "by_size": [
                    {**asdict(r), "miss_rate": r.miss_rate, "false_rate": r.false_rate} for r in d.by_size
                ],
                "false_by_iou": dict(d.by_iou),
                "worst": d.worst,
                "worst_images": str(self.worst_images) if self.worst_images else None,
            }
        if self.parts is not None:
            out.update({"n": self.parts.n, "error": self.parts.error, "summary": self.parts.summary})
            out["tables"] = {title: _records(table) for title, table in self.parts.tables}
        if self.per_task:
            out["tasks"] = {
                name: {"n": w.n, "n_errors": w.n_errors, "error": w.error, **_set_report_dict(w)}
                for name, w in self.per_task.items()
            }
        out.update(
            {
                "label_issues": None,
                "report": str(self.report_path) if self.report_path else None,
                "logged": self.logged,
                "logging_error": self.logging_error,
                "notes": self.notes,
            }
        )
        if self.categories is not None:
            c = self.categories
            out["categories"] = {
                "dev_error": c.dev_error,
                "n_reviewed": c.n_reviewed,
                "n_errors": c.n_errors,
                "n_untagged": c.n_untagged,
                "rows": [{**asdict(r), "ceiling_points": r.ceiling_points} for r in c.categories],
                "comments": [{"id": i, "comment": t} for i, t in c.comments],
                "incorrectly_labelled": asdict(c.labels) if c.labels else None,
            }
        if self.label_issues is not None:
            li = self.label_issues
            out["label_issues"] = {
                "source": li.source,
                "sets": li.sets,
                "file": str(self.label_issues_path) if self.label_issues_path else None,
                "n_examples": li.n_examples,
                "oos_accuracy": li.oos_accuracy,
                "n_disagree": li.n_disagree,
                "n_flagged": len(li.issues),
                "issues": [asdict(i) for i in li.issues],
                "caveat": li.caveat,
                "notes": li.notes,
            }
        return out


def _records(frame: pd.DataFrame | Columns) -> list[dict[str, Any]]:
    if isinstance(frame, Columns):  # no nulls (see runs/_parquet.py); NaN as a frame's is None
        return [
            {k: None if isinstance(v, float) and v != v else v for k, v in row.items()}
            for row in frame.records()
        ]
    return list(frame.astype(object).where(frame.notna(), None).to_dict("records"))


def _set_report_dict(w: SetReport) -> dict[str, Any]:
    return {
        "per_class": [asdict(r) for r in w.per_class],
        "confusion": {"classes": w.classes, "matrix": w.confusion.tolist()},
        "most_confused": [asdict(p) for p in w.confused_pairs],
        "highest_loss": _records(w.highest_loss),
        "slices": [asdict(s) for s in w.slices],
    }


def read_analysis_spec(run: RunDir) -> tuple[AnalysisSpec | AnalysisDefaults, dict[str, Any]]:
    """The ``analysis`` section of the run's recipe.yaml (defaults when absent), and the recipe.

    Raises:
        RecipeError: the section is invalid (one line per problem, with its dotted path).
    """
    recipe = read_recipe(run)
    section = recipe.get("analysis") or {}
    defaults = AnalysisDefaults()
    if section in ({}, defaults.model_dump()):
        # the defaults (dlkit train writes them out when the recipe has no section): valid as
        # they are, and pydantic with the spec's validators costs more than the whole reading
        return defaults, recipe
    from pydantic import ValidationError

    from dlkit.analysis.spec import AnalysisSpec

    try:
        return AnalysisSpec.model_validate(section), recipe
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(p) for p in ("analysis", *error["loc"]))
            lines.append(f"{run.recipe_path}: {where}: {error['msg']}")
        raise RecipeError("\n".join(dict.fromkeys(lines))) from None


def _predictions(run: RunDir, name: str, required: Sequence[str]) -> pd.DataFrame:
    path = run.predictions_path(name)
    if not path.is_file():
        raise DataError(
            f"run '{run.path.name}': no stored predictions for {name} ({path})",
            hint="analyze-errors reads predictions/<set>.parquet written by dlkit train",
        )
    frame = pd.read_parquet(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: no column '{missing[0]}'")
    return frame


def _prediction_columns(run: RunDir, name: str, reader: TaskReports) -> Columns | None:
    """The columns of a set's predictions the task's reading reads, without pandas; None when
    the file lacks one or holds one that is not plain (:func:`~dlkit.runs._parquet.read_columns`):
    :func:`_predictions` then reads the frame, or says what is wrong."""
    import pyarrow.parquet as pq

    path = run.predictions_path(name)
    try:
        present = set(pq.read_schema(path).names)
    except (OSError, ValueError):
        return None
    if not set(reader.required) <= present:
        return None
    columns = read_columns(path, [c for c in reader.columns_read if c in present])
    return Columns(columns) if columns is not None else None


def _reads_columns(
    run: RunDir,
    reader: TaskReports,
    spec: AnalysisSpec | AnalysisDefaults,
    metadata: Sequence[str],
    *,
    want_issues: bool,
    writes_sheet: bool,
) -> bool:
    """Whether dev's analysis can read its columns without a pandas frame: a task whose reading
    takes columns, no metadata to slice by, no rules, no label issues, no eyeball part, and no
    sheet to draw and write (an existing one is kept)."""
    return bool(
        reader.columns_read
        and not metadata
        and not spec.rules
        and not want_issues
        and not writes_sheet
        and not _divided(run)
    )


def _refuse_options(
    name: str,
    task: Task,
    reader: TaskReports,
    sheet_options: dict[str, bool],
    issue_options: dict[str, bool],
) -> None:
    """Refuse, in one line, an option whose report does not apply to the run's task.

    Raises:
        UnsupportedRunError: a sheet option for a task without an error sheet, or a label-issue
            option for a task without class labels.
    """
    given = [option for option, used in sheet_options.items() if used]
    if given and not reader.sheet:
        raise UnsupportedRunError(
            f"run '{name}': {given[0]}: task {task.name} has no error sheet: {reader.no_sheet}"
        )
    given = [option for option, used in issue_options.items() if used]
    if given and not (task.classifies and "label_issues" in task.reports):
        raise UnsupportedRunError(
            f"run '{name}': {given[0]}: suspected label errors are for class labels, one per "
            f"example; task {task.name} has none"
        )


def analyze_run(
    run: RunDir,
    *,
    tags: Path | None = None,
    sample: int | None = None,
    seed: int | None = None,
    stratify: bool = False,
    new_sheet: bool = False,
    find_label_issues: bool = False,
    model_gap: float | None = None,
    reports: bool = True,
    folds: int | None = None,
    label_issues_on: Sequence[str] | None = None,
    on_fold: Callable[[FoldEnd], None] | None = None,
) -> AnalyzeErrorsResult:
    """Error analysis of one finished run (docs/method.md §4), as its task reads it.

    Args:
        run: the run directory.
        tags: a filled sheet to read back and report on.
        sample: errors on the sheet (the recipe's ``analysis.sample`` when None).
        seed: sampling seed (the recipe's ``seed`` when None).
        stratify: allocate the sample by (true, predicted) pair.
        new_sheet: overwrite an existing sheet (it may hold a person's tags).
        find_label_issues: flag suspected label errors in dev and test from the stored
            out-of-sample predictions (cleanlab).
        model_gap: the error difference between models that matters (labels reading).
        reports: write ``reports/errors.html`` and log outputs to MLflow.
        folds: flag suspected label errors from K-fold cross-validated predictions of the
            recipe's model, retrained K times (TensorFlow); implies ``find_label_issues``.
        label_issues_on: the sets to check (dev and test when None); ``train`` needs ``folds``.
        on_fold: called after each cross-validation fold.

    Returns:
        What was found and written.

    Raises:
        UnsupportedRunError: the task takes no part in error analysis, or an option's report
            does not apply to it (the sheet options for regression and multitask, label issues
            for tasks without class labels).
        DlkitError: no dev predictions, a bad analysis section or sheet.
    """
    info = run.info()
    name = str(info.get("run_name", run.path.name))
    task = task_for(str(info.get("task", "multiclass")))
    task.refuse("analyze_errors", name)
    reader = reports_for(task)
    want_issues = folds is not None or find_label_issues or bool(label_issues_on)
    _refuse_options(
        name,
        task,
        reader,
        {
            "--tags": tags is not None,
            "--sample": sample is not None,
            "--seed": seed is not None,
            "--stratify": stratify,
            "--new-sheet": new_sheet,
            "--model-gap": model_gap is not None,
        },
        {
            "--folds": folds is not None,
            "--label-issues-on": bool(label_issues_on),
            "--label-issues": want_issues,
        },
    )
    if sample is not None and sample < 1:
        raise RecipeError(f"--sample: expected at least 1 (got {sample})")
    if folds is not None and folds < 2:
        raise RecipeError(f"--folds: expected at least 2 folds (got {folds})")
    # checked before anything is written
    judged = _judged_sets(run, label_issues_on, folds) if want_issues else []
    spec, recipe = read_analysis_spec(run)
    metadata = [str(c) for c in info.get("metadata_columns") or []]
    writes_sheet = reader.sheet and (new_sheet or not (run.path / ANALYSIS_DIR / SHEET_FILE).exists())
    dev: pd.DataFrame | Columns | None = None
    if _reads_columns(run, reader, spec, metadata, want_issues=want_issues, writes_sheet=writes_sheet):
        dev = _prediction_columns(run, SET, reader)
    if dev is None:
        dev = reader.prepare(_predictions(run, SET, reader.required))
    classes: list[Any] = []
    if task.classifies or reader.uses_classes:
        classes = list(info.get("classes") or [])
        if not classes:
            classes = sorted(set(dev["y_true"].tolist()) | set(dev["y_pred"].tolist()), key=str)
    notes: list[str] = []
    looked = dev
    if reader.sheet and not isinstance(dev, Columns):  # columns: dev is not divided
        # with an eyeball / black-box dev split, a person only ever looks at the eyeball part
        eyeball = eyeball_part(run, dev)
        if eyeball is not None:
            looked = eyeball
            blackbox = dev.loc[~dev.index.isin(looked.index)]
            bb_error = float((~blackbox["correct"].astype(bool)).mean()) if len(blackbox) else float("nan")
            notes.append(
                f"dev is split into an eyeball part ({len(looked)} examples, "
                f"{int((~looked['correct'].astype(bool)).sum())} errors) and a black-box part "
                f"({len(blackbox)} examples, error {bb_error:.2%}): the sheet and the "
                f"{'highest-loss' if task.classifies else 'worst-example'} list come from the "
                "eyeball part only; the black-box part is only measured"
            )
    sets = {
        s: dev if s == SET else reader.prepare(_predictions(run, s, reader.required))
        for s in _sets(run, reader)
    }
    reading = reader.reading(sets, looked, classes, metadata)
    result = AnalyzeErrorsResult(
        run_name=name,
        run_dir=run.path,
        run_id=info.get("run_id"),
        tracking_uri=info.get("tracking_uri"),
        set_name=SET,
        spec=spec,
        task=task.name,
        whole_set=reading.whole_set,
        sequence=reading.sequence,
        regression=reading.regression,
        per_task=reading.per_task,
        detection=reading.detection,
        parts=reading.parts,
        ctc=reading.ctc,
        sheet_columns=[*reader.sheet_columns, *metadata],
        classes=[str(c) for c in classes],
        rules=rule_summary(spec.rules),
        notes=notes,
    )
    if reader.sheet:
        _sheet(
            run,
            info,
            recipe,
            reader,
            result,
            dev,
            looked,
            tags,
            model_gap,
            sample=sample,
            seed=seed,
            stratify=stratify,
            new_sheet=new_sheet,
        )
    if reports and result.detection is not None and result.detection.worst:
        result.worst_images = _draw_worst(info, recipe, dev, result.detection.worst, run.path / REPORTS_DIR)
        if result.worst_images is None:
            notes.append("the worst images are not drawn: the run's data source is unavailable or changed")
    if want_issues:
        from dlkit.runs.label_issues import folds_label_issues, write_label_issues

        folder = run.path / ANALYSIS_DIR
        if folds is not None:
            result.label_issues = folds_label_issues(run, info, folds, judged, on_fold)
        else:
            frames = {s: dev if s == SET else _predictions(run, s, reader.required) for s in judged}
            from dlkit.analysis.label_issues import from_predictions

            result.label_issues = from_predictions(frames, classes)
        result.label_issues_path = write_label_issues(result.label_issues, folder / LABEL_ISSUES_FILE)
    if reports:
        from dlkit.runs.journal import error_analysis_verdict, record_verdict

        result.attention = reader.attention(run, recipe, dev)  # loads the model: the page only
        result.report_path = _write_report(run, result)
        try:
            if result.run_id and result.tracking_uri:
                log_outputs(result)
                result.logged = True
            # the decision journal: the verdict on the run, for the chain dlkit runs show tells
            record_verdict(run, error_analysis_verdict(result), result.run_id, result.tracking_uri)
        except TrackingError as exc:
            result.logging_error = exc.message
            log.warning("analysis not logged to MLflow: %s", exc.message)
    return result


def _sets(run: RunDir, reader: TaskReports) -> list[str]:
    """The sets the reading compares: dev, or every set with predictions."""
    if not reader.every_set:
        return [SET]
    return run.splits_with_predictions()


def _sheet(
    run: RunDir,
    info: dict[str, Any],
    recipe: dict[str, Any],
    reader: TaskReports,
    result: AnalyzeErrorsResult,
    dev: pd.DataFrame,
    looked: pd.DataFrame,
    tags: Path | None,
    model_gap: float | None,
    *,
    sample: int | None,
    seed: int | None,
    stratify: bool,
    new_sheet: bool,
) -> None:
    """Write the sheet of sampled dev errors (or keep one), and read tags and rules into ceilings."""
    errors = result.dev_errors
    assert errors is not None  # a task with a sheet reads each example as right or wrong
    dev_error = errors[2]
    spec, notes = result.spec, result.notes
    carried = result.sheet_columns
    n_looked_errors = int((~looked["correct"].astype(bool)).sum())
    folder = run.path / ANALYSIS_DIR
    sheet_path = folder / SHEET_FILE
    examples_path: Path | None = folder / "errors.html"
    if sheet_path.exists() and not new_sheet:
        notes.append(f"kept the existing sheet {sheet_path} (it may hold tags); --new-sheet replaces it")
        result.n_sampled = count_rows(sheet_path)
    else:
        n = sample or spec.sample
        picked = sample_errors(looked, n, seed if seed is not None else int(recipe.get("seed", 0)), stratify)
        sheet = build_sheet(picked, spec.sheet_categories(), carried)
        sheet_path, _ = write_sheet(sheet, folder)
        examples_path = _write_examples_page(run, info, recipe, reader, sheet, folder / "errors.html", notes)
        result.n_sampled, result.sheet_written = len(sheet), True
        if n_looked_errors > n:
            notes.append(
                f"the sheet holds {n} of the {n_looked_errors} dev errors it was drawn from (seeded sample)"
            )
    result.sheet_path = sheet_path
    result.examples_path = examples_path if examples_path and examples_path.exists() else None
    where = "this run's dev set" if looked is dev else "the eyeball part of this run's dev set"
    if tags is not None:
        tagged = read_sheet(Path(tags), spec.sheet_categories(), looked["id"].tolist(), carried, where=where)
        result.tags_path = Path(tags)
        result.categories = _tagged_report(tagged, dev, spec, dev_error, model_gap, n_looked_errors)
        if tagged.added:
            notes.append(f"categories added on the sheet: {', '.join(tagged.added)}")
    elif spec.rules:
        # rules need no person: apply them to every dev error
        wrong = dev.loc[~dev["correct"].astype(bool)]
        rule_tags = apply_rules(wrong, spec.rules)
        rows = category_rows(rule_tags, dev_error, dict.fromkeys(spec.rules, "rule"))
        result.categories = CategoryReport(
            dev_error=dev_error,
            n_reviewed=len(wrong),
            n_errors=errors[1],
            categories=rows,
            n_untagged=int((~rule_tags.any(axis=1)).sum()),
        )
        notes.append("rule categories cover every dev error; tag the sheet and pass --tags for the rest")


DEV_PART = "dev_part"


def eyeball_part(run: RunDir, dev: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``dev`` in the eyeball part, when the split manifest has a ``dev_part`` column.

    ``dlkit split`` may divide a large dev set into an *eyeball* part (looked at) and a
    *black-box* part (only measured); the manifest then says ``eyeball`` or ``blackbox`` for
    each dev row (docs/method.md §4).

    Returns:
        The eyeball rows, or None when dev is not divided.

    Raises:
        DataError: the column holds another value for a dev row, or no dev row is eyeball.
    """
    if not _divided(run):
        return None
    manifest = pd.read_parquet(run.manifest_path, columns=["id", "set", DEV_PART])
    parts = manifest.loc[manifest["set"] == SET]
    values = parts[DEV_PART].astype("string").str.strip().str.lower()
    bad = parts.loc[~values.isin(["eyeball", "blackbox"])]
    if len(bad):
        raise DataError(
            f"{run.manifest_path}: column '{DEV_PART}': dev example {bad['id'].iloc[0]!r} is "
            f"{bad[DEV_PART].iloc[0]!r}; expected 'eyeball' or 'blackbox'"
        )
    eyeball = set(parts.loc[values == "eyeball", "id"].astype(str))
    if not eyeball:
        raise DataError(f"{run.manifest_path}: column '{DEV_PART}': no dev example is in the eyeball part")
    return dev.loc[dev["id"].astype(str).isin(eyeball)]


def _divided(run: RunDir) -> bool:
    """Whether the run's split manifest divides dev into eyeball and black-box parts."""
    if not run.manifest_path.is_file():
        return False
    import pyarrow.parquet as pq

    return DEV_PART in pq.read_schema(run.manifest_path).names


def _judged_sets(run: RunDir, wanted: Sequence[str] | None, folds: int | None) -> list[str]:
    """The sets to check for label errors (dev and test by default), validated.

    Raises:
        RecipeError: an unknown set, a set the run does not have, or train without ``folds``.
    """
    from dlkit.data.split import SPLITS

    present = run.splits_with_predictions()
    if not wanted:
        return [s for s in (SET, "test") if s in present]
    names = list(dict.fromkeys(str(s).strip() for s in wanted))
    for name in names:
        if name not in SPLITS:
            raise RecipeError(
                f"--label-issues-on: unknown set '{name}' (expected some of {', '.join(SPLITS)})."
                f"{did_you_mean(name, SPLITS)}"
            )
        if name not in present:
            raise RecipeError(f"--label-issues-on: run '{run.path.name}' has no {name} set")
    if "train" in names and folds is None:
        raise RecipeError(
            "--label-issues-on train: the run's train predictions are in-sample (its model trained "
            "on them); add --folds K for out-of-sample ones"
        )
    return names


def _tagged_report(
    tagged: TaggedSheet,
    dev: pd.DataFrame,
    spec: AnalysisSpec | AnalysisDefaults,
    dev_error: float,
    model_gap: float | None,
    n_errors: int,
) -> CategoryReport:
    frame = tagged.frame
    rule_tags = None
    if spec.rules:
        by_id = dev.assign(_key=dev["id"].astype(str)).set_index("_key")
        rule_tags = apply_rules(by_id.loc[frame["id"]].reset_index(drop=True), spec.rules)
    return category_report(
        frame, tagged.categories, dev_error, n_errors, rule_tags=rule_tags, model_gap=model_gap
    )


def _run_data(info: dict[str, Any], recipe: dict[str, Any]) -> Any:
    """The run's dataset read again without TensorFlow, or None when it cannot be read or has
    changed since the run (its content hash differs)."""
    from dlkit.data.sources import load_source
    from dlkit.errors import DlkitError
    from dlkit.recipe.loader import validate_recipe

    data = {k: v for k, v in recipe.items() if k != "analysis"}
    try:
        spec = validate_recipe(data, "recipe.yaml", Path.cwd())
        dataset = load_source(spec.data.source, spec.data.task, Path.cwd())
    except DlkitError as exc:
        log.info("example inputs not shown: %s", exc.message)
        return None
    if info.get("content_hash") and dataset.content_hash != info["content_hash"]:
        return None
    return dataset


def _draw_worst(
    info: dict[str, Any], recipe: dict[str, Any], dev: pd.DataFrame, worst: list[str], folder: Path
) -> Path | None:
    """The worst dev images with their true and predicted boxes: ``reports/worst/<id>.png``."""
    from dlkit.reporting.boxes import draw_frame

    dataset = _run_data(info, recipe)
    index = _positions(dataset, worst) if dataset is not None else None
    if dataset is None or index is None:
        return None
    frame = dev.set_index(dev["id"].astype(str)).loc[worst].reset_index(drop=True)
    scale = max(1, 256 // max(dataset.input_shape[:2]))
    draw_frame(dataset.x[index], dataset.sizes[index], frame, folder / "worst", scale)
    return folder / "worst"


def _positions(dataset: Dataset, ids: list[Any]) -> np.ndarray | None:
    """The positions `(k,)` of ``ids`` in the run's data read again, or None when one is gone."""
    position = {str(i): k for k, i in enumerate(dataset.ids.tolist())}
    rows = [position.get(str(i)) for i in ids]
    return None if any(r is None for r in rows) else np.asarray(rows, dtype=np.int64)


def example_inputs(info: dict[str, Any], recipe: dict[str, Any], ids: list[Any]) -> tuple[str, Any] | None:
    """The inputs of some examples, read from the run's data source without TensorFlow.

    Returns:
        ``("image", array (n, h, w))`` or ``("tabular", DataFrame of features)``, or None when
        the source cannot be read or has changed since the run (its content hash differs), or
        the run's task shows its inputs otherwise (a sequence's input text is on the sheet).
    """
    if not reports_for(task_for(str(info.get("task", "multiclass")))).example_inputs:
        return None
    dataset = _run_data(info, recipe)
    index = _positions(dataset, ids) if dataset is not None else None
    if dataset is None or index is None:
        return None
    if "columns" in dataset.options:  # typed table columns
        from dlkit.data.columns import table_columns

        return "tabular", table_columns(dataset).frame(index)
    x = dataset.x[index]
    if dataset.kind == "image":
        return "image", x[..., 0] if x.ndim == 4 else x
    return "tabular", pd.DataFrame(x, columns=dataset.feature_names or None)


def _write_examples_page(
    run: RunDir,
    info: dict[str, Any],
    recipe: dict[str, Any],
    reader: TaskReports,
    sheet: pd.DataFrame,
    path: Path,
    notes: list[str],
) -> Path:
    from dlkit.reporting.errors import examples_html

    inputs = None
    if reader.example_inputs and len(sheet):
        inputs = example_inputs(info, recipe, sheet["id"].tolist())
        if inputs is None:
            notes.append("the examples page shows no inputs: the run's data source is unavailable or changed")
    what = "misclassified dev examples" if reader.task.classifies else "wrong dev examples"
    name = str(info.get("run_name", run.path.name))
    path.write_text(examples_html(name, sheet, inputs, what), encoding="utf-8")
    return path


def _write_report(run: RunDir, result: AnalyzeErrorsResult) -> Path:
    from dlkit.reporting.errors import to_html

    folder = run.path / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "errors.html"
    path.write_text(to_html(result), encoding="utf-8")
    return path


def log_outputs(result: AnalyzeErrorsResult) -> None:
    """Log the sheet, the examples page, the report and the ceilings to the run's MLflow run.

    Raises:
        TrackingError: the store cannot be reached or the run is not in it.
    """
    from dlkit.tracking.mlflow_tracker import log_to_run

    sheet = result.sheet_path
    written = (sheet, sheet.with_suffix(".parquet"), result.examples_path) if sheet is not None else ()
    files = [(path, ANALYSIS_DIR) for path in written if path is not None]
    if result.report_path is not None:
        files.append((result.report_path, REPORTS_DIR))
    metrics: dict[str, float] = {}
    if result.categories is not None:
        metrics.update(
            {
                f"errors_ceiling_{r.name}": r.ceiling
                for r in result.categories.categories
                if r.name.replace("_", "").isalnum()
            }
        )
    if result.label_issues is not None:
        metrics["errors_label_issues"] = float(len(result.label_issues.issues))
        if np.isfinite(result.label_issues.oos_accuracy):
            metrics["errors_label_issues_oos_accuracy"] = result.label_issues.oos_accuracy
        for path in (result.label_issues_path, result.label_issues.probabilities_path):
            if path is not None:
                files.append((path, ANALYSIS_DIR))
    log_to_run(result.run_id, result.tracking_uri, files, metrics)
