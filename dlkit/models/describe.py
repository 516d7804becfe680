"""What ``dlkit models show`` reports: a model built for given data, layer by layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dlkit.errors import RecipeError
from dlkit.models.registry import MODELS, BuildContext, Head, build_model


@dataclass
class LayerRow:
    """One layer of the built model."""

    name: str
    kind: str
    output_shape: str
    n_params: int
    trainable: bool


@dataclass
class ModelDescription:
    """A model type, its settings and the network they build for one input shape and head."""

    type: str
    summary: str
    settings: dict[str, Any]
    input_shape: tuple[int | None, ...]
    head: Head
    output_shape: str
    n_params: int
    n_trainable: int
    layers: list[LayerRow] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def make_spec(name: str, settings: dict[str, Any], where: str = "model") -> Any:
    """The spec of model type ``name`` with ``settings`` (its defaults for the rest).

    Raises:
        BuildError: unknown type (with a did-you-mean).
        RecipeError: settings the spec refuses, one line per problem.
    """
    entry = MODELS.get(name)
    try:
        return entry.spec.model_validate({**settings, "type": name})
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "required field is missing"
            lines.append(f"{where}.{path}: {message}")
        raise RecipeError("\n".join(lines)) from None


def _shape(tensor: Any) -> str:
    if isinstance(tensor, list | tuple):
        return ", ".join(_shape(t) for t in tensor)
    return str(tuple(tensor.shape))


def describe_model(
    spec: Any, input_shape: tuple[int | None, ...], head: Head, context: BuildContext | None = None
) -> ModelDescription:
    """Build ``spec`` for ``input_shape`` and ``head`` and describe the result.

    Raises:
        BuildError: the spec cannot be built for this input (the same checks as training).
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    import keras

    keras.backend.clear_session()
    model = build_model(spec, input_shape, head, context=context)
    rows = [
        LayerRow(
            layer.name,
            type(layer).__name__,
            _shape(layer.output),
            int(layer.count_params()) if layer.built else 0,
            bool(layer.trainable),
        )
        for layer in model.layers
    ]
    n_trainable = int(sum(int(keras.ops.size(w)) for w in model.trainable_weights))
    entry = MODELS.get(spec.type)
    return ModelDescription(
        type=spec.type,
        summary=entry.summary,
        settings=spec.model_dump(mode="json", exclude={"type"}),
        input_shape=input_shape,
        head=head,
        output_shape=_shape(model.outputs),
        n_params=int(model.count_params()),
        n_trainable=n_trainable,
        layers=rows,
        fields={n: (f.description or "") for n, f in entry.spec.model_fields.items() if n != "type"},
    )
