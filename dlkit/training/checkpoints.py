"""Checkpoints kept with a run, and what a resumed run needs to continue exactly.

A checkpoint is written at the end of an epoch, in the run's ``checkpoints/`` folder, when
``train.checkpoint_every_s`` seconds have passed since the last one, and always at the last
epoch, at an early stop, and when training is interrupted or fails (the last completed epoch,
kept in memory until then: :class:`dlkit.training._callbacks.EpochRecorder`):

- ``last.keras``: the model with its optimizer state (moments, iteration count, learning rate);
- ``best.keras``: the model at the best epoch so far (early stopping's monitor, else val_loss);
- ``state.json``: the epoch count, the history so far, the schedule's and early stopping's
  state, whether training stopped there (early stopping), and the random generators' positions
  (dropout, augmentation), which Keras does not save in a ``.keras`` file.

The three files change together or not at all (:func:`write_checkpoint`): the new files are
written beside the old ones (``.last.next.keras``, ``.best.next.keras``), then the new state as
``.state.next.json``, whose appearance commits the epoch; only then are they renamed over the old
ones. A run killed before the commit keeps the previous epoch's files, one killed after it has its
renames finished by :func:`read_state`. The iteration count in ``state.json`` is still checked
against the model's on resume. SIGINT and SIGTERM wait for a checkpoint to be written
(:func:`signals_held`), so an interrupted run has every epoch it reported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.errors import DlkitError

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
LAST = "last.keras"
BEST = "best.keras"
# written first, renamed over the files above once the new state.json is committed
_NEXT = {LAST: ".last.next.keras", BEST: ".best.next.keras", STATE_FILE: ".state.next.json"}

TEST_PAUSE_ENV = "DLKIT_TEST_PAUSE"


class ResumeError(DlkitError):
    """A run cannot be resumed (no checkpoint, finished, stopped early, changed data)."""

    exit_code = 2


@dataclass
class ResumeState:
    """What ``state.json`` holds about a run's last completed epoch."""

    epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    iterations: int = 0
    best: dict[str, Any] = field(default_factory=dict)
    plateau: dict[str, Any] | None = None
    early_stopping: dict[str, Any] | None = None
    seed_generators: list[list[int]] = field(default_factory=list)
    stopped: bool = False  # training ended at this epoch before train.epochs (early stopping)
    best_weights: list[Any] | None = None  # early stopping's best weights, read from best.keras

    def fitted(self, epochs: int) -> bool:
        """Whether fitting is over at this state (``epochs`` done, or stopped early)."""
        return self.stopped or self.epoch >= epochs

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "stopped": self.stopped,
            "iterations": self.iterations,
            "best": self.best,
            "plateau": self.plateau,
            "early_stopping": self.early_stopping,
            "seed_generators": self.seed_generators,
            "history": self.history,
        }


def read_state(folder: Path) -> ResumeState | None:
    """The state of the last completed epoch, or None when no epoch completed.

    A checkpoint whose write was cut short is finished first (committed) or dropped (not).
    """
    recover(folder)
    path = folder / STATE_FILE
    if not path.is_file() or not (folder / LAST).is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return ResumeState(
        epoch=int(data["epoch"]),
        history=list(data.get("history", [])),
        iterations=int(data.get("iterations", 0)),
        best=dict(data.get("best") or {}),
        plateau=data.get("plateau"),
        early_stopping=data.get("early_stopping"),
        seed_generators=list(data.get("seed_generators", [])),
        stopped=bool(data.get("stopped", False)),
    )


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk: a power cut must not undo a commit."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # a folder cannot be synced on every platform
        pass
    finally:
        os.close(fd)


def recover(folder: Path) -> None:
    """Finish a checkpoint write that was committed (``.state.next.json`` is there), else drop it."""
    for partial in folder.glob(f".{_NEXT[STATE_FILE]}.*"):  # a state the process died writing
        partial.unlink(missing_ok=True)
    pending = folder / _NEXT[STATE_FILE]
    if pending.is_file():
        for name in (BEST, LAST, STATE_FILE):  # state.json last: it names what the models hold
            if (folder / _NEXT[name]).is_file():
                os.replace(folder / _NEXT[name], folder / name)
        _fsync(folder)
        return
    for name in (BEST, LAST):
        (folder / _NEXT[name]).unlink(missing_ok=True)


def write_checkpoint(
    folder: Path,
    model: keras.Model,
    state: ResumeState,
    *,
    best: bool,
    best_values: list[Any] | None = None,
) -> None:
    """Write one epoch's checkpoint (``last.keras``, ``best.keras`` when ``best``, ``state.json``)
    as one change: a run killed at any moment keeps either the previous epoch's files or these.

    ``best_values``: an earlier best epoch's :func:`variable_values`, whose checkpoint was never
    written: written as ``best.keras`` (the model's variables are put back afterwards).
    """
    from dlkit.rundir import write_json
    from dlkit.training.model_file import save_model

    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    save_model(model, folder / _NEXT[LAST])
    _fsync(folder / _NEXT[LAST])
    if best or best_values is not None:
        current = variable_values(model) if best_values is not None else None
        if best_values is not None:
            assign_values(model, best_values)
        try:
            save_model(model, folder / _NEXT[BEST])
        finally:
            if current is not None:
                assign_values(model, current)
        _fsync(folder / _NEXT[BEST])
    pause_for_test("checkpoint", state.epoch)
    write_json(folder / _NEXT[STATE_FILE], state.to_json())  # the commit
    _fsync(folder / _NEXT[STATE_FILE])
    recover(folder)


