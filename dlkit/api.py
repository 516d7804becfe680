"""The Python API: what the CLI calls, usable from notebooks and scripts.

Each verb is a thin, typed call into the layer that does the work: ``training/`` (train,
resume, gradcheck, lr-find), ``tuning/`` (tune), ``runs/`` (the reports that read a finished
run: diagnose, analyze-errors, learning curve, corrections). Heavy libraries (TensorFlow,
MLflow) are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.analysis.learning_curve import MAX_EPOCH_SCALE
from dlkit.data.dataset import Dataset
from dlkit.rundir import RunDir
from dlkit.tracking.resolve import resolve_run
from dlkit.training.results import TrainingDivergedError, TrainResult, TrainStart

if TYPE_CHECKING:
    from dlkit.analysis.learning_curve import LearningCurveResult, PointEnd, PointStart
    from dlkit.data.manifest import ManifestCheck
    from dlkit.doctor import Check, DoctorReport
    from dlkit.embeddings.pipeline import EmbedTrainResult, EvaluateVectorsResult, NeighborsResult, PlotResult
    from dlkit.embeddings.train import EmbedOptions
    from dlkit.gallery import GalleryRecipe
    from dlkit.recipe.schema import Recipe
    from dlkit.recipe.starter import StarterResult
    from dlkit.runs.analyze_errors import AnalyzeErrorsResult
    from dlkit.runs.catalog import DeletedRun, RunComparison, RunDetails, RunList
    from dlkit.runs.corrections import ApplyCorrectionsResult
    from dlkit.runs.debias import DebiasOutcome
    from dlkit.runs.diagnose import RunDiagnosis
    from dlkit.runs.inference import EvaluateResult, PredictResult
    from dlkit.runs.journal import Derivation
    from dlkit.runs.report import ReportResult
    from dlkit.runs.verification import IdentifyResult, VerifyResult
    from dlkit.tracking.registry import RegisterResult
    from dlkit.training.cross_val import FoldEnd
    from dlkit.training.fit import EpochEnd
    from dlkit.training.gradcheck import GradCheckResult
    from dlkit.training.lr_find import LRFindResult
    from dlkit.training.prepare import SplitOutcome
    from dlkit.training.style import StepCosts, StyleOptions, StyleTransferResult
    from dlkit.tuning.preview import PreviewResult
    from dlkit.tuning.search import TuneResult

log = logging.getLogger(__name__)

# The recipe schema, with every data source, model and task spec, takes about a third of a
# second to import: the commands that read finished runs (diagnose, runs list, ...) come through
# this module without it. It is imported inside the functions that need it (load_recipe, split),
# and these names when first asked for.
_ON_FIRST_USE = {"SplitOutcome": "dlkit.training.prepare"}


def __getattr__(name: str) -> Any:
    if name in _ON_FIRST_USE:
        import importlib

        return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate the recipe at ``path``.

    Args:
        path: the YAML file.
        overrides: ``dotted.path=value`` strings, applied in order.

    Returns:
        The validated recipe, with data paths made absolute.

    Raises:
        RecipeError: the file, an override or the content is invalid.
    """
    from dlkit.recipe.loader import load_recipe as load

    return load(path, overrides)


__all__ = [
    "RunDir",
    "SplitOutcome",
    "TrainResult",
    "TrainStart",
    "TrainingDivergedError",
    "analyze_errors",
    "apply_corrections",
    "check_split",
    "debias_vectors",
    "derivation",
    "diagnose",
    "embed_analogy",
    "embed_evaluate",
    "embed_neighbors",
    "embed_plot",
    "embed_train",
    "evaluate",
    "gradcheck",
    "identify",
    "learning_curve",
    "load_data",
    "load_recipe",
    "lr_find",
    "predict",
    "report",
    "resolve_run",
    "resume",
    "runs_compare",
    "runs_delete",
    "runs_list",
    "runs_show",
    "split",
    "style_transfer",
    "train",
    "tune",
    "tune_preview",
    "tune_refine",
    "verify",
]


def load_data(recipe: Recipe, *, corrections: bool = True) -> Dataset:
    """Load the dataset the recipe names (with the columns its split reads and its label corrections)."""
    from dlkit.training.prepare import load_data as load

    return load(recipe, corrections=corrections)


def split(recipe: Recipe, train_fraction: float | None = None, *, dedupe: bool | None = None) -> SplitOutcome:
    """Load the data and split it as the recipe says (seeded, reproducible).

    Also finds exact duplicates across sets and tests whether dev and test look like one
    distribution; text sources get their vocabulary from train here. Every command that
    trains gets its examples this way.

    Args:
        recipe: a validated recipe.
        train_fraction: keep only this seeded, stratified share of train (learning curves).
        dedupe: drop duplicates across sets (the recipe's ``data.split.dedupe`` when None).
    """
    from dlkit.training.prepare import split_recipe

    return split_recipe(recipe, train_fraction, dedupe=dedupe)


