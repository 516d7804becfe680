"""Model registry; importing this package registers every built-in model (no TensorFlow)."""

from dlkit.models import classic, cnn, mlp  # noqa: F401  (registration side effect)
from dlkit.models.registry import MODELS, Head, build_model

__all__ = ["MODELS", "Head", "build_model"]
