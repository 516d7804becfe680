"""``dlkit report RUN|STUDY``: one self-contained HTML page about a finished run or a study.

Reads only what the run (or study) directory holds: run.json, recipe.yaml, history.csv,
metrics.json, the stored predictions (confusion matrix, diagnosis) and the reports other
commands left there (``reports/errors.html`` from ``dlkit analyze-errors``,
``reports/learning_curve.json`` from ``dlkit diagnose --learning-curve``). The diagnosis is
computed again from the stored predictions (it takes milliseconds); no TensorFlow is imported
unless the recipe asks diagnose to time the model (``latency_ms``). The page is written to
``report.html`` in the run (or study) directory and logged to its MLflow run as ``report.html``.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from dlkit.errors import DlkitError, RecipeError, TrackingError
from dlkit.rundir import RunDir, run_state

if TYPE_CHECKING:
    import numpy as np

    from dlkit.analysis.learning_curve import LearningCurveResult
    from dlkit.runs.diagnose import RunDiagnosis
    from dlkit.tuning.space import Dimension
    from dlkit.tuning.study import StudyDir, TrialRecord

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
#: Where ``mlflow ui`` / ``dlkit ui`` listen by default; the page links the run there.
DEFAULT_UI_URL = "http://127.0.0.1:5000"

# what a page dlkit wrote itself never holds: a stored page with any of these is not embedded
_FOREIGN = re.compile(r"<script|<iframe|<object|<embed|<link|\bsrc\s*=\s*(?![\"']?data:)", re.IGNORECASE)


@dataclass
class RunReport:
    """What the page of one run shows (read from its directory; rendered by reporting/html.py).

    Attributes:
        run_name: the run's name.
        run_dir: its directory.
        info: run.json.
        state: FINISHED, RUNNING, DEAD, FAILED or KILLED (:func:`~dlkit.rundir.run_state`).
        recipe_text: recipe.yaml as stored (the resolved recipe).
        metrics: metrics.json: per set, its metrics.
        history: history.csv (one row per epoch), None when the run has none.
        metric: the optimizing metric (run.json's ``optimize``).
        diagnosis: the diagnosis computed from the stored predictions, when it could be.
        diagnose_note: why there is none (no human-level error, the task, ...).
        diagnose_html: a stored ``reports/diagnose.html``'s body, when none could be computed.
        errors_html: the body of ``reports/errors.html`` (``dlkit analyze-errors``), if any.
        learning_curve: the stored learning curve (``dlkit diagnose --learning-curve``), if any.
        confusion: dev's confusion matrix `(classes, classes)` (classification tasks).
        classes: its class labels.
        link: the run in the MLflow UI.
        experiment_id: its MLflow experiment.
        notes: anything the reader should know about the page itself.
    """

    run_name: str
    run_dir: Path
    info: dict[str, Any]
    state: str
    recipe_text: str
    metrics: dict[str, dict[str, float]]
    history: pd.DataFrame | None
    metric: str
    diagnosis: RunDiagnosis | None = None
    diagnose_note: str | None = None
    diagnose_html: str | None = None
    errors_html: str | None = None
    learning_curve: LearningCurveResult | None = None
    confusion: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    link: str | None = None
    experiment_id: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class StudyReport:
    """What the page of one tuning study shows.

    Attributes:
        name: the study's name.
        study_dir: its directory.
        info: study.json.
        recipe_text: the study's recipe.yaml.
        records: every trial, best first (:func:`~dlkit.tuning.study.rank`).
        dims: the searched dimensions (the first round's space).
        objective: the optimizing metric's column (``dev_accuracy``).
        direction: ``max`` or ``min``.
        best_trial: the best feasible completed trial's name, if any.
        link: the study's parent run in the MLflow UI.
        trial_links: trial name -> its child run in the MLflow UI.
        notes: anything the reader should know about the page itself.
    """

    name: str
    study_dir: Path
    info: dict[str, Any]
    recipe_text: str
    records: list[TrialRecord]
    dims: list[Dimension]
    objective: str
    direction: str
    best_trial: str | None = None
    link: str | None = None
    trial_links: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportResult:
    """Where a report went.

    Attributes:
        kind: ``run`` or ``study``.
        name: the run's or study's name.
        path: the HTML file written.
        sections: the page's section ids, in order.
        run_id: the MLflow run it was logged to (None when untracked).
        link: the run in the MLflow UI.
        logged: whether it was logged as the run's ``report.html`` artifact.
        logging_error: why not, when logging failed.
        notes: what the page says it could not show.
    """

    kind: Literal["run", "study"]
    name: str
    path: Path
    sections: list[str]
    run_id: str | None = None
    link: str | None = None
    logged: bool = False
    logging_error: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": str(self.path),
            "sections": self.sections,
            "run_id": self.run_id,
            "link": self.link,
            "logged": self.logged,
            "logging_error": self.logging_error,
            "notes": self.notes,
        }


# -------------------------------------------------------------------------- reading a run


def ui_link(ui_url: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI at ``ui_url``."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def check_ui_url(ui_url: str) -> None:
    """Refuse a UI address the page could not link to.

    Raises:
        RecipeError: ``ui_url`` is not an http(s) address.
    """
    if not re.match(r"^https?://[^\s\"'<>]+$", ui_url):
        raise RecipeError(f"--ui-url: expected an http:// or https:// address (got {ui_url!r})")


def stored_body(path: Path, cut_at: str | None = None) -> str | None:
    """The body of a page dlkit wrote into the run (its title dropped, headings one level down).

    Returns:
        The HTML fragment, or None when the file is missing or holds anything a dlkit page never
        does (a script, a frame, an external resource): such a page is not embedded.
    """
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    start, end = text.find("<body>"), text.rfind("</body>")
    if start < 0 or end < 0:
        return None
    body = text[start + len("<body>") : end]
    if cut_at is not None and cut_at in body:
        body = body[: body.find(cut_at)]
    if _FOREIGN.search(body):
        log.warning("%s: not embedded (it refers to content outside the page)", path)
        return None
    from dlkit.reporting.html import demote_headings

    return demote_headings(re.sub(r"<h1>.*?</h1>", "", body, count=1, flags=re.DOTALL))


def _history(run: RunDir) -> pd.DataFrame | None:
    if not run.history_path.is_file():
        return None
    try:
        frame = pd.read_csv(run.history_path)
    except (ValueError, OSError):
        return None
    return frame if len(frame) else None


def _diagnose(run: RunDir, state: str, human_error: float | None) -> tuple[Any, str | None, str | None]:
    """The diagnosis computed from the stored predictions, else why not and the stored page."""
    from dlkit.runs.diagnose import REPORTS_DIR, diagnose_run

    if state != "FINISHED":
        return None, f"not diagnosed: the run is {state}, not FINISHED", None
    try:
        return diagnose_run(run, human_error, reports=False), None, None
    except DlkitError as exc:
        note = f"not diagnosed: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        stored = stored_body(run.path / REPORTS_DIR / "diagnose.html", cut_at="<h2>Learning curve</h2>")
        return None, note, stored


def _learning_curve(run: RunDir, notes: list[str]) -> LearningCurveResult | None:
    import json

    from dlkit.analysis.learning_curve import LearningCurveResult
    from dlkit.reporting.learning_curve import JSON_NAME

    path = run.path / JSON_NAME
    if not path.is_file():
        return None
    try:
        return LearningCurveResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        notes.append(f"{path}: cannot be read; the learning curve is left out")
        return None


def _confusion(run: RunDir, info: dict[str, Any], notes: list[str]) -> tuple[Any, list[str]]:
    from dlkit.analysis.error_analysis import confusion
    from dlkit.tasks import task_for

    task = task_for(str(info.get("task", "multiclass")))
    if not task.classifies:
        return None, []
    path = run.predictions_path("dev")
    if not path.is_file():
        notes.append(f"no confusion matrix: no dev predictions ({path})")
        return None, []
    try:
        dev = pd.read_parquet(path, columns=["y_true", "y_pred"])
    except (KeyError, ValueError, OSError) as exc:
        notes.append(f"no confusion matrix: {path}: {exc}")
        return None, []
    classes = list(info.get("classes") or [])
    if not classes:
        classes = sorted(set(dev["y_true"].tolist()) | set(dev["y_pred"].tolist()), key=str)
    return confusion(dev["y_true"], dev["y_pred"], classes), [str(c) for c in classes]


def read_run(run: RunDir, *, human_error: float | None = None) -> RunReport:
    """Everything the page of ``run`` shows (no MLflow: the link is added by :func:`report_run`).

    Raises:
        DataError: metrics.json cannot be read.
    """
    from dlkit.runs.analyze_errors import REPORTS_DIR

    info = run.info()
    name = str(info.get("run_name") or run.path.name)
    state = run_state(run)
    notes: list[str] = []
    metrics: dict[str, dict[str, float]] = {}
    if run.metrics_path.is_file():
        metrics = run.metrics()
    else:
        notes.append(f"no metrics per set yet ({run.metrics_path}): the run is {state}")
    recipe_text = run.recipe_path.read_text(encoding="utf-8") if run.recipe_path.is_file() else ""
    diagnosis, diagnose_note, diagnose_html = _diagnose(run, state, human_error)
    matrix, classes = _confusion(run, info, notes)
    return RunReport(
        run_name=name,
        run_dir=run.path,
        info=info,
        state=state,
        recipe_text=recipe_text,
        metrics=metrics,
        history=_history(run),
        metric=str(info.get("optimize") or "accuracy"),
        diagnosis=diagnosis,
        diagnose_note=diagnose_note,
        diagnose_html=diagnose_html,
        errors_html=stored_body(run.path / REPORTS_DIR / "errors.html"),
        learning_curve=_learning_curve(run, notes),
        confusion=matrix,
        classes=classes,
        notes=notes,
    )


# -------------------------------------------------------------------------- reading a study


def find_study(ref: str | Path, runs_dir: str | Path = "runs") -> StudyDir | None:
    """The study ``ref`` names (a study directory, or a study's name under ``runs_dir``), or None."""
    from dlkit.tuning.study import STUDY_FILE, StudyDir

    for candidate in (Path(ref), Path(runs_dir) / str(ref)):
        if (candidate / STUDY_FILE).is_file():
            return StudyDir(candidate)
    return None


def read_study(study: StudyDir) -> StudyReport:
    """Everything the page of a study shows (no MLflow: the links are added by :func:`report_study`)."""
    from dlkit.tuning.space import dimensions
    from dlkit.tuning.spec import TuneSpec
    from dlkit.tuning.study import best_of, rank

    info = study.info()
    direction = str(info.get("direction", "max"))
    records = study.records()
    notes: list[str] = []
    dims: list[Dimension] = []
    first = (info.get("round_specs") or {}).get("1")
    if first is not None:
        try:
            dims = dimensions(TuneSpec.model_validate(first))
        except ValueError as exc:
            notes.append(f"{study.info_path}: round 1's space cannot be read ({exc}); no plots per value")
    best = best_of(records, direction)
    recipe = study.recipe_path
    return StudyReport(
        name=str(info.get("name") or study.path.name),
        study_dir=study.path,
        info=info,
        recipe_text=recipe.read_text(encoding="utf-8") if recipe.is_file() else "",
        records=rank(records, direction),
        dims=dims,
        objective=str(info.get("objective") or "objective"),
        direction=direction,
        best_trial=best.trial if best is not None else None,
        notes=notes,
    )


# -------------------------------------------------------------------------- writing


def _store(uri: str) -> Any:
    from dlkit.tracking.mlflow_tracker import MLflowStore

    return MLflowStore(uri)


def _log_report(store: Any, run_id: str, path: Path) -> None:
    """Log ``path`` as the run's ``report.html`` artifact (whatever the file is called here)."""
    if path.name == REPORT_NAME:
        store.log_artifact(run_id, path)
        return
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / REPORT_NAME
        shutil.copyfile(path, copy)
        store.log_artifact(run_id, copy)


def _logged(result: ReportResult, store: Any, logging_error: str | None) -> ReportResult:
    """Log the written page to the result's MLflow run (when ``store`` is given); record a failure."""
    result.logging_error = logging_error
    if store is not None and result.run_id:
        try:
            _log_report(store, str(result.run_id), result.path)
            result.logged = True
        except TrackingError as exc:
            result.logging_error = exc.message
            log.warning("report not logged to MLflow: %s", exc.message)
    return result


def _write(html_text: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out


def report_run(
    run: RunDir,
    out: Path | None = None,
    *,
    human_error: float | None = None,
    ui_url: str = DEFAULT_UI_URL,
    log_to_mlflow: bool = True,
) -> ReportResult:
    """Write the HTML report of a run and log it to its MLflow run.

    Args:
        run: the run directory.
        out: the file to write (``report.html`` in the run directory when None).
        human_error: for the diagnosis; the run's ``targets.human_error`` when None.
        ui_url: the MLflow UI the page links the run to.
        log_to_mlflow: log the page as the run's ``report.html`` artifact (tracked runs).

    Returns:
        Where the page went and whether it was logged.

    Raises:
        RecipeError: a bad ``ui_url``.
    """
    from dlkit.reporting.html import run_report_html

    check_ui_url(ui_url)
    data = read_run(run, human_error=human_error)
    run_id, uri = data.info.get("run_id"), data.info.get("tracking_uri")
    store, logging_error = None, None
    if run_id and uri:
        try:
            store = _store(str(uri))
            data.experiment_id = store.experiment_of(str(run_id))
            data.link = ui_link(ui_url, str(data.experiment_id), str(run_id))
        except TrackingError as exc:
            store, logging_error = None, exc.message
            data.notes.append(f"no link to MLflow: {exc.message}")
    html_text, sections = run_report_html(data)
    path = _write(html_text, out if out is not None else run.path / REPORT_NAME)
    notes = [*data.notes, *([data.diagnose_note] if data.diagnose_note else [])]
    result = ReportResult("run", data.run_name, path, sections, run_id=run_id, link=data.link, notes=notes)
    return _logged(result, store if log_to_mlflow else None, logging_error)


def report_study(
    study: StudyDir,
    out: Path | None = None,
    *,
    ui_url: str = DEFAULT_UI_URL,
    log_to_mlflow: bool = True,
) -> ReportResult:
    """Write the HTML report of a tuning study and log it to the study's MLflow run.

    Args:
        study: the study directory.
        out: the file to write (``report.html`` in the study directory when None).
        ui_url: the MLflow UI the page links the study and its trials to.
        log_to_mlflow: log the page as the study run's ``report.html`` artifact (tracked studies).

    Raises:
        RecipeError: a bad ``ui_url``.
    """
    from dlkit.reporting.html import study_report_html

    check_ui_url(ui_url)
    data = read_study(study)
    run_id, uri = data.info.get("run_id"), data.info.get("tracking_uri")
    store, logging_error = None, None
    if run_id and uri:
        try:
            store = _store(str(uri))
            experiment = store.experiment_of(str(run_id))
            data.link = ui_link(ui_url, experiment, str(run_id))
            data.trial_links = {
                r.trial: ui_link(ui_url, experiment, r.run_id) for r in data.records if r.run_id
            }
        except TrackingError as exc:
            store, logging_error = None, exc.message
            data.notes.append(f"no link to MLflow: {exc.message}")
    html_text, sections = study_report_html(data)
    path = _write(html_text, out if out is not None else study.path / REPORT_NAME)
    result = ReportResult(
        "study", data.name, path, sections, run_id=run_id, link=data.link, notes=list(data.notes)
    )
    return _logged(result, store if log_to_mlflow else None, logging_error)
