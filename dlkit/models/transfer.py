"""``transfer``: a trained network as the base of a new one, with a new head.

The base comes from an earlier dlkit run (``base.run``: its saved model) or a ``.keras`` file
(``base.path``); it is cut before its output layer (or after ``base.layer``) and a new head is
put on top. Which of its layers train (docs/method.md §7):

- ``freeze: all`` (default): feature extraction; only the new head learns. Right when the
  new task has little data.
- ``until: LAYER``: layers up to and including LAYER stay frozen, later ones train.
- ``trainable_last: N``: fine-tuning of the last N layers that have weights.
- ``freeze: none``: everything trains (the base is only an initialisation).

Fine-tune with a lower learning rate than from scratch (e.g. ``train.optimizer.learning_rate:
1.0e-4``). The base keeps its own input normalisation (it is part of the saved model), and runs
in inference mode (batch norm statistics fixed, no dropout) as the Keras transfer-learning
guide recommends.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._naming import did_you_mean
from dlkit._spec import Spec, Width
from dlkit.errors import BuildError
from dlkit.models._errors import ModelError
from dlkit.models.mlp import Activation
from dlkit.models.registry import BuildContext, Head, load_model, output_layer

if TYPE_CHECKING:
    import keras


class BaseSpec(Spec):
    """Where the base network comes from, where it is cut and what of it trains."""

    run: str | None = Field(default=None, description="An earlier run: directory, run name or MLflow run id.")
    path: Path | None = Field(default=None, description="A saved .keras model (relative to the recipe).")
    layer: str | None = Field(
        default=None, description="Cut after this layer; the layer before the base's output when absent."
    )
    freeze: Literal["all", "none"] | None = Field(
        default=None, description="all (the default): feature extraction; none: train everything."
    )
    until: str | None = Field(default=None, description="Freeze the base up to and including this layer.")
    trainable_last: int | None = Field(
        default=None, ge=0, description="Train only the last N weighted layers."
    )

    @model_validator(mode="after")
    def _one_source_one_rule(self) -> BaseSpec:
        if (self.run is None) == (self.path is None):
            raise ValueError("give exactly one of run (an earlier dlkit run) or path (a .keras file)")
        rules = [n for n in ("freeze", "until", "trainable_last") if getattr(self, n) is not None]
        if len(rules) > 1:
            raise ValueError(f"give at most one of freeze, until, trainable_last (got {', '.join(rules)})")
        return self


class TransferSpec(Spec):
    """A base network from a run or file, and a new dense head."""

    # the network comes from a run or file, which may change: never described from a cache
    reads_files: ClassVar[bool] = True

    type: Literal["transfer"] = "transfer"
    base: BaseSpec
    dense: list[Width] = Field(default_factory=list, description="New hidden layers on top of the base.")
    activation: Activation = "relu"
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout before each new layer.")

    def raw_inputs(self, input_shape: tuple[int | None, ...], context: BuildContext) -> bool:
        """The base normalises its inputs itself."""
        return True

    def resolve_paths(self, base_dir: Path) -> None:
        """Make ``base.path`` absolute, relative to the recipe's folder."""
        if self.base.path is not None and not self.base.path.is_absolute():
            self.base.path = (base_dir / self.base.path).resolve()


def base_model_file(spec: BaseSpec, context: BuildContext) -> Path:
    """The ``.keras`` file the base comes from.

    Raises:
        ModelError: the run has no saved model, or the file does not exist.
        RunNotFoundError: no run matches ``base.run``.
    """
    if spec.path is not None:
        path = context.path(spec.path)
        if path.is_dir():
            raise ModelError(f"model.base.path: {path}: is a folder; expected a .keras model file")
        if not path.is_file():
            raise ModelError(f"model.base.path: {path}: file not found")
        return path
    assert spec.run is not None  # the spec's validator guarantees one of run and path
    if context.resolve_run is not None:
        run_dir = context.resolve_run(spec.run)
    else:
        candidates = [Path(spec.run), (context.runs_dir or Path("runs")) / spec.run]
        found = [c for c in candidates if (c / "run.json").is_file()]
        if not found:
            raise ModelError(f"model.base.run: no run directory or run name '{spec.run}'")
        run_dir = found[0]
    path = run_dir / "model" / "model.keras"
    if not path.is_file():
        raise ModelError(
            f"model.base.run: run '{spec.run}' has no saved model ({path})",
            hint="use a run that finished training",
        )
    return path


