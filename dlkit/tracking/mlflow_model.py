"""A trained model as an MLflow Model, the data sets a run used as MLflow datasets, the registry.

:func:`log_model` logs the run's model as MLflow 3 logs one (a ``LoggedModel`` named ``model``,
an output of the run, with the Keras flavour and pyfunc, a signature inferred from real
examples, an input example and pinned requirements), so ``runs:/<run id>/model`` loads with
``mlflow.pyfunc`` and ``mlflow.keras``, the UI lists it under the run, and it can be registered.
Everything goes through the store's :class:`~mlflow.tracking.MlflowClient` and run id: no
fluent run, no global tracking URI or experiment.

What the logged model takes is what the user has, raw: table rows (feature columns in the
recipe's order), images as the loader decodes them (`(height, width, channels)` floats),
sequences; the train-only normalisation is the model's first layer. A text classifier's
vocabulary (adapted on train) lives in the data pipeline, not the trained model, so the logged
model is the trained one behind a ``TextVectorization`` holding that vocabulary: it takes raw
strings. A seq2seq model takes its inputs by name (source token ids, decoder input ids), as it
was trained.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

if TYPE_CHECKING:
    import keras

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.tracking.base import RunStore

log = logging.getLogger(__name__)

MODEL_NAME = "model"  # the artifact path: runs:/<run id>/model
KERAS_FLAVOR = "keras"  # mlflow.keras.FLAVOR_NAME
COLUMNS_FILE = "dlkit_columns.json"  # a typed table's column descriptions, beside the Keras model
_EXAMPLE_ROWS = 2
_EXAMPLE_SETS = ("dev", "train_dev", "test", "train")
# MLflow's context tag of each set's dataset input (its own words for train and dev)
DATASET_CONTEXT = {"train": "training", "train_dev": "train_dev", "dev": "dev", "test": "test"}


def pip_requirements() -> list[str]:
    """The installed TensorFlow and Keras, pinned (read locally: MLflow's inference would import
    the model in a subprocess and may reach for the network)."""
    pins = []
    for package in ("tensorflow", "keras"):
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pins.append(package)
    return pins


def _takes_text(data: Dataset) -> bool:
    """A text classifier: raw strings in, vectorised by a ``TextVectorization`` adapted on train
    (text pairs, seq2seq, tokenise in the data pipeline: their models take token ids)."""
    return (
        data.kind == "text"
        and data.texts is not None
        and bool(data.vocabulary)
        and "output_sequence_length" in data.options
    )


def servable_model(model: keras.Model, data: Dataset) -> keras.Model:
    """The model as the logged one runs it: from raw inputs (text: the vectoriser put in front)."""
    if not _takes_text(data):
        return model
    import keras

    raw = keras.Input(shape=(), dtype="string", name="text")
    vectorize = keras.layers.TextVectorization(
        max_tokens=int(data.options["max_tokens"]),
        output_mode="int",
        output_sequence_length=int(data.options["output_sequence_length"]),
        vocabulary=list(data.vocabulary),
        name="vectorize",
    )
    return keras.Model(raw, model(vectorize(raw)), name=model.name)


def example_inputs(model: keras.Model, data: Dataset, split: SplitResult) -> Any:
    """A few raw examples of the first present of dev, train-dev, test, train, as the logged
    model takes them (an array, or a dict by input name for a model of several inputs)."""
    from dlkit.tasks import task_for

    present = split.present()
    name = next(s for s in _EXAMPLE_SETS if s in present)
    idx = split.indices(name)[:_EXAMPLE_ROWS]
    if _takes_text(data):
        assert data.texts is not None
        return np.asarray(data.texts[idx], dtype=object)
    if _typed_table(data):
        assert data.examples is not None
        return data.examples
    x, _ = task_for(data.task).fit_arrays(data, idx)
    if isinstance(x, tuple | list):
        return {str(inp.name): np.asarray(part) for inp, part in zip(model.inputs, x, strict=True)}
    if data.kind == "tabular":
        # float64, as pandas reads a table's numbers: rows of a DataFrame pass MLflow's dtype check
        return np.asarray(x, dtype=np.float64)
    return np.asarray(x)


def _typed_table(data: Dataset) -> bool:
    """A table of typed columns: one model input per column, raw rows converted by dlkit."""
    return data.kind == "tabular" and bool(data.options.get("columns")) and data.examples is not None


def _needs_dlkit(model: keras.Model, data: Dataset) -> bool:
    """Whether loading takes dlkit's pyfunc loader: dlkit layers inside, raw text or typed rows in."""
    if _takes_text(data) or _typed_table(data):
        return True
    if type(getattr(model, "loss", None)).__module__.startswith("dlkit."):  # compiled with dlkit's loss
        return True
    return any(type(layer).__module__.startswith("dlkit.") for layer in model._flatten_layers())


