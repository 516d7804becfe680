"""Checkpoints: an epoch's files change together whatever moment the process dies at, and SIGINT /
SIGTERM wait for a checkpoint to be written."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from dlkit.training import checkpoints as ckpt
from dlkit.training.lifecycle import Terminated, sigterm_interrupts


class Died(BaseException):
    """The process ends here: nothing after it runs (not even ``except Exception``)."""


def _model():  # type: ignore[no-untyped-def]
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


def _step(model) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    model.fit(x, np.ones((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)


def _state(model, epoch: int) -> ckpt.ResumeState:  # type: ignore[no-untyped-def]
    history = [{"loss": float(epoch)}] * epoch
    return ckpt.ResumeState(epoch=epoch, history=history, iterations=ckpt.iterations(model))


@pytest.fixture
def die_at_replace(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """``die_at_replace(k)``: the k-th ``os.replace`` from now on (1-based) kills the process."""
    real, left = os.replace, [0]

    def replace(src, dst):  # type: ignore[no-untyped-def]
        left[0] -= 1
        if left[0] == 0:
            raise Died
        real(src, dst)

    def arm(k: int) -> None:
        left[0] = k

    monkeypatch.setattr(os, "replace", replace)
    return arm


# the write of epoch 2 renames: its state as .state.next.json (the commit), then best, last, state
@pytest.mark.parametrize(("dies_at", "committed"), [(1, False), (2, True), (3, True), (4, True)])
def test_a_checkpoint_is_all_old_or_all_new_whenever_the_process_dies(
    workdir: Path, die_at_replace: Callable[[int], None], dies_at: int, committed: bool
) -> None:
    folder = workdir / "checkpoints"
    model = _model()
    _step(model)
    ckpt.write_checkpoint(folder, model, _state(model, 1), best=True)
    weights_1 = model.get_weights()
    _step(model)
    die_at_replace(dies_at)
    with pytest.raises(Died):
        ckpt.write_checkpoint(folder, model, _state(model, 2), best=True)

    state = ckpt.read_state(folder)
    assert state is not None and state.epoch == (2 if committed else 1)
    assert sorted(p.name for p in folder.iterdir()) == ["best.keras", "last.keras", "state.json"]
    fresh = _model()
    ckpt.restore(fresh, folder, state, best_weights=True)  # the iteration counts agree
    expected = model.get_weights() if committed else weights_1
    for got, want in zip(fresh.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert state.best_weights is not None
    for got, want in zip(state.best_weights, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_checkpoint_cut_short_while_saving_the_model_keeps_the_previous_epoch(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = workdir / "checkpoints"
    model = _model()
    _step(model)
    ckpt.write_checkpoint(folder, model, _state(model, 1), best=False)
    _step(model)

    def pause(point: str, epoch: int | None = None) -> None:
        if point == "checkpoint":  # both models written, nothing committed
            raise Died

    monkeypatch.setattr(ckpt, "pause_for_test", pause)
    with pytest.raises(Died):
        ckpt.write_checkpoint(folder, model, _state(model, 2), best=False)
    assert (folder / ".last.next.keras").is_file()
    state = ckpt.read_state(folder)
    assert state is not None and state.epoch == 1
    assert not (folder / ".last.next.keras").exists()
    assert not (folder / "best.keras").exists()


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here, whatever the test runner set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_waits_for_the_block_then_interrupts() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), ckpt.signals_held():
        signal.raise_signal(signal.SIGINT)
        time.sleep(0.01)
        done.append("block")
    assert done == ["block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("default_sigint")
def test_a_second_ctrl_c_interrupts_at_once() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), ckpt.signals_held():
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        time.sleep(0.01)
        done.append("block")
    assert done == []


def test_sigterm_is_held_too_and_raises_terminated() -> None:
    done = []
    with sigterm_interrupts(), pytest.raises(Terminated), ckpt.signals_held():
        signal.raise_signal(signal.SIGTERM)
        time.sleep(0.01)
        done.append("block")
    assert done == ["block"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a tuning worker
    try:
        with ckpt.signals_held():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
        time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_the_test_pause_ends_when_a_held_signal_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ckpt.TEST_PAUSE_ENV, "checkpoint@3")
    started = time.monotonic()
    ckpt.pause_for_test("checkpoint", 2)  # another point: no pause
    assert time.monotonic() - started < 1
    with pytest.raises(KeyboardInterrupt), ckpt.signals_held():
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        ckpt.pause_for_test("checkpoint", 3)
    assert 0.2 < time.monotonic() - started < 30