def check_split(
    recipe: Recipe,
    against: str | Path,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> tuple[SplitOutcome, ManifestCheck]:
    """Split the data now and compare with a saved manifest (a run's, or a manifest file).

    Returns:
        The split made now and a :class:`~dlkit.data.manifest.ManifestCheck`.
    """
    from dlkit.data.manifest import compare_manifests, read_manifest

    path = Path(against)
    if path.suffix.lower() in (".parquet", ".csv") and path.is_file():
        saved, info = read_manifest(path)
        saved_hash = info.get("content_hash")
    else:
        run = resolve_run(against, runs_dir, tracking_uri)
        saved, info = read_manifest(run.manifest_path)
        saved_hash = info.get("content_hash") or run.info().get("content_hash")
    outcome = split(recipe)
    return outcome, compare_manifests(saved, outcome.split.manifest, saved_hash, outcome.data.content_hash)


def train(
    recipe: Recipe,
    *,
    track: bool = True,
    on_start: Callable[[TrainStart], None] | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    train_fraction: float | None = None,
    parent_run_id: str | None = None,
    derived_from: Derivation | None = None,
) -> TrainResult:
    """Split the data, train the recipe's model, evaluate every set and record the run.

    Args:
        recipe: a validated recipe.
        track: record the run in MLflow (else only the run directory is written).
        on_start: called once before the first epoch.
        on_epoch: called after every epoch.
        train_fraction: train on this seeded, stratified share of the train set only (the
            other sets unchanged), as a learning curve does.
        parent_run_id: record the run as a child of this MLflow run.
        derived_from: the earlier run the recipe comes from (:func:`derivation`): linked in
            MLflow (``dlkit.derived_from``) and run.json, for the decision chain.

    Returns:
        The run's location and its metrics on every set, measured in inference mode.

    Raises:
        DlkitError: bad data, a model that cannot be built, or an unreachable store. A run
            that fails or is interrupted is marked FAILED / KILLED, never FINISHED.
    """
    from dlkit.training.trainer import train_recipe

    return train_recipe(
        recipe,
        track=track,
        on_start=on_start,
        on_epoch=on_epoch,
        train_fraction=train_fraction,
        parent_run_id=parent_run_id,
        derived_from=derived_from,
    )


def derivation(
    recipe_path: str | Path | None,
    recipe: Recipe,
    from_run: str | Path | None = None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> Derivation | None:
    """The earlier run a recipe comes from: ``from_run`` (``train --from``), else the best trial
    of the study whose ``best.yaml`` the recipe is, else the run whose analysis wrote the
    recipe's ``data.corrections`` file; None when there is none.

    Raises:
        RunNotFoundError: ``from_run`` matches no run.
    """
    from dlkit.runs.journal import derivation_for

    return derivation_for(
        Path(recipe_path) if recipe_path is not None else None,
        recipe,
        str(from_run) if from_run is not None else None,
        runs_dir=runs_dir,
        tracking_uri=tracking_uri,
    )


def resume(
    run_ref: str | Path,
    overrides: list[str] | None = None,
    *,
    on_start: Callable[[TrainStart], None] | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> TrainResult:
    """Continue an interrupted run from its last completed epoch, in the same run directory and
    MLflow run, with the optimizer state, the schedule position and the random state restored.

    Args:
        run_ref: the run (directory, run name, or MLflow run id or name).
        overrides: ``--set`` assignments; only ``train.epochs`` may change (to train further).
        on_start: called once before the first resumed epoch.
        on_epoch: called after every epoch.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.

    Raises:
        ResumeError: nothing to resume (no completed epoch, or the run FINISHED), the run is
            still training in a live process, or an override other than train.epochs.
        DataError: the data changed since the run split it.
    """
    from dlkit.training.trainer import resume_run

    run = resolve_run(run_ref, runs_dir, tracking_uri)
    return resume_run(run, overrides or [], on_start=on_start, on_epoch=on_epoch)


def register(
    run_ref: str | Path, name: str, *, runs_dir: str | Path = "runs", tracking_uri: str | None = None
) -> RegisterResult:
    """Register a run's logged MLflow Model as the next version of ``name`` in MLflow's registry.

    Args:
        run_ref: the run (directory, run name, or MLflow run id or name).
        name: the registered model (created with version 1 if new).
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.

    Returns:
        The new version (``models:/<name>/<version>``).

    Raises:
        RunNotFoundError: nothing matches ``run_ref``.
        TrackingError: the run was not tracked or has no logged model, or the store refused;
            a failure leaves no empty registered model behind.
    """
    from dlkit.tracking.registry import register_run

    return register_run(run_ref, name, runs_dir, tracking_uri)


def diagnose(
    run_refs: str | Path | list[str | Path],
    human_error: float | None = None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    reports: bool = True,
) -> list[RunDiagnosis]:
    """Avoidable bias, variance, data mismatch and overfitting to dev of finished runs.

    Computed from each run's stored predictions (no TensorFlow; docs/method.md §2 and §3), for
    every task: the task registry says what a per-example error is (a multitask run gets one
    diagnosis per task).

    Args:
        run_refs: one RUN or several (run directory, run name, MLflow run id or name).
        human_error: human-level error; each run's ``targets.human_error`` when None.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        reports: write Markdown/HTML reports into each run directory and log them to MLflow.

    Returns:
        One :class:`~dlkit.runs.diagnose.RunDiagnosis` per run, in order.

    Raises:
        DlkitError: a run not found or not FINISHED, no human-level error, no predictions, a
            task diagnose does not apply to.
    """
    from dlkit.runs.diagnose import diagnose_run

    refs = run_refs if isinstance(run_refs, list) else [run_refs]
    runs = [resolve_run(ref, runs_dir, tracking_uri) for ref in refs]
    return [diagnose_run(run, human_error, reports=reports) for run in runs]


def analyze_errors(
    run_ref: str | Path,
    *,
    tags: str | Path | None = None,
    sample: int | None = None,
    seed: int | None = None,
    stratify: bool = False,
    new_sheet: bool = False,
    label_issues: bool = False,
    model_gap: float | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    reports: bool = True,
    folds: int | None = None,
    label_issues_on: list[str] | None = None,
    on_fold: Callable[[FoldEnd], None] | None = None,
) -> AnalyzeErrorsResult:
    """Error analysis of a finished run (docs/method.md §4), from its stored predictions (no TensorFlow).

    Where each dev example is right or wrong (classification, sequences): without ``tags``,
    writes a seeded sheet of dev errors to tag; with ``tags`` (the filled sheet), each
    category's share, Wilson interval and ceiling, ranked, and the incorrectly-labelled
    reading. Always the task's reading of dev: per-class metrics, confusion, slices and highest
    loss (classification; per task for multitask), exact match against token or step accuracy,
    worst examples and error by length (sequences), largest errors and residuals (regression).

    Args:
        run_ref: a run directory, run name, or MLflow run id or name.
        tags: a filled sheet (CSV or Parquet).
        sample: errors on the sheet (the recipe's ``analysis.sample`` when None).
        seed: sampling seed (the recipe's seed when None).
        stratify: sample in proportion to each (true, predicted) pair.
        new_sheet: replace an existing sheet.
        label_issues: flag suspected label errors in dev and test (cleanlab; class labels only).
        model_gap: the error difference between models that matters for the labels reading.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        reports: write ``reports/errors.html`` and log the outputs to the run's MLflow run.
        folds: flag label errors from K-fold cross-validated predictions of the run's recipe
            (retrains its model K times: TensorFlow).
        label_issues_on: sets to check for label errors (dev and test by default).
        on_fold: called with a :class:`~dlkit.training.cross_val.FoldEnd` after each fold.

    Returns:
        An :class:`~dlkit.runs.analyze_errors.AnalyzeErrorsResult`.

    Raises:
        DlkitError: no such run, an option whose report does not apply to the run's task (the
            sheet for regression and multitask, label issues without class labels), a bad
            analysis section or sheet.
    """
    from dlkit.runs.analyze_errors import analyze_run

    return analyze_run(
        resolve_run(run_ref, runs_dir, tracking_uri),
        tags=Path(tags) if tags is not None else None,
        sample=sample,
        seed=seed,
        stratify=stratify,
        new_sheet=new_sheet,
        find_label_issues=label_issues,
        model_gap=model_gap,
        reports=reports,
        folds=folds,
        label_issues_on=label_issues_on,
        on_fold=on_fold,
    )


def report(
    ref: str | Path,
    out: str | Path | None = None,
    *,
    human_error: float | None = None,
    ui_url: str | None = None,
    log_to_mlflow: bool = True,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> ReportResult:
    """One self-contained HTML page about a run or a tuning study, logged to its MLflow run.

    A run's page: its header (id, dates, status, a link to the MLflow UI), metrics per set,
    learning curves per epoch, the diagnosis (computed from the stored predictions), the dev
    confusion matrix (classification), the error analysis and learning curve when the run has
    them, and the recipe. A study's page: the trials table (failed trials marked), the objective
    over trials and against each hyperparameter, and the recipe.

    Args:
        ref: a study directory or name, or a run (directory, run name, MLflow run id or name).
        out: the file to write (``report.html`` in the run or study directory when None).
        human_error: for the diagnosis; the run's ``targets.human_error`` when None.
        ui_url: the MLflow UI the page links to (``http://127.0.0.1:5000`` when None).
        log_to_mlflow: log the page as the run's ``report.html`` artifact (tracked runs).
        runs_dir: where run and study names are looked up.
        tracking_uri: the MLflow store for run ids and names.

    Returns:
        A :class:`~dlkit.runs.report.ReportResult`: the file, its sections, the link, whether logged.

    Raises:
        DlkitError: no such run or study, a bad ``ui_url`` or human-level error.
    """
    from dlkit.errors import RecipeError
    from dlkit.runs.report import DEFAULT_UI_URL, check_ui_url, find_study, report_run, report_study

    target = Path(out) if out is not None else None
    url = ui_url or DEFAULT_UI_URL
    check_ui_url(url)
    study = find_study(ref, runs_dir)
    if study is not None:
        if human_error is not None:
            raise RecipeError(
                f"--human-error: {ref} is a study; its report has no diagnosis (report a trial)"
            )
        return report_study(study, target, ui_url=url, log_to_mlflow=log_to_mlflow)
    run = resolve_run(ref, runs_dir, tracking_uri)
    return report_run(run, target, human_error=human_error, ui_url=url, log_to_mlflow=log_to_mlflow)


def apply_corrections(
    run_ref: str | Path,
    sheet: str | Path,
    *,
    out: str | Path | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> ApplyCorrectionsResult:
    """Turn the labels a person corrected on a sheet into a corrections file the next training uses.

    Writes ``analysis/corrections.csv`` into the run directory (and to ``out``): name it under
    the recipe's ``data.corrections`` and every set gets the same corrections by id.

    Returns:
        An :class:`~dlkit.runs.corrections.ApplyCorrectionsResult`.

    Raises:
        DlkitError: no such run; a run without class labels; the sheet names an unknown id or
            label (file, row, column).
    """
    from dlkit.runs.corrections import apply_sheet_corrections

    run = resolve_run(run_ref, runs_dir, tracking_uri)
    return apply_sheet_corrections(run, Path(sheet), out=Path(out) if out is not None else None)


def learning_curve(
    run_ref: str | Path,
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0),
    human_error: float | None = None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    max_epoch_scale: float = MAX_EPOCH_SCALE,
    on_point_start: Callable[[PointStart], None] | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    on_point_end: Callable[[PointEnd], None] | None = None,
) -> LearningCurveResult:
    """Retrain a finished run's recipe on shares of its training set and read the curve.

    Every point keeps the run's split (same dev set) and trains through the one training path
    (``dlkit train`` with the fraction and the epochs overridden), recorded as a child of the
    run in MLflow when the run was tracked. The 100% point is the finished run itself.

    Every point is given the optimizer steps of the full run: its epochs are scaled by about
    1 / share of train (capped at ``max_epoch_scale``), and early-stopping patience and
    per-epoch schedules are stretched with them, so a small point is not also an under-trained
    one. The epochs and steps each point got are recorded with it.

    The reading agrees with ``dlkit diagnose``: it takes the gaps of the largest point as
    diagnose computes them, and says more data is likely to help only when variance is the
    verdict and dev error is still falling. The points, the plot and the reading are written to
    ``reports/learning_curve.{csv,png,json}`` in the run directory (``dlkit diagnose`` then
    puts them in ``diagnose.html``) and logged to the run.

    Args:
        run_ref: a finished run (directory, name, or MLflow run id or name).
        fractions: shares of the training set, each in (0, 1].
        human_error: the human-level line; the run's ``targets.human_error`` when None.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        max_epoch_scale: most a point's epochs are multiplied by (every epoch evaluates dev).
        on_point_start: called with a :class:`~dlkit.analysis.learning_curve.PointStart`
            (its budget) before each point.
        on_epoch: called after every epoch of a point's training.
        on_point_end: called with a :class:`~dlkit.analysis.learning_curve.PointEnd` (the
            measured point) after each point.

    Returns:
        A :class:`~dlkit.analysis.learning_curve.LearningCurveResult`.

    Raises:
        RecipeError: fewer than two fractions, one outside (0, 1], ``max_epoch_scale`` < 1.
        DlkitError: no such run, or a point's training fails.
    """
    from dlkit.runs.learning_curve import learning_curve as run_learning_curve

    return run_learning_curve(
        resolve_run(run_ref, runs_dir, tracking_uri),
        tuple(fractions),
        human_error,
        max_epoch_scale=max_epoch_scale,
        on_point_start=on_point_start,
        on_epoch=on_epoch,
        on_point_end=on_point_end,
    )


def tune(
    recipe_path: str | Path | None = None,
    overrides: list[str] | None = None,
    **options: Any,
) -> TuneResult:
    """Hyperparameter search (docs/method.md §5) with keras-tuner, every trial trained by dlkit.

    Args:
        recipe_path: a recipe with a ``tune`` section (None with ``resume`` or as a worker).
        overrides: ``dotted.path=value`` strings applied to the recipe.
        **options: ``trials``, ``rounds``, ``strategy`` (override the tune section),
            ``study_dir`` (where the study goes), ``resume`` (a study to finish), ``track``
            and ``on_event`` (called with each :class:`~dlkit.tuning.search.TuneEvent`).

    Returns:
        A :class:`~dlkit.tuning.search.TuneResult`: ranked trials, rounds, best recipe.

    Raises:
        DlkitError: a bad space or recipe (exit 2), more failed trials than the budget.
    """
    from dlkit.tuning.search import tune as run_tune

    return run_tune(recipe_path, overrides, **options)


def tune_refine(study: str | Path, **options: Any) -> TuneResult:
    """Add coarse-to-fine rounds to a finished study (``rounds``, ``trials``, ``track``, ``on_event``)."""
    from dlkit.tuning.search import refine

    return refine(study, **options)


def tune_preview(recipe_path: str | Path, overrides: list[str] | None = None, n: int = 2000) -> PreviewResult:
    """Check a recipe's search space and draw ``n`` configurations from it (no training)."""
    from dlkit.tuning.preview import preview_space

    return preview_space(load_recipe(recipe_path, overrides or []), str(recipe_path), n)


def gradcheck(
    recipe: Recipe,
    *,
    batch: int = 8,
    epsilon: float = 1e-7,
    max_per_layer: int | None = 64,
) -> GradCheckResult:
    """Check the recipe's model's gradients against two-sided numerical differences.

    The model is built as training builds it (normalisation fitted on train, the recipe-wide
    regularisation and initialiser; augmentation left out, as at inference), freshly
    initialised with the recipe's seed, then cloned in float64 (docs/method.md §6).

    Args:
        recipe: a validated recipe.
        batch: examples from the training set (seeded).
        epsilon: the two-sided difference's step.
        max_per_layer: coordinates checked per layer (a seeded sample); None checks all.

    Returns:
        A :class:`~dlkit.training.gradcheck.GradCheckResult`.
    """
    from dlkit.errors import RecipeError

    if batch < 1 or epsilon <= 0 or (max_per_layer is not None and max_per_layer < 1):
        raise RecipeError(
            f"gradcheck: expected batch >= 1, epsilon > 0 and max-per-layer >= 1 "
            f"(got {batch}, {epsilon}, {max_per_layer})"
        )
    from dlkit.training.gradcheck import gradcheck_recipe

    return gradcheck_recipe(recipe, split(recipe), batch=batch, epsilon=epsilon, max_per_layer=max_per_layer)


def lr_find(
    recipe: Recipe,
    *,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    steps: int = 100,
    plot: str | Path | None = None,
) -> LRFindResult:
    """Learning-rate range test on the recipe's model and training set.

    The model is built and compiled as training builds it (the optimizer's other settings
    kept); each step trains one mini-batch at the next rate of a log-spaced sequence.

    Args:
        recipe: a validated recipe.
        min_lr: the first rate.
        max_lr: the last rate.
        steps: mini-batches (rates) to try; the test stops early when the loss blows up.
        plot: where to draw the plot (PNG); none: no plot.

    Returns:
        A :class:`~dlkit.training.lr_find.LRFindResult` with the suggested range.
    """
    from dlkit.errors import RecipeError

    if not 0 < min_lr < max_lr or steps < 5:
        raise RecipeError(
            f"lr-find: expected 0 < min-lr < max-lr and steps >= 5 (got {min_lr:g}, {max_lr:g}, {steps})"
        )
    from dlkit.training.lr_find import lr_find_recipe

    result = lr_find_recipe(recipe, split(recipe), min_lr=min_lr, max_lr=max_lr, steps=steps)
    if plot is not None:
        from dlkit.reporting.lr_find import plot_lr_find

        result.plot_path = str(plot_lr_find(result, Path(plot)))
    return result


def runs_list(
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    experiment: str | None = None,
    recipe: str | None = None,
    status: str | None = None,
    metrics: list[str] | None = None,
    sort: str = "start",
    limit: int | None = 50,
) -> RunList:
    """The runs of the MLflow store and of the local run directories, filtered and sorted.

    A run's status comes from its run directory when there is one here, so a run whose process
    died (SIGKILL, a power cut) is DEAD although MLflow still says RUNNING.

    Args:
        runs_dir: the folder of run directories.
        tracking_uri: the MLflow store (not created when it does not exist).
        experiment: only this MLflow experiment.
        recipe: only runs of the recipe of this name.
        status: RUNNING, FINISHED, FAILED, KILLED or DEAD.
        metrics: filters such as ``dev.accuracy>0.9`` (``SET.METRIC OP NUMBER``), all must hold.
        sort: ``start``, ``name``, ``duration``, ``status``, ``experiment`` or a metric
            (``dev.accuracy``), optionally ``:asc`` or ``:desc``.
        limit: the most runs returned (None: all).

    Raises:
        RecipeError: a bad status, filter, sort key or limit.
        RunNotFoundError: no run in ``experiment``.
    """
    from dlkit.runs.catalog import list_runs

    return list_runs(
        runs_dir=runs_dir,
        tracking_uri=tracking_uri,
        experiment=experiment,
        recipe=recipe,
        status=status,
        metrics=metrics,
        sort=sort,
        limit=limit,
    )


def runs_show(
    run_ref: str | Path, *, runs_dir: str | Path = "runs", tracking_uri: str | None = None
) -> RunDetails:
    """One run: params, final metrics per set, tags, artifacts, diagnose gaps, verdicts and the
    decision chain (diagnosis -> action -> next run -> its result).

    Raises:
        RunNotFoundError: nothing matches ``run_ref``.
    """
    from dlkit.runs.catalog import show_run

    return show_run(resolve_run(run_ref, runs_dir, tracking_uri), tracking_uri)


def runs_compare(
    run_refs: list[str | Path], *, runs_dir: str | Path = "runs", tracking_uri: str | None = None
) -> RunComparison:
    """Runs side by side: the params that differ, the final metrics per set, the diagnose gaps.

    Raises:
        RecipeError: fewer than two runs.
        RunNotFoundError: a ref matches no run.
    """
    from dlkit.runs.catalog import compare_runs

    return compare_runs([resolve_run(ref, runs_dir, tracking_uri) for ref in run_refs], tracking_uri)


def runs_delete(
    run_refs: list[str],
    *,
    purge: bool = False,
    confirm: Callable[[list[DeletedRun]], bool] | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> list[DeletedRun]:
    """Delete runs the way MLflow does (lifecycle ``deleted``, restorable in MLflow).

    Args:
        run_refs: run directories, names or MLflow run ids.
        purge: also remove each run directory (else it is kept, marked deleted in run.json).
        confirm: shown what would be deleted; nothing is deleted unless it returns True.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store.

    Returns:
        The runs deleted (empty when ``confirm`` declined).

    Raises:
        RunNotFoundError: a ref matches no run (nothing is deleted).
        TrackingError: a run is still training (nothing is deleted).
    """
    from dlkit.runs.catalog import delete_runs, plan_delete

    plan = plan_delete(run_refs, runs_dir, tracking_uri)
    if confirm is not None and not confirm(plan):
        return []
    return delete_runs(plan, purge=purge, tracking_uri=tracking_uri)


def predict(
    run_ref: str | Path,
    data: str | Path,
    out: str | Path | None = None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> PredictResult:
    """Predict new data with a finished run's model, preprocessed exactly as in training.

    Args:
        run_ref: run directory, run name, MLflow run id or name (a run only in MLflow is downloaded).
        data: a file or folder of the run's source type (CSV, Parquet, image folder, npz, text
            table, text pairs); the target may be absent.
        out: the predictions file (.csv or .parquet); ``<data>.predictions.parquet`` beside
            the data when None.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        on_start: called with the number of examples once the data is read.
        on_progress: called with the examples done so far.

    Returns:
        A :class:`~dlkit.runs.inference.PredictResult`.
    """
    from dlkit.runs.inference import predict_run

    run = resolve_run(run_ref, runs_dir, tracking_uri)
    return predict_run(run, data, out, on_start=on_start, on_progress=on_progress)


def evaluate(
    run_ref: str | Path,
    data: str | Path,
    *,
    out: str | Path | None = None,
    diagnose: bool = False,
    errors: bool = False,
    track: bool = True,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> EvaluateResult:
    """A finished run's metrics on new labelled data (the names of its own metrics per set).

    Args:
        run_ref: run directory, run name, MLflow run id or name.
        data: labelled data of the run's source type.
        out: also keep the predictions file (.csv or .parquet).
        diagnose: the new set's error against the run's train, train-dev and dev errors.
        errors: write the error-analysis sheet of the new set.
        track: record the metrics in an MLflow run nested under the run's (a tracked run only).
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        on_start: called with the number of examples once the data is read.
        on_progress: called with the examples done so far.

    Returns:
        A :class:`~dlkit.runs.inference.EvaluateResult`.
    """
    from dlkit.runs.inference import evaluate_run

    run = resolve_run(run_ref, runs_dir, tracking_uri)
    return evaluate_run(
        run,
        data,
        out=out,
        diagnose=diagnose,
        errors=errors,
        track=track,
        on_start=on_start,
        on_progress=on_progress,
    )


def gallery() -> list[GalleryRecipe]:
    """The recipe gallery shipped with dlkit: every example recipe and its header (no TensorFlow)."""
    from dlkit.gallery import gallery_recipes

    return gallery_recipes()


def init_recipe(
    kind: str | None, path: str | Path, *, data: str | Path | None = None, force: bool = False
) -> StarterResult:
    """Write a commented starter recipe for ``kind`` of data to ``path`` (see :mod:`dlkit.recipe.starter`).

    Raises:
        RecipeError: ``path`` exists (without ``force``), or an unknown kind.
        DataError: ``data`` cannot be read or does not fit the kind.
    """
    from dlkit.errors import RecipeError
    from dlkit.recipe.starter import starter_recipe

    path = Path(path)
    if path.is_dir():
        raise RecipeError(f"{path}: is a folder; expected the recipe file to write")
    if path.exists() and not force:
        raise RecipeError(f"{path}: already exists; pass --force to overwrite it")
    result = starter_recipe(kind, path, Path(data) if data is not None else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.text, encoding="utf-8")
    return result


def doctor(
    *,
    tracking_uri: str | None = None,
    runs_dir: str | Path = "runs",
    smoke: bool = True,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Check versions, devices, the tracking store, the runs folder and (``smoke``) one epoch of training.

    Returns:
        Every check's status (ok / warning / fail), detail and fix; ``report.ok`` when none failed.
    """
    from dlkit.doctor import run_checks

    return run_checks(tracking_uri, Path(runs_dir), smoke=smoke, on_check=on_check)


def verify(
    run_ref: str | Path,
    image1: str | Path,
    image2: str | Path,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> VerifyResult:
    """Whether two images show the same identity, by a verification run's model and threshold.

    Raises:
        UnsupportedRunError: not a finished verification run on images.
        DataError: an image is missing or unreadable.
    """
    from dlkit.runs.verification import verify_images

    return verify_images(resolve_run(run_ref, runs_dir, tracking_uri), Path(image1), Path(image2))


def identify(
    run_ref: str | Path,
    image: str | Path,
    gallery: str | Path,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> IdentifyResult:
    """The identity of a gallery (one sub-folder of images per identity) nearest to ``image``,
    or "unknown" (``identity`` None) when it is farther than the run's threshold.

    Raises:
        UnsupportedRunError: not a finished verification run on images.
        DataError: a missing image, or a gallery that is not one folder per identity.
    """
    from dlkit.runs.verification import identify_image

    return identify_image(resolve_run(run_ref, runs_dir, tracking_uri), Path(image), Path(gallery))


def style_transfer(
    content: str,
    style: str,
    base: str,
    out: str | Path,
    options: StyleOptions | None = None,
    *,
    track: bool = True,
    experiment: str = "style-transfer",
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    on_step: Callable[[StepCosts], None] | None = None,
) -> StyleTransferResult:
    """Neural style transfer: an image with ``content``'s content and ``style``'s style.

    Args:
        content: an image file, or ``sklearn:china.jpg`` / ``sklearn:flower.jpg``.
        style: the same.
        base: the network whose layers see content and style: a ``.keras`` model file, a VGG-19
            weights file, or a dlkit run (directory, name, MLflow run id or name).
        out: the folder for ``result.png``, ``steps/`` and ``costs.csv``.
        options: layers, weights α and β, steps (the defaults of :class:`StyleOptions`).
        track: log the parameters, the costs per step and the images to MLflow.
        experiment: the MLflow experiment.
        runs_dir: where run names are looked up (``base``).
        tracking_uri: the MLflow store (for ``base`` as a run id, and for the log).
        on_step: called with the costs after every step.

    Raises:
        RecipeError: a base that is no model, or a layer it does not have.
        DataError: an unreadable image.
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.training.style import StyleOptions, load_base, read_image, transfer_style

    options = options or StyleOptions()
    loaded = load_base(base, lambda ref: resolve_run(ref, runs_dir, tracking_uri).model_path)
    content_image = read_image(content, loaded.channels, options.size)
    style_image = read_image(style, loaded.channels, content_image.shape[:2])
    from dlkit.tracking.mlflow_tracker import command_run

    name = f"style-{Path(content).stem}-{Path(style).stem}"
    with command_run(track, tracking_uri, experiment, name, "style-transfer") as (store, run_id):
        result = transfer_style(loaded, content_image, style_image, options, Path(out), on_step)
        if store is not None:
            params = {k: v for k, v in vars(options).items() if k not in ("style_layers", "content_layer")}
            store.log_params(
                run_id,
                {
                    **params,
                    "content": content,
                    "style": style,
                    "base": loaded.description,
                    "content_layer": result.content_layer,
                    "style_layers": ", ".join(f"{n}:{w:g}" for n, w in result.style_layers),
                },
            )
            for c in result.costs:
                store.log_metrics(
                    run_id,
                    {"total": c.total, "content": c.content, "style": c.style, "tv": c.tv},
                    step=c.step,
                )
            store.log_artifacts(run_id, Path(out))
            result.run_id, result.tracking_uri = run_id, store.uri
        return result


def debias_vectors(
    vectors: str | Path,
    out: str | Path,
    *,
    definitional: str | Path | None = None,
    equalize: str | Path | None = None,
    no_equalize: bool = False,
    neutralize: str | Path | None = None,
    report: str | Path | None = None,
) -> DebiasOutcome:
    """Debias word vectors (Bolukbasi et al.): bias direction from definitional pairs, neutralise,
    equalise (:mod:`dlkit.analysis.debias`); write them in the same GloVe text format.

    Args:
        vectors: a GloVe-format text file.
        out: where the debiased vectors go.
        definitional: pairs defining the direction, one a line (the shipped gender pairs when None).
        equalize: pairs to equalise (the shipped gender pairs when None, none with ``no_equalize``).
        neutralize: words to neutralise, one a line (every word in no pair when None).
        report: a CSV of each word's projection on the direction before and after.

    Raises:
        DataError: an unreadable file, or a listed word the vectors lack.
    """
    from dlkit.runs.debias import DEFINITIONAL, EQUALIZE, debias_file

    return debias_file(
        Path(vectors),
        Path(out),
        Path(definitional) if definitional is not None else DEFINITIONAL,
        None if no_equalize else Path(equalize) if equalize is not None else EQUALIZE,
        Path(neutralize) if neutralize is not None else None,
        Path(report) if report is not None else None,
    )


def embed_train(
    corpus: str | Path,
    options: EmbedOptions | None = None,
    out: str | Path = "vectors.txt",
    *,
    column: str | None = None,
    analogies: str | Path | None = None,
    plot: bool = True,
    track: bool = True,
    experiment: str = "embeddings",
    tracking_uri: str | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> EmbedTrainResult:
    """Word vectors from a corpus (skip-gram with negative sampling, or GloVe), written in the
    GloVe text format ``model.embedding.vectors`` reads, with a PCA plot beside them.

    Args:
        corpus: a text file (one sentence per line) or a CSV (its ``column``).
        options: method, dimension, window, negatives, epochs, ... (:class:`EmbedOptions`).
        out: the vectors file (the plot goes to the same name with ``.png``).
        analogies: a questions file to score the vectors on (logged as ``analogy_accuracy``).
        track: log params, the loss per epoch and the files to MLflow.
        on_epoch: called with each epoch (from 1) and its loss.

    Raises:
        DataError: an unreadable or empty corpus, or a malformed questions file.
        RecipeError: an option out of range.
    """
    from dlkit.embeddings.pipeline import train_embeddings
    from dlkit.embeddings.train import EmbedOptions

    return train_embeddings(
        Path(corpus),
        options or EmbedOptions(),
        Path(out),
        column=column,
        analogies=Path(analogies) if analogies is not None else None,
        plot=plot,
        track=track,
        experiment=experiment,
        tracking_uri=tracking_uri,
        on_epoch=on_epoch,
    )


def embed_neighbors(vectors: str | Path, word: str, k: int = 10) -> NeighborsResult:
    """The ``k`` words of a vectors file most cosine-similar to ``word``."""
    from dlkit.embeddings.pipeline import nearest_words

    return nearest_words(Path(vectors), word, k)


def embed_analogy(vectors: str | Path, a: str, b: str, c: str, k: int = 5) -> NeighborsResult:
    """``a : b :: c : ?``: the ``k`` words nearest ``b − a + c`` by cosine, the query words excluded."""
    from dlkit.embeddings.pipeline import solve_analogy

    return solve_analogy(Path(vectors), a, b, c, k)


def embed_evaluate(
    vectors: str | Path, analogies: str | Path | None = None, similarity: str | Path | None = None
) -> EvaluateVectorsResult:
    """Analogy accuracy (Mikolov's questions layout) and Spearman's ρ on ``word word score`` pairs,
    each with its coverage."""
    from dlkit.embeddings.pipeline import evaluate_vectors

    return evaluate_vectors(
        Path(vectors),
        Path(analogies) if analogies is not None else None,
        Path(similarity) if similarity is not None else None,
    )


def embed_plot(
    vectors: str | Path, out: str | Path, words: list[str] | None = None, method: str = "pca"
) -> PlotResult:
    """Words of a vectors file in two dimensions (PCA, or t-SNE), labelled, as a PNG."""
    from dlkit.embeddings.pipeline import plot_vectors

    return plot_vectors(Path(vectors), Path(out), words, method)
