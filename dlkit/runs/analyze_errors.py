"""``analyze_errors`` on a finished run: the error sheet, the tagged report, label suspicions.

Reads only the run directory (predictions, run.json, recipe.yaml): no TensorFlow. Writes
``analysis/errors.{csv,parquet,html}`` (the sheet and a page to look at its examples) and
``reports/errors.html`` into the run directory, and logs them to the run's MLflow run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from dlkit._naming import did_you_mean
from dlkit.analysis.error_analysis import (
    CategoryReport,
    SetReport,
    category_report,
    category_rows,
    highest_loss,
    sample_errors,
    set_report,
)
from dlkit.analysis.error_sheet import TaggedSheet, build_sheet
from dlkit.analysis.label_issues import LabelIssuesResult, from_predictions
from dlkit.analysis.rules import apply_rules, rule_summary
from dlkit.analysis.spec import AnalysisSpec
from dlkit.errors import DataError, RecipeError, TrackingError, UnsupportedRunError
from dlkit.rundir import RunDir
from dlkit.runs.error_sheet import read_sheet, write_sheet
from dlkit.runs.label_issues import folds_label_issues, write_label_issues

if TYPE_CHECKING:
    from dlkit.training.cross_val import FoldEnd

log = logging.getLogger(__name__)

ANALYSIS_DIR = "analysis"
REPORTS_DIR = "reports"
SET = "dev"
LABEL_ISSUES_FILE = "label_issues.csv"


@dataclass
class AnalyzeErrorsResult:
    """Everything ``dlkit analyze-errors`` found and wrote for one run.

    Attributes:
        run_name: the run's name.
        run_dir: its directory.
        run_id: its MLflow run id (None when untracked).
        tracking_uri: its MLflow store.
        set_name: the set analysed (dev).
        spec: the analysis section used.
        whole_set: per-class metrics, confusion, most-confused pairs, highest loss, slices.
        sheet_path: the error sheet (CSV; a Parquet copy sits beside it).
        examples_path: the page showing the sheet's examples.
        n_sampled: errors on the sheet.
        sheet_written: False when an existing sheet was kept (it may hold a person's tags).
        tags_path: the filled sheet read back (None without ``--tags``).
        categories: the tagged report (None without tags and rules).
        rules: each rule in words.
        label_issues: suspected label errors (None unless asked for).
        label_issues_path: the ranked list as CSV, with a corrected_label column to fill.
        report_path: ``reports/errors.html``.
        logged: whether the outputs were logged to MLflow.
        logging_error: why logging failed, if it did.
        notes: anything the reader should know.
    """

    run_name: str
    run_dir: Path
    run_id: str | None
    tracking_uri: str | None
    set_name: str
    spec: AnalysisSpec
    whole_set: SetReport
    sheet_path: Path
    examples_path: Path | None
    n_sampled: int
    sheet_written: bool
    tags_path: Path | None = None
    categories: CategoryReport | None = None
    rules: dict[str, str] = field(default_factory=dict)
    label_issues: LabelIssuesResult | None = None
    label_issues_path: Path | None = None
    report_path: Path | None = None
    logged: bool = False
    logging_error: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (rates as fractions)."""
        w = self.whole_set
        out: dict[str, Any] = {
            "run_name": self.run_name,
            "run_dir": str(self.run_dir),
            "run_id": self.run_id,
            "set": self.set_name,
            "n": w.n,
            "n_errors": w.n_errors,
            "error": w.error,
            "sheet": str(self.sheet_path),
            "sheet_written": self.sheet_written,
            "examples_page": str(self.examples_path) if self.examples_path else None,
            "n_sampled": self.n_sampled,
            "tags": str(self.tags_path) if self.tags_path else None,
            "rules": self.rules,
            "categories": None,
            "per_class": [asdict(r) for r in w.per_class],
            "confusion": {"classes": w.classes, "matrix": w.confusion.tolist()},
            "most_confused": [asdict(p) for p in w.confused_pairs],
            "highest_loss": w.highest_loss.astype(object)
            .where(w.highest_loss.notna(), None)
            .to_dict("records"),
            "slices": [asdict(s) for s in w.slices],
            "label_issues": None,
            "report": str(self.report_path) if self.report_path else None,
            "logged": self.logged,
            "logging_error": self.logging_error,
            "notes": self.notes,
        }
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


def read_analysis_spec(run: RunDir) -> tuple[AnalysisSpec, dict[str, Any]]:
    """The ``analysis`` section of the run's recipe.yaml (defaults when absent), and the recipe.

    Raises:
        RecipeError: the section is invalid (one line per problem, with its dotted path).
    """
    recipe: dict[str, Any] = {}
    if run.recipe_path.is_file():
        import yaml

        loaded = yaml.safe_load(run.recipe_path.read_text(encoding="utf-8"))
        recipe = loaded if isinstance(loaded, dict) else {}
    section = recipe.get("analysis") or {}
    try:
        return AnalysisSpec.model_validate(section), recipe
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(p) for p in ("analysis", *error["loc"]))
            lines.append(f"{run.recipe_path}: {where}: {error['msg']}")
        raise RecipeError("\n".join(dict.fromkeys(lines))) from None


