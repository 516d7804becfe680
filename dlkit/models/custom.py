"""``python``: a model built by the user's own Python function.

The recipe names a file and a function::

    model: {type: python, path: my_model.py, function: build, options: {units: 64}}

and dlkit calls ``build(inputs, n_outputs, output_activation, **options)`` with the Keras input
tensor (already normalised when ``data.normalize`` is on), the number of outputs the task needs
and their activation (sigmoid, softmax or linear). It returns the output tensor, or a
``keras.Model`` whose input is ``inputs``. Custom layers must be registered with
``@keras.saving.register_keras_serializable()`` for the saved model to load again.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from dlkit._spec import Spec
from dlkit.models._errors import ModelError
from dlkit.models.registry import BuildContext, Head

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)


class PythonModelSpec(Spec):
    """A user's model-building function in a Python file."""

    type: Literal["python"] = "python"
    example_input: ClassVar[tuple[int, ...]] = (8, 8, 1)
    # the network comes from a file, which may change: never described from a cache
    reads_files: ClassVar[bool] = True
    path: Path = Field(description="The Python file (relative to the recipe's folder).")
    function: str = Field(default="build", description="The function in it that builds the model.")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for the function.")

    def resolve_paths(self, base_dir: Path) -> None:
        """Make ``path`` absolute, relative to the recipe's folder."""
        if not self.path.is_absolute():
            self.path = (base_dir / self.path).resolve()


def _where(exc: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return f"{path}: line {frames[-1].lineno}" if frames else str(path)


def load_function(path: Path, name: str) -> Any:
    """Import ``path`` as a module and return its function ``name``.

    Raises:
        ModelError: missing file, an error while importing it, or no such function.
    """
    if path.is_dir():
        raise ModelError(f"model.path: {path}: is a folder; expected a Python file")
    if not path.is_file():
        raise ModelError(f"model.path: {path}: file not found")
    module_name = f"dlkit_user_model_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"model.path: {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ModelError(f"{_where(exc, path)}: importing it raised {type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ModelError(
            f"model.function: {path} has no function '{name}'",
            hint=f"functions in it: {', '.join(found) or 'none'}",
        )
    return function


def _all_layers(layer: Any) -> list[Any]:
    """``layer`` and every layer inside it, nested models included."""
    return [layer, *(inner for sub in getattr(layer, "layers", []) for inner in _all_layers(sub))]


def build_python(spec: PythonModelSpec, x: keras.KerasTensor, head: Head, context: BuildContext) -> Any:
    import keras

    path = context.path(spec.path)
    function = load_function(path, spec.function)
    try:
        out = function(x, head.units, head.activation, **spec.options)
    except Exception as exc:
        raise ModelError(
            f"{_where(exc, path)}: {spec.function}() raised {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(out, keras.Model):
        out = out.outputs[0] if len(out.outputs) == 1 else out
        if isinstance(out, keras.Model):
            raise ModelError(
                f"{path}: {spec.function}() returned a model with {len(out.outputs)} outputs; expected 1"
            )
    if not isinstance(out, keras.KerasTensor):
        raise ModelError(
            f"{path}: {spec.function}() returned {type(out).__name__}; expected the output tensor "
            "(or a keras.Model) built on the inputs it was given"
        )
    if tuple(out.shape[1:]) != (head.units,):
        raise ModelError(
            f"{path}: {spec.function}() returned outputs of shape {tuple(out.shape[1:])}; "
            f"the task needs ({head.units},) with {head.activation}"
        )
    lambdas = [
        layer.name for layer in _all_layers(keras.Model(x, out)) if isinstance(layer, keras.layers.Lambda)
    ]
    if lambdas:
        # it trains, but Keras's safe mode will not load the saved model back: say so now
        logger.warning(
            "%s: %s() uses Lambda layer(s) %s: Keras will refuse to load the saved model "
            "(resume, transfer); use a layer class registered with "
            "@keras.saving.register_keras_serializable() instead",
            path,
            spec.function,
            ", ".join(lambdas),
        )
    return out