_held: list[int] = []  # signals received while held, in order
_holding = threading.Event()  # set while a block holds them (not nested)
_previous: dict[int, Any] = {}  # the handlers a holding block replaced


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then deliver them.

    Around a checkpoint write and the run's epoch report, so that an interrupted run has every
    epoch it reported (a checkpoint, its history row and its metrics in MLflow), and around the
    final status. A second signal of the same kind is delivered at once: someone who presses
    Ctrl-C twice (the store hangs) gets out. Outside the main thread, inside another such block,
    or for a signal that is ignored (a tuning worker ignores Ctrl-C), nothing changes.
    """
    if threading.current_thread() is not threading.main_thread() or _holding.is_set():
        yield
        return
    previous = _previous
    previous.clear()

    def hold(signum: int, frame: Any) -> None:
        if signum in _held:  # the second one: deliver it now
            _held.remove(signum)
            signal.signal(signum, previous.pop(signum))
            signal.raise_signal(signum)
        else:
            _held.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN:
            previous[signum] = signal.SIG_DFL if handler is None else handler
            signal.signal(signum, hold)
    _holding.set()
    try:
        yield
    finally:
        _holding.clear()
        for number, handler in previous.items():
            signal.signal(number, handler)
        pending, _held[:] = list(_held), []
        for number in pending:
            signal.raise_signal(number)  # its handler runs now: KeyboardInterrupt for Ctrl-C


def deliver_held() -> None:
    """Deliver now, at a safe point inside a :func:`signals_held` block, a signal it holds.

    Training holds SIGINT and SIGTERM for the whole fit and delivers them at a batch's start:
    a KeyboardInterrupt raised while TensorFlow runs a step or reads the input pipeline can be
    taken for the end of the data, and the run would go on as if never interrupted.
    """
    if not _held or threading.current_thread() is not threading.main_thread():
        return
    signum = _held.pop(0)
    handler = _previous.get(signum, signal.SIG_DFL)
    if callable(handler):
        handler(signum, None)  # KeyboardInterrupt for Ctrl-C, Terminated for SIGTERM
    else:
        signal.signal(signum, handler)
        signal.raise_signal(signum)


def pause_for_test(point: str, epoch: int | None = None) -> None:
    """Test hook: wait here when ``DLKIT_TEST_PAUSE`` names this point, so that a test can signal
    the process at a known moment.

    Points: ``batch@E`` (after the first batch of epoch E), ``checkpoint@E`` (epoch E's models
    written, its state not yet committed), ``fit`` (training over, nothing evaluated). The pause
    is announced on the log (``test hook: paused at ...``) and lasts until a signal arrives, at
    most a minute. Unset, as it always is outside the tests, it costs one lookup.
    """
    wanted = os.environ.get(TEST_PAUSE_ENV)
    if not wanted or wanted != (point if epoch is None else f"{point}@{epoch}"):
        return
    log.warning("test hook: paused at %s", wanted)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _held:
        time.sleep(0.02)  # a signal that is not held raises here


def _seed_variables(model: keras.Model) -> list[Any]:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def seed_states(model: keras.Model) -> list[list[int]]:
    """The positions of the model's random generators (dropout, augmentation)."""
    return [[int(s) for s in v.numpy().reshape(-1)] for v in _seed_variables(model)]


def _all_variables(model: keras.Model) -> list[Any]:
    optimizer = model.optimizer.variables if model.optimizer is not None else []
    return [*model.variables, *optimizer]


def variable_values(model: keras.Model) -> list[Any]:
    """A copy of every variable of the model and its optimizer (what a checkpoint holds)."""
    return [v.numpy() for v in _all_variables(model)]


def values_reader(model: keras.Model) -> Callable[[], list[Any]]:
    """:func:`variable_values` as one graph call (a third of the time of reading each variable:
    the copy is taken every epoch that writes no checkpoint). Call it once the optimizer is built."""
    import tensorflow as tf

    variables = _all_variables(model)
    read = tf.function(lambda: [tf.identity(v) for v in variables])

    def values() -> list[Any]:
        try:
            return [t.numpy() for t in read()]
        except Exception:  # a variable tf.function cannot read as it is (a distributed one)
            log.debug("checkpoint copy: reading variables one by one", exc_info=True)
            return variable_values(model)

    return values


def assign_values(model: keras.Model, values: list[Any]) -> None:
    """Put back :func:`variable_values` taken from this model."""
    for var, value in zip(_all_variables(model), values, strict=True):
        var.assign(value)


def iterations(model: keras.Model) -> int:
    return int(model.optimizer.iterations.numpy())


def restore(model: keras.Model, folder: Path, state: ResumeState, *, best_weights: bool) -> None:
    """Load the last checkpoint into a freshly built and compiled ``model``.

    Args:
        model: built the same way as the run's model, compiled.
        folder: the run's checkpoints.
        state: from :func:`read_state`.
        best_weights: also read best.keras into ``state.best_weights`` (early stopping restores it).

    Raises:
        ResumeError: the checkpoint does not fit the model, or disagrees with state.json.
    """
    import numpy as np

    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        if best_weights and (folder / BEST).is_file():
            model.load_weights(folder / BEST)
            state.best_weights = model.get_weights()
        model.load_weights(folder / LAST)
    except ValueError as exc:
        raise ResumeError(f"{folder / LAST}: does not fit the recipe's model: {exc}") from None
    if iterations(model) != state.iterations:
        raise ResumeError(
            f"{folder / STATE_FILE}: records {state.iterations} steps but {LAST} has "
            f"{iterations(model)}; the checkpoint was not written completely"
        )
    variables = _seed_variables(model)
    if len(variables) != len(state.seed_generators):
        raise ResumeError(
            f"{folder / STATE_FILE}: {len(state.seed_generators)} random generators saved, "
            f"the model has {len(variables)}"
        )
    for var, value in zip(variables, state.seed_generators, strict=True):
        var.assign(np.asarray(value, dtype=var.dtype).reshape(var.shape))
