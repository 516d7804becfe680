"""Benchmark: resumable training on the quick-start recipe (recipes/digits-cnn.yaml).

Trains the recipe three ways, untracked, in this process:

- uninterrupted, ``--epochs`` epochs;
- interrupted after epoch ``--stop`` (a KeyboardInterrupt between epochs, as Ctrl-C leaves it)
  and resumed with :func:`dlkit.api.resume` to the same number of epochs;
- uninterrupted again, to time the checkpoint writes (last.keras, best.keras, state.json; one
  every ``train.checkpoint_every_s``, and at the last epoch) against the whole run.

Prints the largest difference between the uninterrupted and the resumed run in any history
value and any final metric (0 means identical), and the checkpoint's share of epoch time.

Usage: python bench/bench_resume.py [--epochs 6] [--stop 3] [--deterministic]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _max_diff(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    return max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--stop", type=int, default=3)
    parser.add_argument("--deterministic", action="store_true", help="train.deterministic: true")
    args = parser.parse_args()

    from dlkit import api
    from dlkit.training import checkpoints

    overrides = [f"train.epochs={args.epochs}", f"train.deterministic={str(args.deterministic).lower()}"]
    with tempfile.TemporaryDirectory() as tmp:

        def recipe(folder: str):
            return api.load_recipe(
                REPO / "recipes" / "digits-cnn.yaml", [*overrides, f"tracking.runs_dir={tmp}/{folder}"]
            )

        start = time.perf_counter()
        full = api.train(recipe("full"), track=False)
        t_full = time.perf_counter() - start

        def stop(event) -> None:
            if event.epoch == args.stop:
                raise KeyboardInterrupt

        with contextlib.suppress(KeyboardInterrupt):
            api.train(recipe("cut"), track=False, on_epoch=stop)
        (run_dir,) = (Path(tmp) / "cut").iterdir()
        resumed = api.resume(run_dir)

        # time the checkpoint writes of one more uninterrupted run
        spent: list[float] = []
        original = checkpoints.write_checkpoint

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            original(*args, **kwargs)
            spent.append(time.perf_counter() - t)

        checkpoints.write_checkpoint = timed  # type: ignore[assignment]
        start = time.perf_counter()
        api.train(recipe("timed"), track=False)
        t_timed = time.perf_counter() - start
        checkpoints.write_checkpoint = original  # type: ignore[assignment]

    metrics_diff = max(
        abs(full.metrics[s][k] - resumed.metrics[s][k]) for s in full.metrics for k in full.metrics[s]
    )
    print(f"recipe: recipes/digits-cnn.yaml, {args.epochs} epochs, interrupted after {args.stop}")
    print(f"deterministic ops: {args.deterministic}")
    history_diff = _max_diff(full.history, resumed.history)
    print(f"max |difference| in history (every epoch, every value): {history_diff:.3g}")
    print(f"max |difference| in final metrics (every set):          {metrics_diff:.3g}")
    dev_full, dev_resumed = full.metrics["dev"]["error"], resumed.metrics["dev"]["error"]
    print(f"dev error uninterrupted {dev_full:.4f}, resumed {dev_resumed:.4f}")
    print(f"uninterrupted run: {t_full:.1f} s")
    print(
        f"checkpoint writes: {sum(spent):.2f} s of {t_timed:.1f} s "
        f"({sum(spent) / args.epochs * 1000:.0f} ms per epoch, {len(spent)} checkpoints)"
    )


if __name__ == "__main__":
    main()
