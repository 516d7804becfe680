"""Gradient checking (docs/method.md §6): autodiff against two-sided numerical differences.

The model is cloned in float64 and evaluated in inference mode (dropout off; batch norm uses its
running statistics), on a small batch, with the regularisation terms in the cost. For each
parameter checked, ``(J(θ+ε) − J(θ−ε)) / 2ε`` is compared with the autodiff gradient; per layer
and overall, the relative difference ``‖approx − grad‖ / (‖approx‖ + ‖grad‖)`` is read against
docs/method.md §6's thresholds: about 1e-7 good, around 1e-5 look closer, 1e-3 or worse a bug.

Layers with many parameters are checked on a seeded sample of coordinates (``max_per_layer``);
each evaluation of J is one forward pass, so checking every parameter of a large model is slow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.errors import BuildError

if TYPE_CHECKING:
    import keras

    from dlkit.recipe.schema import Recipe
    from dlkit.training.prepare import SplitOutcome

GOOD_BELOW = 1e-6  # "about 1e-7": an order of magnitude of slack for float64 round-off
BUG_AT = 1e-3
JITTER = 1e-2  # standard deviation of the noise added to the weights before checking


def verdict(rel_diff: float) -> str:
    """``good`` below 1e-6, ``look closer`` below 1e-3, ``bug`` at 1e-3 or more."""
    if not np.isfinite(rel_diff) or rel_diff >= BUG_AT:
        return "bug"
    return "good" if rel_diff < GOOD_BELOW else "look closer"


def relative_difference(approx: np.ndarray, grad: np.ndarray) -> float:
    """‖approx − grad‖ / (‖approx‖ + ‖grad‖); 0 when both are zero."""
    denominator = float(np.linalg.norm(approx) + np.linalg.norm(grad))
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(approx - grad)) / denominator


@dataclass
class LayerCheck:
    """One layer's comparison."""

    layer: str
    n_params: int
    n_checked: int
    rel_diff: float
    verdict: str


@dataclass
class GradCheckResult:
    """Every layer with parameters, in model order, and the overall reading."""

    layers: list[LayerCheck]
    overall: float
    verdict: str
    epsilon: float
    batch: int
    suspect: str | None = None
    after_suspect: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict != "bug"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class _Samples:
    approx: list[float] = field(default_factory=list)
    grad: list[float] = field(default_factory=list)
    n_params: int = 0


def _in_float64(config: Any) -> Any:
    """A layer config with every dtype float64, nested layers' too (a Bidirectional's RNNs, a
    wrapper's cell), whatever form the dtype takes (a name or a serialised DTypePolicy)."""
    if isinstance(config, dict):
        out = {k: _in_float64(v) for k, v in config.items()}
        if "dtype" in out and (
            out["dtype"] is None or (isinstance(out["dtype"], (str, dict)) and "int" not in str(out["dtype"]))
        ):
            out["dtype"] = "float64"
        return out
    if isinstance(config, list):
        return [_in_float64(v) for v in config]
    return config


def to_float64(model: keras.Model) -> keras.Model:
    """A float64 copy of ``model`` with the same weights (every layer's dtype policy replaced)."""
    import keras

    def clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = _in_float64(layer.get_config())
        # regularisers are carried over as objects below: any callable works, serialisable or not
        config.update({k: None for k in config if k.endswith("_regularizer")})
        try:
            return layer.__class__.from_config(config)
        except Exception as exc:
            if not getattr(layer, "weights", None):
                # an operation without weights (keras.ops wrapped as a layer: NotEqual on token
                # ids) computes in its inputs' dtype: the copy can share it
                return layer
            raise BuildError(
                f"gradcheck: layer '{layer.name}' ({type(layer).__name__}) cannot be rebuilt in float64 "
                f"from its config: {str(exc).splitlines()[0][:120]}"
            ) from None

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights([np.asarray(w, dtype=np.float64) for w in model.get_weights()])
    for original, copy in zip(model.weights, clone.weights, strict=True):
        copy.regularizer = original.regularizer
    layers = list(model._flatten_layers(include_self=False, recursive=True))
    copies = list(clone._flatten_layers(include_self=False, recursive=True))
    for original, copy in zip(layers, copies, strict=True):
        if getattr(original, "activity_regularizer", None) is not None:
            copy.activity_regularizer = original.activity_regularizer
    for layer in clone._flatten_layers(include_self=False, recursive=True):
        # layers with adapted state (Normalization) derive it from their variables here
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
    return clone


