"""Model registry; importing this package registers every built-in model (no TensorFlow)."""

from dlkit.models import (  # noqa: F401  (registration side effect)
    avg_embedding,
    classic,
    cnn,
    conv_gru,
    crnn,
    custom,
    mlp,
    rnn,
    seq2seq,
    transfer,
    transformer,
    unet,
)
from dlkit.models.registry import MODELS, BuildContext, Head, build_model, load_model

__all__ = ["MODELS", "BuildContext", "Head", "build_model", "load_model"]
