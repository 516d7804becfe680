"""What ``dlkit models show`` reports: a model built for given data, layer by layer.

Building needs TensorFlow, whose import takes seconds, for a description that only changes
with the model's settings and dlkit's or Keras's code. A description built without a recipe is
therefore kept in a small cache (:func:`cache_dir`), keyed by all of those: the same question
asked again is answered without TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dlkit.errors import RecipeError
from dlkit.models.registry import MODELS, BuildContext, Head, build_model

log = logging.getLogger(__name__)


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


def cache_dir() -> Path:
    """Where model descriptions are cached: ``DLKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/dlkit``
    (``~/.cache/dlkit``)."""
    if os.environ.get("DLKIT_CACHE_DIR"):
        return Path(os.environ["DLKIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlkit"


def _code_digest() -> str:
    """What the built network depends on besides its spec: the model builders' code and the
    installed Keras and TensorFlow."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for package in ("keras", "tensorflow", "tensorflow-cpu"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            continue
    return digest.hexdigest()


def _cache_file(spec: Any, input_shape: tuple[int | None, ...], head: Head, folder: Path) -> Path:
    question = json.dumps(
        [spec.model_dump(mode="json"), list(input_shape), dataclasses.asdict(head), _code_digest()],
        sort_keys=True,
    )
    return folder / "models" / f"{hashlib.sha256(question.encode()).hexdigest()[:32]}.json"


def _from_json(text: str) -> ModelDescription:
    raw = json.loads(text)
    scale = raw["head"].get("scale")
    raw["head"] = Head(**{**raw["head"], "scale": tuple(scale) if scale else None})
    raw["input_shape"] = tuple(raw["input_shape"])
    raw["layers"] = [LayerRow(**row) for row in raw["layers"]]
    return ModelDescription(**raw)


def describe_model_cached(
    spec: Any, input_shape: tuple[int | None, ...], head: Head, folder: Path | None = None
) -> ModelDescription:
    """:func:`describe_model` without a build context, answered from the cache when it can be.

    A spec whose network comes from files (``reads_files``: a Python file, an earlier run, a
    saved model) is always built: those files may have changed.

    Args:
        folder: the cache folder; :func:`cache_dir` when None.
    """
    if getattr(type(spec), "reads_files", False):
        return describe_model(spec, input_shape, head)
    path = _cache_file(spec, input_shape, head, folder or cache_dir())
    try:
        return _from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, KeyError) as exc:  # a damaged entry is rebuilt
        log.info("model description cache: %s unreadable (%s); rebuilding", path, exc)
    described = describe_model(spec, input_shape, head)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(dataclasses.asdict(described)), encoding="utf-8")
        partial.replace(path)  # atomic: a concurrent reader sees all of it or nothing
    except OSError as exc:  # a read-only home still gets its answer
        log.info("model description cache: cannot write %s (%s)", path, exc)
    return described