def output_examples(model: keras.Model, example: Any) -> Any:
    """What ``model`` returns for ``example``, for the signature: zeros of the shapes and dtypes
    its outputs declare (the same structure ``predict`` returns), without running it; a model
    whose outputs' shapes are not all known (or that declares none) is run on the example."""
    import keras

    n = len(next(iter(example.values())) if isinstance(example, dict) else example)
    try:
        declared = model.output
        flat = keras.tree.flatten(declared)
        if flat and all(d is not None for t in flat for d in t.shape[1:]):
            return keras.tree.map_structure(
                lambda t: np.zeros((n, *t.shape[1:]), dtype=keras.backend.standardize_dtype(t.dtype)),
                declared,
            )
    except (AttributeError, ValueError):  # a model without one declared output structure
        pass
    return model.predict(example, verbose=0)


@dataclass(frozen=True)
class ModelPayload:
    """What logging a trained model needs, made where the model is (no MLflow imported there)
    and sent to the store's writer (maybe another process: everything here pickles).

    Attributes:
        keras_file: the ``.keras`` file of the model as served (raw inputs in).
        example: a few raw inputs (an array, or a dict by input name).
        outputs: what the model returns for them (their shapes and dtypes make the signature).
        text_input: the model takes raw strings (a text classifier with its vectoriser).
        columns: a typed table's column descriptions (its rows are converted by dlkit).
        needs_dlkit: loading takes dlkit's pyfunc loader (dlkit layers or loss inside, raw
            text or typed rows in).
        keras_version: the Keras that saved it.
        keras_backend: the backend it ran on.
    """

    keras_file: Path
    example: Any
    outputs: Any
    text_input: bool
    columns: list[Any] | None
    needs_dlkit: bool
    keras_version: str
    keras_backend: str


def prepare_model(
    model: keras.Model, data: Dataset, split: SplitResult, folder: Path, saved: Path | None = None
) -> ModelPayload:
    """The payload of :func:`log_model` for ``model``.

    Args:
        model: the trained model (normalisation inside).
        data: the run's dataset (examples, text vocabulary, typed columns).
        split: the run's split (the examples come from dev first).
        folder: where the served model is saved when it is not ``saved`` (a text classifier's
            model behind its vectoriser, a model not saved yet); it must outlive the logging.
        saved: ``model`` as already saved in a ``.keras`` file (the run's): not saved again.
    """
    import keras

    served = servable_model(model, data)
    example = example_inputs(served, data, split)
    if _typed_table(data):
        from dlkit.data.columns import model_inputs

        outputs = output_examples(served, model_inputs(example, data.options["columns"]))
    else:
        outputs = output_examples(served, example)
    keras_file = saved
    if saved is None or served is not model or not saved.is_file():
        keras_file = folder / "model.keras"
        served.save(keras_file)
    assert keras_file is not None
    return ModelPayload(
        keras_file=keras_file,
        example=example,
        outputs=outputs,
        text_input=_takes_text(data),
        columns=list(data.options["columns"]) if _typed_table(data) else None,
        needs_dlkit=_needs_dlkit(served, data),
        keras_version=keras.__version__,
        keras_backend=keras.backend.backend(),
    )


def save_model(payload: ModelPayload, path: Path, mlflow_model: Any) -> None:
    """Save the prepared model as an MLflow Model (Keras flavour, pyfunc) into the new folder ``path``.

    The folder is what ``mlflow.keras.save_model`` writes (``MLmodel``, ``data/model.keras``,
    ``data/keras_module.txt``, the input example, ``requirements.txt``, ``conda.yaml``,
    ``python_env.yaml``), written here so that the model is not serialised a second time (the
    payload's ``.keras`` file is used as it is, linked or copied), Keras is not imported, and the
    requirements, pinned from the installed packages, are not checked again against every
    installed distribution (a scan of about a second).

    Args:
        payload: the model as :func:`prepare_model` describes it.
        path: the folder to create.
        mlflow_model: the ``mlflow.models.Model`` to fill and save as ``MLmodel``.
    """
    from mlflow.models import infer_signature
    from mlflow.models.utils import _save_example
    from mlflow.pyfunc import add_to_model
    from mlflow.types import Schema, TensorSpec
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _generate_mlflow_version_pinning,
        _mlflow_conda_env,
        _PythonEnv,
    )
    from mlflow.utils.file_utils import get_total_file_size

    example = payload.example
    try:
        signature = infer_signature(example, payload.outputs)
    except Exception:  # outputs of a shape MLflow cannot describe: inputs only
        signature = infer_signature(example)
    if payload.text_input:
        # an object tensor of one dimension takes any strings (MLflow checks nothing more)
        signature.inputs = Schema([TensorSpec(np.dtype(object), (-1,), "text")])

    (path / "data").mkdir(parents=True)
    (path / "data" / "keras_module.txt").write_text("keras", encoding="utf-8")
    try:
        os.link(payload.keras_file, path / "data" / "model.keras")
    except OSError:  # another file system
        shutil.copyfile(payload.keras_file, path / "data" / "model.keras")
    if payload.columns is not None:
        # pyfunc takes raw rows, converted by dlkit's loader with the columns' descriptions
        (path / COLUMNS_FILE).write_text(json.dumps(payload.columns, indent=1), encoding="utf-8")
    mlflow_model.signature = signature
    _save_example(mlflow_model, example, str(path))
    mlflow_model.add_flavor(
        KERAS_FLAVOR,  # the flavour's conf as mlflow.keras writes it (not imported: about a second)
        data="data",
        keras_version=payload.keras_version,
        keras_backend=payload.keras_backend,
        save_exported_model=False,
    )
    add_to_model(
        mlflow_model,
        loader_module="dlkit.tracking._pyfunc" if payload.needs_dlkit else "mlflow.keras",
        conda_env=_CONDA_ENV_FILE_NAME,
        python_env=_PYTHON_ENV_FILE_NAME,
    )
    if size := get_total_file_size(str(path)):
        mlflow_model.model_size_bytes = size
    mlflow_model.save(str(path / "MLmodel"))
    requirements = [_generate_mlflow_version_pinning(), *pip_requirements()]
    (path / _REQUIREMENTS_FILE_NAME).write_text("\n".join(requirements), encoding="utf-8")
    conda = _mlflow_conda_env(additional_pip_deps=requirements, install_mlflow=False)
    conda_yaml = yaml.safe_dump(conda, default_flow_style=False)
    (path / _CONDA_ENV_FILE_NAME).write_text(conda_yaml, encoding="utf-8")
    _PythonEnv.current().to_yaml(str(path / _PYTHON_ENV_FILE_NAME))