def python_code_layers(path: Path) -> list[str]:
    """Names of the layers in a ``.keras`` file that hold Python bytecode (``Lambda`` layers).

    Keras's safe mode refuses to load them (they could run any code); reading ``config.json``
    finds them without loading anything. Empty for a file that is not a ``.keras`` archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return []
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                found.append(str((node.get("config") or {}).get("name", "?")))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(config)
    return found


def load_base(file: Path, field: str) -> Any:
    """Load the base network, refusing (exit 2, like a missing file) one Keras cannot load.

    Raises:
        ModelError: not a Keras model file, or one with Lambda layers (safe mode refuses them).
    """
    if file.suffix.lower() == ".keras" and not zipfile.is_zipfile(file):
        raise ModelError(
            f"{field}: {file}: not a Keras model file (a .keras file is the zip archive model.save writes)"
        )
    lambdas = python_code_layers(file)
    if lambdas:
        raise ModelError(
            f"{field}: {file}: Lambda layer {', '.join(repr(n) for n in lambdas)} holds Python code, "
            "which Keras refuses to load (safe mode)",
            hint="rebuild the base with a layer class registered by "
            "@keras.saving.register_keras_serializable() in place of Lambda, and save it again",
        )
    try:
        return load_model(file)
    except BuildError as exc:
        raise ModelError(
            f"{field}: {exc.message}", hint="give a model saved with model.save('x.keras')"
        ) from None


def _layer_names(model: Any) -> list[str]:
    return [layer.name for layer in model.layers]


def _cut_tensor(base: Any, layer: str | None) -> Any:
    names = _layer_names(base)
    if layer is not None:
        if layer not in names:
            raise ModelError(
                f"model.base.layer: the base has no layer '{layer}'.{did_you_mean(layer, names)}",
                hint=f"its layers: {', '.join(names)}",
            )
        return base.get_layer(layer).output
    # dlkit models end in a layer named "output"; otherwise cut before the last layer
    last = base.get_layer("output") if "output" in names else base.layers[-1]
    inbound = last.input
    if isinstance(inbound, list):
        raise ModelError(
            f"model.base: cannot cut before '{last.name}', which has several inputs; set base.layer"
        )
    return inbound


def _apply_freeze(spec: BaseSpec, extractor: Any) -> None:
    layers = extractor.layers
    names = _layer_names(extractor)
    if spec.until is not None:
        if spec.until not in names:
            raise ModelError(
                f"model.base.until: the base has no layer '{spec.until}'.{did_you_mean(spec.until, names)}",
                hint=f"its layers: {', '.join(names)}",
            )
        stop = names.index(spec.until)
        for i, layer in enumerate(layers):
            layer.trainable = i > stop
    elif spec.trainable_last is not None:
        weighted = [layer for layer in layers if layer.weights]
        keep = (
            {id(layer) for layer in weighted[len(weighted) - spec.trainable_last :]}
            if spec.trainable_last
            else set()
        )
        for layer in layers:
            layer.trainable = id(layer) in keep
    elif spec.freeze == "none":
        for layer in layers:
            layer.trainable = True
    else:
        extractor.trainable = False


def build_transfer(
    spec: TransferSpec, x: keras.KerasTensor, head: Head, context: BuildContext
) -> keras.KerasTensor:
    import keras

    file = base_model_file(spec.base, context)
    base = load_base(file, "model.base.path" if spec.base.path is not None else "model.base.run")
    expected = tuple(base.input_shape[1:])
    given = tuple(x.shape[1:])
    if expected != given:
        raise ModelError(
            f"model.base: {file} takes inputs of shape {expected} but the data has shape {given}",
            hint="transfer between tasks with the same input (docs/method.md §7)",
        )
    extractor = keras.Model(base.inputs, _cut_tensor(base, spec.base.layer), name="base")
    _apply_freeze(spec.base, extractor)
    x = extractor(x, training=False)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="head_flatten")(x)
    for i, units in enumerate(spec.dense):
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"head_dropout_{i}")(x)
        x = keras.layers.Dense(units, activation=spec.activation, name=f"head_dense_{i}")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="head_dropout_out")(x)
    return output_layer(head)(x)