def _jitter(model: keras.Model, seed: int, scale: float = JITTER) -> None:
    # zero-initialised biases put ReLUs exactly on their kink wherever an input patch is all
    # zeros, where the two-sided difference is wrong, not autodiff; any point will do
    rng = np.random.default_rng(seed)
    for var in model.trainable_variables:
        var.assign(var.numpy() + rng.normal(0.0, scale, size=tuple(var.shape)))


def _layer_names(model: keras.Model) -> list[str]:
    return [layer.name for layer in model._flatten_layers(include_self=False, recursive=True)]


def _owner(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else path


def check_gradients(
    model: keras.Model,
    x: Any,
    y: np.ndarray,
    loss: Any,
    *,
    epsilon: float = 1e-7,
    max_per_layer: int | None = 64,
    seed: int = 0,
) -> GradCheckResult:
    """Compare autodiff and numerical gradients of ``mean loss(y, model(x)) + regularisation``.

    Args:
        model: the model (any dtype; it is cloned in float64, weights copied).
        x: a small batch of inputs (an array, or a tuple for a model with several inputs).
        y: its targets.
        loss: a Keras loss name or callable ``(y_true, y_pred) -> losses``.
        epsilon: the two-sided difference's step ε.
        max_per_layer: check at most this many coordinates per layer (seeded sample); None: all.
        seed: for the sample of coordinates.

    Returns:
        Per layer and overall relative differences with their verdicts, and when something is
        wrong, the failing layer nearest the output (``suspect``) and the parameter-free layers
        right after it, whose input gradients could be the cause instead.
    """
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    if isinstance(loss_fn, keras.losses.Loss):
        # a Loss object computes in its own dtype (float32): in float64, like the model copy
        loss_fn = type(loss_fn).from_config({**loss_fn.get_config(), "dtype": "float64"})
    model64 = to_float64(model)
    # real inputs in float64; token ids (integers) and strings (typed table columns) stay as they are
    x64 = tf.nest.map_structure(
        lambda a: (
            a
            if isinstance(a, tf.Tensor) and a.dtype == tf.string
            else tf.constant(
                a if np.issubdtype(np.asarray(a).dtype, np.integer) else np.asarray(a, np.float64)
            )
        ),
        x,
    )
    reference = np.asarray(model(x64, training=False), dtype=np.float64)
    copied = np.asarray(model64(x64, training=False))
    if not np.allclose(reference, copied, rtol=1e-3, atol=1e-4):
        raise BuildError(
            f"gradcheck: the float64 copy of model '{model.name}' computes other outputs than the model "
            f"(max difference {np.abs(reference - copied).max():.3g}); a layer does not survive "
            "get_config/from_config with dtype float64"
        )
    _jitter(model64, seed)
    y_true = tf.constant(y)
    if len(y_true.shape) == len(reference.shape) - 1 and reference.shape[-1] == 1:
        y_true = tf.expand_dims(y_true, -1)  # as compile() does: (n,) targets for (n, 1) outputs

    def cost() -> tf.Tensor:
        out = model64(x64, training=False)
        value = tf.reduce_mean(tf.cast(loss_fn(y_true, out), tf.float64))
        for term in model64.losses:
            value = value + tf.cast(term, tf.float64)
        return value

    compiled = tf.function(cost)
    variables = list(model64.trainable_variables)
    with tf.GradientTape() as tape:
        value = cost()
    grads = tape.gradient(value, variables)

    rng = np.random.default_rng(seed)
    n_vars: dict[str, int] = {}
    for var in variables:
        n_vars[_owner(var.path)] = n_vars.get(_owner(var.path), 0) + 1
    per_layer: dict[str, _Samples] = {}
    for var, grad in zip(variables, grads, strict=True):
        owner = _owner(var.path)
        entry = per_layer.setdefault(owner, _Samples())
        base = np.array(var.numpy(), dtype=np.float64)
        # embeddings give sparse rows (IndexedSlices): made dense to compare coordinate by coordinate
        dense = None if grad is None else tf.convert_to_tensor(grad)
        flat_grad = np.zeros(base.size) if dense is None else np.asarray(dense, dtype=np.float64).reshape(-1)
        # the layer's budget shared by its weight tensors (kernel and bias both get checked)
        count = base.size if not max_per_layer else min(base.size, -(-max_per_layer // n_vars[owner]))
        picks = (
            np.arange(base.size)
            if count >= base.size
            else np.sort(rng.choice(base.size, count, replace=False))
        )
        entry.n_params += base.size
        flat = base.reshape(-1)
        for i in picks:
            original = flat[i]
            flat[i] = original + epsilon
            var.assign(base)
            plus = float(compiled())
            flat[i] = original - epsilon
            var.assign(base)
            minus = float(compiled())
            flat[i] = original
            entry.approx.append((plus - minus) / (2 * epsilon))
            entry.grad.append(float(flat_grad[i]))
        var.assign(base)

    order = {name: i for i, name in enumerate(_layer_names(model64))}
    owners = sorted(per_layer, key=lambda o: order.get(o.split("/")[-1], order.get(o, len(order))))
    layers = []
    all_approx: list[float] = []
    all_grad: list[float] = []
    for owner in owners:
        entry = per_layer[owner]
        approx, grad = np.asarray(entry.approx), np.asarray(entry.grad)
        all_approx.extend(approx.tolist())
        all_grad.extend(grad.tolist())
        diff = relative_difference(approx, grad)
        layers.append(LayerCheck(owner, entry.n_params, len(approx), diff, verdict(diff)))
    overall = relative_difference(np.asarray(all_approx), np.asarray(all_grad))
    overall_verdict = "bug" if any(layer.verdict == "bug" for layer in layers) else verdict(overall)
    result = GradCheckResult(layers, overall, overall_verdict, epsilon, len(y))
    failing = [layer.layer for layer in layers if layer.verdict == "bug"]
    if failing:
        result.suspect = failing[-1]
        names = _layer_names(model64)
        leaf = result.suspect.split("/")[-1]
        if leaf in names:
            with_params = {o.split("/")[-1] for o in owners}
            for name in names[names.index(leaf) + 1 :]:
                if name in with_params:
                    break
                result.after_suspect.append(name)
    return result


def gradcheck_recipe(
    recipe: Recipe,
    outcome: SplitOutcome,
    *,
    batch: int = 8,
    epsilon: float = 1e-7,
    max_per_layer: int | None = 64,
) -> GradCheckResult:
    """Gradient-check the recipe's model, built by the one build path, on a seeded training batch.

    The model is built as training builds it (normalisation fitted on train, the recipe-wide
    regularisation and initialiser, the task's head and loss; augmentation left out, as at
    inference), freshly initialised with the recipe's seed (docs/method.md §6).
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    import keras

    from dlkit.tasks import task_for
    from dlkit.training.pipeline import build_model

    data, parts = outcome.data, outcome.split
    train_idx = parts.indices("train")
    pick = np.random.default_rng(recipe.seed).choice(
        len(train_idx), min(batch, len(train_idx)), replace=False
    )
    chosen = train_idx[np.sort(pick)]
    plain = recipe.model_copy(deep=True)
    plain.train.mixed_precision = False
    keras.backend.clear_session()
    keras.utils.set_random_seed(recipe.seed)
    task = task_for(data.task)
    task.refuse("gradcheck", recipe.name)
    model = build_model(plain, data, train_idx, augment=False)
    x, y = task.fit_arrays(data, chosen)
    return check_gradients(
        model,
        x,
        y,
        recipe.train.loss or task.loss(data),
        epsilon=epsilon,
        max_per_layer=max_per_layer,
        seed=recipe.seed,
    )