def log_model(client: Any, run_id: str, payload: ModelPayload, step: int = 0) -> str:
    """Log the prepared model as the run's MLflow Model ``model``; returns its model id.

    Args:
        client: the store's ``MlflowClient``.
        run_id: the run it came from (its experiment holds the model).
        payload: the model as :func:`prepare_model` describes it.
        step: the run's last epoch, MLflow's link between the model and the run's metrics.
    """
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model

    experiment_id = client.get_run(run_id).info.experiment_id
    from dlkit.tracking.system_tags import system_tags

    # the context tags MLflow's own log_model puts on a logged model (user, source, git), versions
    logged = client.create_logged_model(
        experiment_id, name=MODEL_NAME, source_run_id=run_id, tags=system_tags()
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / MODEL_NAME
            conf = Model(
                artifact_path=logged.artifact_location,
                model_uuid=logged.model_id,
                run_id=run_id,
                model_id=logged.model_id,
            )
            save_model(payload, path, conf)
            client.log_model_artifacts(logged.model_id, str(path))
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=step)])
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return str(logged.model_id)


def describe_inputs(data: Dataset, split: SplitResult) -> list[dict[str, str]]:
    """One dataset input per present set, as plain fields (:func:`dataset_inputs` makes MLflow's
    entities of them): name, digest (the set's content hash), source, row count, and the set as
    the context. Read from what the run holds: no data is loaded."""
    import hashlib

    inputs = []
    for name in split.present():
        idx = np.sort(split.indices(name))
        digest = hashlib.sha256(data.content_hash.encode())
        digest.update(np.asarray(data.ids[idx]).astype(str).astype("U").tobytes())
        if data.input_hashes is not None:
            digest.update(np.ascontiguousarray(data.input_hashes[idx]).tobytes())
        inputs.append(
            {
                "name": name,
                "digest": digest.hexdigest()[:16],
                "source": json.dumps({"uri": data.description}),
                "profile": json.dumps({"num_rows": len(idx)}),
                "context": DATASET_CONTEXT[name],
            }
        )
    return inputs


def dataset_inputs(inputs: list[dict[str, str]]) -> list[Any]:
    """MLflow's dataset inputs of a run, from :func:`describe_inputs`' fields."""
    from mlflow.entities import Dataset as MlflowDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    return [
        DatasetInput(
            MlflowDataset(
                name=item["name"],
                digest=item["digest"],
                source_type="local",
                source=item["source"],
                profile=item["profile"],
            ),
            tags=[InputTag(MLFLOW_DATASET_CONTEXT, item["context"])],
        )
        for item in inputs
    ]


def log_saved_model(
    store: RunStore, run_id: str | None, path: Path, data: Dataset, split: SplitResult
) -> None:
    """Log a saved ``.keras`` file (a study's best trial) as run ``run_id``'s MLflow Model;
    nothing (not even a load) when the run is untracked or the file is missing."""
    if not run_id or store.uri is None or not path.is_file():
        return
    from dlkit.models import load_model

    with tempfile.TemporaryDirectory() as tmp:
        # the store answers once the model is logged: the folder is no longer needed after
        store.log_model(run_id, prepare_model(load_model(path), data, split, Path(tmp), saved=path))
