"""Model registry; every built-in model is registered here by where it lives (no TensorFlow).

Each name points at its spec class and builder (``"module:attribute"``); the module is imported
the first time the name is asked for (:meth:`dlkit._registry.Registry.get`), so validating a
recipe imports only the model it names. Spec and builder sit side by side in their module.
"""

from dlkit.models.registry import MODELS, BuildContext, Head, build_model, load_model


def _register(name: str, module: str, spec: str, builder: str, summary: str) -> None:
    MODELS.register(name, f"dlkit.models.{module}:{spec}", f"dlkit.models.{module}:{builder}", summary)


_register(
    "alexnet",
    "classic",
    "AlexNetSpec",
    "build_alexnet",
    "AlexNet: 5 convs (11x11/4 first), 3 max pools, 2 x 4096",
)
_register(
    "avg_embedding",
    "avg_embedding",
    "AvgEmbeddingSpec",
    "build_avg_embedding",
    "mean of word vectors, then dense; for token ids",
)
_register("cnn", "cnn", "CNNSpec", "build_cnn", "conv/pool blocks and a dense head (images)")
_register(
    "conv_gru",
    "conv_gru",
    "ConvGRUSpec",
    "build_conv_gru",
    "strided Conv1D, then GRUs, one output per step (trigger_word)",
)
_register(
    "crnn", "crnn", "CRNNSpec", "build_crnn", "conv blocks, then a (Bi)GRU/LSTM over the image columns (ctc)"
)
_register(
    "efficientnet_b0",
    "classic",
    "EfficientNetB0Spec",
    "build_efficientnet_b0",
    "EfficientNet-B0 (keras.applications)",
)
_register(
    "inception",
    "classic",
    "InceptionSpec",
    "build_inception",
    "GoogLeNet: 9 Inception modules with 1x1 reductions",
)
_register(
    "lenet5",
    "classic",
    "LeNet5Spec",
    "build_lenet5",
    "LeNet-5: 6@5x5, avg pool, 16@5x5, avg pool, 120, 84 (tanh)",
)
_register("mlp", "mlp", "MLPSpec", "build_mlp", "dense layers; none = logistic/softmax regression")
_register(
    "mobilenet",
    "classic",
    "MobileNetSpec",
    "build_mobilenet",
    "MobileNet v1 (depthwise separable, alpha) or v2",
)
_register("python", "custom", "PythonModelSpec", "build_python", "your own builder function in a Python file")
_register(
    "resnet",
    "classic",
    "ResNetSpec",
    "build_resnet",
    "ResNet 18/34 (basic) or 50/101/152 (bottleneck blocks)",
)
_register(
    "rnn", "rnn", "RNNSpec", "build_rnn", "SimpleRNN/GRU/LSTM, stacked, bidirectional; embedding for tokens"
)
_register(
    "seq2seq",
    "seq2seq",
    "Seq2SeqSpec",
    "build_seq2seq",
    "encoder-decoder RNN with attention; greedy or beam-search decoding",
)
_register(
    "transfer",
    "transfer",
    "TransferSpec",
    "build_transfer",
    "a trained base (run or .keras file) with a new head",
)
_register(
    "transformer",
    "transformer",
    "TransformerSpec",
    "build_transformer",
    "Transformer encoder classifier (self-attention, masks)",
)
_register(
    "unet", "unet", "UNetSpec", "build_unet", "U-Net encoder-decoder with skips: a prediction per pixel"
)
_register(
    "vgg16",
    "classic",
    "VGG16Spec",
    "build_vgg16",
    "VGG16: 13 3x3 convs in 5 blocks, fc1, fc2 (keras.applications)",
)

__all__ = ["MODELS", "BuildContext", "Head", "build_model", "load_model"]
