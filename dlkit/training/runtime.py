"""Where and how training runs: distribution strategy, mixed precision, op determinism.

:func:`training_runtime` sets these up for one training and puts the process back as it was
afterwards (the dtype policy is global in Keras), so tuning trials in one process do not leak
settings into each other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlkit.errors import RecipeError

if TYPE_CHECKING:
    import tensorflow as tf

    from dlkit.training.spec import TrainSpec

log = logging.getLogger(__name__)

MIN_COMPUTE_CAPABILITY = (7, 0)  # Volta and later have float16 tensor cores


@dataclass
class Runtime:
    """What :func:`training_runtime` chose."""

    strategy: tf.distribute.Strategy
    strategy_name: str
    mixed_precision: bool
    deterministic: bool

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def describe(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy_name,
            "replicas": self.replicas,
            "mixed_precision": self.mixed_precision,
            "deterministic": self.deterministic,
        }


def gpu_supports_mixed_precision() -> bool:
    """True when a visible GPU has compute capability 7.0 or more (float16 tensor cores)."""
    from dlkit._tf import import_tensorflow

    tf = import_tensorflow()
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability is not None and tuple(capability) >= MIN_COMPUTE_CAPABILITY:
            return True
    return False


def resolve_mixed_precision(setting: bool | str) -> bool:
    """``auto`` -> on only where a supporting GPU is present; booleans are taken as given."""
    if setting == "auto":
        return gpu_supports_mixed_precision()
    return bool(setting)


def _tf_config() -> dict[str, Any]:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise RecipeError(
            "train.strategy: multi_worker needs the TF_CONFIG environment variable (it is not set)",
            hint='set TF_CONFIG to {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            '"index": i}} on every worker',
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecipeError(f"TF_CONFIG: not valid JSON: {exc.msg} (got {raw[:60]!r})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster.get("worker") or not isinstance(task, dict):
        raise RecipeError(
            f"TF_CONFIG: expected a cluster with a worker list and a task (got {raw[:60]!r})",
        )
    return config


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy the recipe names.

    Raises:
        RecipeError: multi_worker without a usable TF_CONFIG.
    """
    from dlkit._tf import import_tensorflow

    tf = import_tensorflow()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        _tf_config()
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            raise RecipeError(
                f"train.strategy: multi_worker could not start: {exc}",
                hint="the strategy must be created before TensorFlow runs anything: use `dlkit train` "
                "in a fresh process on every worker",
            ) from None
    return tf.distribute.get_strategy()


@contextlib.contextmanager
def training_runtime(spec: TrainSpec, seed: int) -> Iterator[Runtime]:
    """Seed everything, pick the strategy, the dtype policy and determinism for one training.

    Model building, compiling and fitting happen inside ``runtime.strategy.scope()``.
    """
    import keras

    from dlkit._tf import import_tensorflow

    tf = import_tensorflow()
    strategy = make_strategy(spec.strategy)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if spec.deterministic:
        tf.config.experimental.enable_op_determinism()
    mixed = resolve_mixed_precision(spec.mixed_precision)
    if spec.mixed_precision is True and not gpu_supports_mixed_precision():
        log.warning("mixed precision on a machine without a supporting GPU: expect slower training")
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    try:
        yield Runtime(strategy, spec.strategy, mixed, spec.deterministic)
    finally:
        keras.mixed_precision.set_global_policy(previous)
        if spec.deterministic:
            _disable_op_determinism(tf)


def _disable_op_determinism(tf: Any) -> None:
    # TensorFlow has no public switch back; the internal one keeps later runs in this process
    # (tuning trials, tests) from paying for a setting they did not ask for
    with contextlib.suppress(Exception):
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()