def _predictions(run: RunDir, name: str) -> pd.DataFrame:
    path = run.predictions_path(name)
    if not path.is_file():
        raise DataError(
            f"run '{run.path.name}': no stored predictions for {name} ({path})",
            hint="analyze-errors reads predictions/<set>.parquet written by dlkit train",
        )
    frame = pd.read_parquet(path)
    missing = [c for c in ("id", "y_true", "y_pred", "correct", "loss") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: no column '{missing[0]}'")
    return frame


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
    """Error analysis of one finished classification run (METHODOLOGY §4).

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
        DlkitError: not a classification run, no dev predictions, a bad analysis section or sheet.
    """
    info = run.info()
    name = str(info.get("run_name", run.path.name))
    if info.get("task") == "multitask":
        raise UnsupportedRunError(
            f"run '{name}': error analysis needs a single-target classification run (this one is multitask)",
            hint="per-task accuracy and AUC are in metrics.json, per-task predictions in predictions/",
        )
    if info.get("task") == "sequence_labeling":
        raise UnsupportedRunError(
            f"run '{name}': error analysis needs a single-target classification run "
            "(this one is sequence_labeling, one label per step)",
            hint="read the wrong sequences (correct == False) in predictions/dev.parquet",
        )
    if info.get("task") == "seq2seq":
        raise UnsupportedRunError(
            f"run '{name}': error analysis needs a single-target classification run (this one is seq2seq)",
            hint="read the wrong decodings (correct == False) in predictions/dev.parquet",
        )
    if info.get("task") == "regression":
        raise DataError(
            f"run '{name}': error analysis needs a classification run (this one is regression)",
            hint="for regression, read the highest-loss examples in predictions/dev.parquet",
        )
    if sample is not None and sample < 1:
        raise RecipeError(f"--sample: expected at least 1 (got {sample})")
    if folds is not None and folds < 2:
        raise RecipeError(f"--folds: expected at least 2 folds (got {folds})")
    want_issues = folds is not None or find_label_issues or bool(label_issues_on)
    # checked before anything is written
    judged = _judged_sets(run, label_issues_on, folds) if want_issues else []
    spec, recipe = read_analysis_spec(run)
    classes = list(info.get("classes") or [])
    metadata = [str(c) for c in info.get("metadata_columns") or []]
    dev = _predictions(run, SET)
    if not classes:
        classes = sorted(set(dev["y_true"].tolist()) | set(dev["y_pred"].tolist()), key=str)
    whole = set_report(dev, classes, metadata)
    notes: list[str] = []
    # with an eyeball / black-box dev split, a person only ever looks at the eyeball part
    looked = eyeball_part(run, dev)
    where = "this run's dev set"
    if looked is not None:
        where = "the eyeball part of this run's dev set"
        blackbox = dev.loc[~dev.index.isin(looked.index)]
        bb_error = float((~blackbox["correct"].astype(bool)).mean()) if len(blackbox) else float("nan")
        notes.append(
            f"dev is split into an eyeball part ({len(looked)} examples, "
            f"{int((~looked['correct'].astype(bool)).sum())} errors) and a black-box part ({len(blackbox)} "
            f"examples, error {bb_error:.2%}): the sheet and the highest-loss list come from the eyeball "
            "part only; the black-box part is only measured"
        )
        whole.highest_loss = highest_loss(looked, len(whole.highest_loss) or 10, metadata)
    else:
        looked = dev
    n_looked_errors = int((~looked["correct"].astype(bool)).sum())

    folder = run.path / ANALYSIS_DIR
    sheet_path = folder / "errors.csv"
    n_sampled = 0
    sheet_written = False
    examples_path: Path | None = folder / "errors.html"
    if sheet_path.exists() and not new_sheet:
        notes.append(f"kept the existing sheet {sheet_path} (it may hold tags); --new-sheet replaces it")
        n_sampled = len(pd.read_csv(sheet_path, usecols=["id"]))
    else:
        n = sample or spec.sample
        picked = sample_errors(looked, n, seed if seed is not None else int(recipe.get("seed", 0)), stratify)
        sheet = build_sheet(picked, spec.sheet_categories(), metadata)
        sheet_path, _ = write_sheet(sheet, folder)
        examples_path = _write_examples_page(run, info, recipe, sheet, folder / "errors.html", notes)
        n_sampled, sheet_written = len(sheet), True
        if n_looked_errors > n:
            notes.append(
                f"the sheet holds {n} of the {n_looked_errors} dev errors it was drawn from (seeded sample)"
            )

    result = AnalyzeErrorsResult(
        run_name=name,
        run_dir=run.path,
        run_id=info.get("run_id"),
        tracking_uri=info.get("tracking_uri"),
        set_name=SET,
        spec=spec,
        whole_set=whole,
        sheet_path=sheet_path,
        examples_path=examples_path if examples_path and examples_path.exists() else None,
        n_sampled=n_sampled,
        sheet_written=sheet_written,
        rules=rule_summary(spec.rules),
        notes=notes,
    )
    errors = dev.loc[~dev["correct"].astype(bool)]
    if tags is not None:
        tagged = read_sheet(Path(tags), spec.sheet_categories(), looked["id"].tolist(), metadata, where=where)
        result.tags_path = Path(tags)
        result.categories = _tagged_report(tagged, dev, spec, whole, model_gap, n_looked_errors)
        if tagged.added:
            notes.append(f"categories added on the sheet: {', '.join(tagged.added)}")
    elif spec.rules:
        # rules need no person: apply them to every dev error
        rule_tags = apply_rules(errors, spec.rules)
        rows = category_rows(rule_tags, whole.error, dict.fromkeys(spec.rules, "rule"))
        result.categories = CategoryReport(
            dev_error=whole.error,
            n_reviewed=len(errors),
            n_errors=whole.n_errors,
            categories=rows,
            n_untagged=int((~rule_tags.any(axis=1)).sum()),
        )
        notes.append("rule categories cover every dev error; tag the sheet and pass --tags for the rest")
    if want_issues:
        if folds is not None:
            result.label_issues = folds_label_issues(run, info, folds, judged, on_fold)
        else:
            frames = {name: dev if name == SET else _predictions(run, name) for name in judged}
            result.label_issues = from_predictions(frames, classes)
        result.label_issues_path = write_label_issues(result.label_issues, folder / LABEL_ISSUES_FILE)
    if reports:
        result.report_path = _write_report(run, result)
        if result.run_id and result.tracking_uri:
            try:
                log_outputs(result)
                result.logged = True
            except TrackingError as exc:
                result.logging_error = exc.message
                log.warning("analysis not logged to MLflow: %s", exc.message)
    return result


DEV_PART = "dev_part"


def eyeball_part(run: RunDir, dev: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``dev`` in the eyeball part, when the split manifest has a ``dev_part`` column.

    ``dlkit split`` may divide a large dev set into an *eyeball* part (looked at) and a
    *black-box* part (only measured); the manifest then says ``eyeball`` or ``blackbox`` for
    each dev row (METHODOLOGY §4).

    Returns:
        The eyeball rows, or None when dev is not divided.

    Raises:
        DataError: the column holds another value for a dev row, or no dev row is eyeball.
    """
    if not run.manifest_path.is_file():
        return None
    import pyarrow.parquet as pq

    if DEV_PART not in pq.read_schema(run.manifest_path).names:
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
    spec: AnalysisSpec,
    whole: SetReport,
    model_gap: float | None,
    n_errors: int,
) -> CategoryReport:
    frame = tagged.frame
    rule_tags = None
    if spec.rules:
        by_id = dev.assign(_key=dev["id"].astype(str)).set_index("_key")
        rule_tags = apply_rules(by_id.loc[frame["id"]].reset_index(drop=True), spec.rules)
    return category_report(
        frame, tagged.categories, whole.error, n_errors, rule_tags=rule_tags, model_gap=model_gap
    )


def example_inputs(info: dict[str, Any], recipe: dict[str, Any], ids: list[Any]) -> tuple[str, Any] | None:
    """The inputs of some examples, read from the run's data source without TensorFlow.

    Returns:
        ``("image", array (n, h, w))`` or ``("tabular", DataFrame of features)``, or None when
        the source cannot be read or has changed since the run (its content hash differs).
    """
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
    position = {str(i): k for k, i in enumerate(dataset.ids.tolist())}
    rows = [position.get(str(i)) for i in ids]
    if any(r is None for r in rows):
        return None
    x = dataset.x[np.asarray(rows, dtype=np.int64)]
    if dataset.kind == "image":
        return "image", x[..., 0] if x.ndim == 4 else x
    return "tabular", pd.DataFrame(x, columns=dataset.feature_names or None)


def _write_examples_page(
    run: RunDir,
    info: dict[str, Any],
    recipe: dict[str, Any],
    sheet: pd.DataFrame,
    path: Path,
    notes: list[str],
) -> Path:
    from dlkit.reporting.errors import examples_html

    inputs = example_inputs(info, recipe, sheet["id"].tolist()) if len(sheet) else None
    if inputs is None and len(sheet):
        notes.append("the examples page shows no inputs: the run's data source is unavailable or changed")
    path.write_text(examples_html(str(info.get("run_name", run.path.name)), sheet, inputs), encoding="utf-8")
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

    files = [
        (path, ANALYSIS_DIR)
        for path in (result.sheet_path, result.sheet_path.with_suffix(".parquet"), result.examples_path)
        if path is not None
    ]
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
