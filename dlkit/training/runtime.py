"""Where and how training runs: distribution strategy, mixed precision, op determinism.

:func:`training_runtime` sets these up for one training and puts the process back as it was
afterwards (the dtype policy is global in Keras), so tuning trials in one process do not leak
settings into each other.

``multi_worker`` trains one model in several processes (one per machine) that each run
``dlkit train`` with their own ``TF_CONFIG``: task 0 (or the ``chief`` task) is the chief, the
only one that writes the run directory, checkpoints and MLflow records (:func:`is_chief`). The
recipe's ``batch_size`` is the global batch: each step, every worker trains on its share of it
(``batch_size / workers``), and the gradients are averaged across workers. A worker that
stops sending heartbeats ends the others' training with an error within about
``HEARTBEAT_S`` seconds; a cluster that is not complete within ``DLKIT_WORKER_TIMEOUT_S``
seconds (default 300) is refused.
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
from dlkit.training._multi_worker import HEARTBEAT_S

if TYPE_CHECKING:
    import tensorflow as tf

    from dlkit.training.spec import TrainSpec

log = logging.getLogger(__name__)

MIN_COMPUTE_CAPABILITY = (7, 0)  # Volta and later have float16 tensor cores

WORKER_TIMEOUT_ENV = "DLKIT_WORKER_TIMEOUT_S"
WORKER_TIMEOUT_S = 300.0  # how long workers wait for each other, at the start and at the end


@dataclass
class Runtime:
    """What :func:`training_runtime` chose."""

    strategy: tf.distribute.Strategy
    strategy_name: str
    mixed_precision: bool
    deterministic: bool
    chief: bool = True  # this process writes the run (always, but for a multi_worker worker)

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def shard(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """``dataset`` as the strategy must split it: under multi_worker, each global batch is
        split between the workers (tf.data's DATA policy; the default would shard a streamed
        source by files, and a single file would leave a worker without data)."""
        if self.strategy_name != "multi_worker":
            return dataset
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return dataset.with_options(options)

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


def is_chief(strategy: str) -> bool:
    """Whether this process writes the run: always, but for a multi_worker task other than the
    chief (``TF_CONFIG``'s ``chief`` task, else worker 0), as Keras's multi-worker guide does.

    Raises:
        RecipeError: multi_worker without a usable TF_CONFIG.
    """
    if strategy != "multi_worker":
        return True
    task = _tf_config()["task"]
    kind, index = task.get("type"), task.get("index", 0)
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in _tf_config()["cluster"])


def this_task() -> str:
    """``worker 1``: this multi_worker process's task (from TF_CONFIG)."""
    task = _tf_config()["task"]
    return f"{task.get('type')} {task.get('index', 0)}"


def worker_name() -> str:
    """``worker 1 of 2`` for this multi_worker process (from TF_CONFIG)."""
    n = sum(len(hosts) for hosts in _tf_config()["cluster"].values())
    return f"{this_task()} of {n}"


def worker_timeout_s() -> float:
    """``DLKIT_WORKER_TIMEOUT_S``, or the default.

    Raises:
        RecipeError: not a positive number.
    """
    raw = os.environ.get(WORKER_TIMEOUT_ENV)
    if raw is None:
        return WORKER_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise RecipeError(f"{WORKER_TIMEOUT_ENV}: expected a number of seconds above 0 (got {raw!r})")
    return value


def _configure_cluster(config: dict[str, Any], timeout_s: float) -> None:
    # what MultiWorkerMirroredStrategy would configure itself, with finite waits: TensorFlow's
    # defaults wait an hour for a missing worker, and the end of training must not hang
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    cluster = tf.train.ClusterSpec(config["cluster"])
    if context.context().coordination_service is not None:
        return
    jobs = [
        coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster.num_tasks(job))
        for job in ("chief", "worker")
        if job in cluster.jobs
    ]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster),
        # later than make_strategy's own deadline, which ends the process with a clear line
        cluster_register_timeout_in_ms=int((timeout_s + 30) * 1000),
        heartbeat_timeout_in_ms=HEARTBEAT_S * 1000,
        shutdown_barrier_timeout_in_ms=int(timeout_s * 1000),
        coordinated_jobs=jobs,
    )


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
        from dlkit.training._multi_worker import deadline, patch_keras

        config = _tf_config()
        timeout = worker_timeout_s()
        hosts = ", ".join(h for job in config["cluster"].values() for h in job)
        patch_keras()
        try:
            # TensorFlow waits for every worker inside native code, deaf to Ctrl-C and SIGTERM
            with deadline(
                timeout,
                f"train.strategy: multi_worker: the cluster ({hosts}) was not complete after "
                f"{timeout:g} s ({WORKER_TIMEOUT_ENV}); start `dlkit train` with its TF_CONFIG on "
                "every machine, and check the ports are open",
            ):
                _configure_cluster(config, timeout)
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
        yield Runtime(strategy, spec.strategy, mixed, spec.deterministic, is_chief(spec.strategy))
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
