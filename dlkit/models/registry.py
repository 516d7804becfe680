"""The model registry and the one build path shared by training and tuning.

A builder takes its spec, the input tensor (already normalised) and the :class:`Head`, and
returns the output tensor; :func:`build_model` wraps it into a named ``keras.Model``. A builder
whose network has several inputs (``seq2seq``) may return a whole ``keras.Model`` instead.
Builders that need more than the input (a vocabulary size from the data, where earlier runs
live) take a fourth argument, the :class:`BuildContext`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit._registry import Registry
from dlkit._spec import Spec

if TYPE_CHECKING:
    import keras

MODELS: Registry[Spec] = Registry("model")


@dataclass(frozen=True)
class Head:
    """The output layer the task needs: ``units`` outputs with ``activation`` (each task
    says its own: :meth:`dlkit.tasks.base.Task.head`)."""

    units: int
    activation: str
    scale: tuple[float, float] | None = None
    """``(mean, std)``: the outputs are un-scaled to ``output * std + mean`` by a last layer
    (the task learns a standardised target, the saved model predicts in its units)."""
    grid: tuple[int, tuple[tuple[float, float], ...], int] | None = None
    """``(S, anchors, C)``: a detection grid `(S, S, B, 5 + C)` instead of a vector, for B anchor
    boxes ``(width, height)`` (:class:`dlkit.models.layers.GridOutput`, which keeps the anchors)."""
    normalize: bool = False
    """The outputs are divided by their L2 norm by a last layer (an embedding on the unit sphere)."""
    weighted: bool = False
    """The (normalised) outputs are then multiplied by one learned weight each
    (:class:`dlkit.models.layers.UnitWeights`: a pair classifier's weights)."""


@dataclass(frozen=True)
class BuildContext:
    """What a builder may need besides its spec and the input.

    Attributes:
        data: the loaded :class:`~dlkit.data.dataset.Dataset` (or None); builders read optional
            attributes from it with ``getattr`` (``vocab_size``, ``vocabulary``).
        base_dir: folder that relative paths in the model spec are taken from.
        runs_dir: where run names are looked up (``model.base.run``).
        tracking_uri: the MLflow store for run ids (``model.base.run``).
        resolve_run: RUN (directory, run name, MLflow run id or name) -> its run directory;
            the API passes its own, so the models layer needs no tracking code.
    """

    data: Any = None
    base_dir: Path | None = None
    runs_dir: Path | None = None
    tracking_uri: str | None = None
    resolve_run: Callable[[str], Path] | None = None

    def path(self, value: str | Path) -> Path:
        """``value`` as a path, relative ones taken from :attr:`base_dir` (else the working folder)."""
        path = Path(value).expanduser()
        if path.is_absolute():
            return path
        return (self.base_dir or Path.cwd()) / path


def _takes_context(builder: Any) -> bool:
    try:
        return len(inspect.signature(builder).parameters) >= 4
    except (TypeError, ValueError):
        return False


def build_model(
    spec: Any,
    input_shape: tuple[int | None, ...],
    head: Head,
    normalizer: keras.layers.Layer | None = None,
    name: str | None = None,
    *,
    context: BuildContext | None = None,
    encoded: tuple[dict[str, keras.KerasTensor], keras.KerasTensor] | None = None,
) -> keras.Model:
    """Build the model ``spec`` describes for inputs of ``input_shape``.

    Args:
        spec: a registered model spec (its ``type`` picks the builder).
        input_shape: one example's shape, e.g. `(8, 8, 1)`, `(30,)` or `(timesteps,)` of tokens.
        head: the output layer.
        normalizer: an adapted normalisation layer applied first, so the saved model takes
            raw inputs. Specs whose ``raw_inputs()`` is true (token ids, a transferred base that
            brings its own normalisation) skip it.
        name: the Keras model name (defaults to the model type).
        context: the data and folders some builders need (vocabulary sizes, earlier runs).
        encoded: named inputs and their encoded feature vector (typed table columns,
            :mod:`dlkit.models.table_inputs`): the builder starts from that vector, and
            ``input_shape`` and ``normalizer`` are not used.

    Raises:
        BuildError: unknown type, or a spec that cannot work with this input shape.
    """
    import keras

    entry = MODELS.get(spec.type)
    context = context or BuildContext()
    raw = getattr(spec, "raw_inputs", None)
    if callable(raw) and raw(input_shape, context):
        normalizer = None
    dtype = "float32"
    tokens = getattr(spec, "token_inputs", None)
    if callable(tokens) and tokens(input_shape, context):
        dtype = "int32"
    inputs: Any
    if encoded is not None:
        inputs, x = encoded
    else:
        inputs = keras.Input(shape=input_shape, name="inputs", dtype=dtype)
        x = normalizer(inputs) if normalizer is not None else inputs
    if _takes_context(entry.builder):
        outputs = entry.builder(spec, x, head, context)
    else:
        outputs = entry.builder(spec, x, head)
    if isinstance(outputs, keras.Model):
        if head.scale is None and not head.normalize and not head.weighted:
            return outputs
        inputs, outputs = outputs.inputs, outputs.outputs[0]
    if head.scale is not None:
        mean, std = head.scale
        # float32 whatever the compute policy: a float16 output would round a target in the thousands
        unscale = keras.layers.Normalization(
            mean=mean, variance=std**2, invert=True, axis=-1, name="target_scale", dtype="float32"
        )
        outputs = unscale(outputs)
    if head.normalize:
        outputs = keras.layers.UnitNormalization(axis=-1, name="l2_normalize", dtype="float32")(outputs)
    if head.weighted:
        from dlkit.models.layers import UnitWeights

        outputs = UnitWeights(name="pair_weights", dtype="float32")(outputs)
    return keras.Model(inputs, outputs, name=name or spec.type)


def output_layer(head: Head) -> keras.layers.Layer:
    """The final Dense layer; float32 so mixed precision keeps a stable loss."""
    import keras

    if head.grid is not None:
        from dlkit.models.layers import GridOutput

        size, anchors, n_classes = head.grid
        return GridOutput(size, [list(a) for a in anchors], n_classes, dtype="float32", name="output")
    return keras.layers.Dense(head.units, activation=head.activation, dtype="float32", name="output")


def load_model(path: str | Path) -> keras.Model:
    """Load a saved ``.keras`` model, dlkit's own layers included.

    Raises:
        BuildError: the file is missing or is not a Keras model.
    """
    import keras

    from dlkit.errors import BuildError
    from dlkit.models import (
        layers,  # noqa: F401  (registers dlkit's layers for deserialisation)
        losses,  # noqa: F401  (registers dlkit's losses likewise)
    )

    path = Path(path)
    if not path.is_file():
        raise BuildError(f"{path}: model file not found")
    try:
        return keras.models.load_model(path)
    except Exception as exc:  # Keras raises many kinds for a bad file
        raise BuildError(f"{path}: cannot load as a Keras model: {str(exc).splitlines()[0]}") from None
