"""Regenerate triggers/: clips of background noise with a synthetic trigger sound and distractors.

Each clip is ``duration`` seconds of Gaussian noise at ``sample_rate`` Hz (16-bit mono PCM WAV),
with 0 to 2 *triggers* (a rising chirp, 500 to 1,500 Hz over 0.12 s) and 0 to 2 *distractors*
(a falling chirp over the same band, or a steady tone between 400 and 1,600 Hz) inserted at
random, non-overlapping times (none ending in the last 0.2 s), at random loudness. labels.csv
says when each trigger ends (``file,trigger_ends``, seconds separated by ``;``). The task is to
tell the rising chirp from sounds of the same loudness, length and frequencies: its direction in
time is all that differs.
Seeded: one seed, the same bytes.
Run: python recipes/data/make_triggers.py
"""

from __future__ import annotations

import csv
import itertools
import wave
from pathlib import Path

import numpy as np

EVENT = 0.12  # seconds of one trigger or distractor
GAP = 0.1  # at least this much between two events (a trigger's labels never run into the next)
TAIL = 0.2  # no event ends in the clip's last 0.2 s (a trigger's labels are not cut off)


def _chirp(rate: int, low: float, high: float) -> np.ndarray:
    t = np.arange(int(EVENT * rate)) / rate
    phase = 2 * np.pi * (low * t + (high - low) * t**2 / (2 * EVENT))
    return np.sin(phase) * np.hanning(len(t))


def make_clip(
    rng: np.random.Generator, rate: int, duration: float, n_triggers: int, n_distractors: int
) -> tuple[np.ndarray, list[float]]:
    """One clip `(samples,)` in [-1, 1] and its triggers' end times (seconds, rounded to the sample)."""
    n = int(duration * rate)
    clip = rng.normal(0.0, 0.05, n)
    kinds = ["trigger"] * n_triggers + ["distractor"] * n_distractors
    length = int(EVENT * rate)
    starts: list[int] = []
    for _ in range(1000):  # rejection sampling of non-overlapping places
        starts = sorted(int(s) for s in rng.integers(0, n - length - int(TAIL * rate), size=len(kinds)))
        if all(b - a >= length + GAP * rate for a, b in itertools.pairwise(starts)):
            break
    rng.shuffle(kinds)
    ends = []
    for kind, start in zip(kinds, starts, strict=True):
        if kind == "trigger":
            sound = _chirp(rate, 500.0, 1500.0)
            ends.append(round((start + length) / rate, 4))
        elif rng.random() < 0.5:
            sound = _chirp(rate, 1500.0, 500.0)
        else:
            tone = rng.uniform(400.0, 1600.0)
            sound = np.sin(2 * np.pi * tone * np.arange(length) / rate) * np.hanning(length)
        clip[start : start + length] += rng.uniform(0.3, 0.6) * sound
    return np.clip(clip, -1.0, 1.0), sorted(ends)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """16-bit mono PCM."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())


def make(
    folder: Path, n: int = 120, rate: int = 4000, duration: float = 1.5, seed: int = 0
) -> list[list[float]]:
    """Write ``n`` clips ``clip_000.wav``... and labels.csv into ``folder``; each clip's trigger ends."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    all_ends = []
    with (folder / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        rows = csv.writer(f)
        rows.writerow(["file", "trigger_ends"])
        for i in range(n):
            n_triggers = int(rng.choice([0, 1, 2], p=[0.35, 0.5, 0.15]))
            clip, ends = make_clip(rng, rate, duration, n_triggers, int(rng.integers(0, 3)))
            name = f"clip_{i:03d}.wav"
            write_wav(folder / name, clip, rate)
            rows.writerow([name, ";".join(f"{e:g}" for e in ends)])
            all_ends.append(ends)
    return all_ends


if __name__ == "__main__":
    make(Path(__file__).with_name("triggers"))
