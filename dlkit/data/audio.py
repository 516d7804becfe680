"""Audio clips for trigger-word detection: a folder of mono WAV files and a labels CSV.

``<path>/`` holds the clips (``*.wav``, sub-folders included, all of one length) and
``<path>/labels.csv`` (``data.source.labels``) one row per clip: ``file`` (its path in the
folder) and ``trigger_ends`` (the seconds at which each trigger ends, separated by ``;``,
empty for a clip without one). Clips are read with the standard library's ``wave`` module:
PCM, one channel, at ``sample_rate``; anything else is refused in one line naming the file.

Each clip becomes a log-magnitude spectrogram `(frames, bins)` (``tf.signal.stft``, optionally
on a mel scale), computed once when the data is read: measured on the gallery's 120 clips, the
spectrograms take 0.1 s of CPU and 5.7 MB (twice the float32 samples: 65 bins every 32 samples),
so computing them in the ``tf.data`` map would cost that 0.1 s again every epoch to save a few
MB. The labels are one per *output step* of the model: the model downsamples time by ``stride``
(``conv_gru``'s strides), so a clip of ``frames`` frames has ``ceil(frames / stride)`` steps,
and ``window`` steps after each trigger end are 1 (:func:`dlkit.analysis.triggers.trigger_labels`).
New data for ``dlkit predict`` may come without the labels file.
"""

from __future__ import annotations

import hashlib
import math
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.analysis.triggers import trigger_labels
from dlkit.data._common import hash_bytes64, resolve
from dlkit.data.dataset import Dataset, Labels, Task
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


FILE, ENDS = "file", "trigger_ends"


class WavSource(Spec):
    """A folder of mono WAV clips of one length and a CSV of the times each trigger ends."""

    #: the task this source's labels always are (a recipe need not say data.task)
    implied_task: ClassVar[str] = "trigger_word"

    type: Literal["wav"] = "wav"
    path: Path = Field(description="The folder of .wav clips; relative to the recipe's folder.")
    labels: str = Field(
        default="labels.csv",
        description="The labels CSV inside the folder: columns file and trigger_ends (seconds, "
        "separated by ';', empty for none). Optional for dlkit predict.",
    )
    sample_rate: int = Field(ge=1000, le=192_000, description="Samples per second every clip must have (Hz).")
    frame_length: int = Field(default=256, ge=8, description="Samples per spectrogram frame (STFT window).")
    frame_step: int = Field(default=128, ge=1, description="Samples between the starts of two frames.")
    mel_bins: int | None = Field(
        default=None, ge=4, description="Mel-scale bands (log-mel spectrogram); linear STFT bins when absent."
    )
    stride: int = Field(
        default=4,
        ge=1,
        description="Spectrogram frames per output step: the model's time downsampling "
        "(conv_gru's strides; 1 for an rnn with output: sequence).",
    )
    window: int = Field(
        default=50, ge=1, description="Output steps labelled 1 after each trigger ends (the course: 50)."
    )

    @model_validator(mode="after")
    def _frames_overlap(self) -> WavSource:
        if self.frame_step > self.frame_length:
            raise ValueError(
                f"frame_step ({self.frame_step}) is larger than frame_length ({self.frame_length}): "
                "samples between frames would be skipped"
            )
        return self

    def step_seconds(self) -> float:
        """The duration of one output step."""
        return self.stride * self.frame_step / self.sample_rate


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """One clip's samples `(samples,)` float32 in [-1, 1].

    Raises:
        DataError: not a PCM WAV file, more than one channel, another sample rate.
    """
    try:
        with wave.open(str(path), "rb") as clip:
            channels, width, rate = clip.getnchannels(), clip.getsampwidth(), clip.getframerate()
            raw = clip.readframes(clip.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise DataError(f"{path}: cannot read it as a PCM WAV file ({exc})") from None
    if channels != 1:
        raise DataError(
            f"{path}: {channels} channels; expected mono (one channel)",
            hint="mix the clip down to one channel (e.g. sox in.wav -c 1 out.wav)",
        )
    if rate != sample_rate:
        raise DataError(
            f"{path}: sample rate {rate} Hz; expected {sample_rate} Hz (data.source.sample_rate)",
            hint="resample the clips, or set data.source.sample_rate to theirs",
        )
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width not in (2, 4):
        raise DataError(f"{path}: {8 * width}-bit samples; expected 8-, 16- or 32-bit PCM")
    dtype = np.dtype("<i2") if width == 2 else np.dtype("<i4")
    return np.frombuffer(raw, dtype=dtype).astype(np.float32) / float(2 ** (8 * width - 1))


def spectrograms(signals: np.ndarray, spec: WavSource) -> np.ndarray:
    """Log-magnitude spectrograms `(n, frames, bins)` of clips `(n, samples)` (``tf.signal``).

    ``frames = 1 + (samples - frame_length) // frame_step``; ``bins`` is ``mel_bins``, or the
    STFT's ``fft_length // 2 + 1`` (``fft_length``: the power of 2 at least ``frame_length``).
    """
    from dlkit._tf import import_tensorflow

    tf = import_tensorflow()
    out = []
    for start in range(0, len(signals), 256):  # bounded memory for the complex STFT
        stft = tf.signal.stft(tf.constant(signals[start : start + 256]), spec.frame_length, spec.frame_step)
        magnitude = tf.abs(stft)
        if spec.mel_bins is not None:
            mel = tf.signal.linear_to_mel_weight_matrix(
                spec.mel_bins, int(magnitude.shape[-1]), spec.sample_rate, 20.0, spec.sample_rate / 2
            )
            magnitude = tf.tensordot(magnitude, mel, 1)
        out.append(tf.math.log(magnitude + 1e-6).numpy())
    return np.concatenate(out).astype(np.float32)


def _clips(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".wav")


def _parse_ends(text: str, where: str, duration: float) -> list[float]:
    ends = []
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            end = float(part)
        except ValueError:
            raise DataError(
                f"{where}: trigger_ends value {part!r} is not a number (expected seconds separated by ';')"
            ) from None
        if not 0.0 <= end <= duration:
            raise DataError(f"{where}: trigger end {end:g} s is outside the clip (0 to {duration:g} s)")
        ends.append(end)
    return ends


def read_trigger_ends(csv: Path, names: list[str], duration: float) -> list[list[float]]:
    """Each clip's trigger end times from the labels CSV, in the order of ``names``.

    Raises:
        DataError: a missing column, a clip without a row or named twice, a row naming no clip,
            a value that is no number or outside the clip.
    """
    try:
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{csv}: cannot read the labels CSV ({exc})") from None
    missing = [c for c in (FILE, ENDS) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{csv}: no column '{missing[0]}'; expected columns {FILE} and {ENDS}",
            hint="one row per clip: file (its path in the folder), trigger_ends (e.g. 0.8;1.6)",
        )
    known = set(names)
    by_name: dict[str, list[float]] = {}
    for i, (name, ends) in enumerate(zip(frame[FILE], frame[ENDS], strict=True)):
        where = f"{csv}: line {i + 2}"
        name = name.strip()
        if name not in known:
            raise DataError(f"{where}: file '{name}' is not a .wav clip in {csv.parent}")
        if name in by_name:
            raise DataError(f"{where}: file '{name}' is listed twice")
        by_name[name] = _parse_ends(ends, where, duration)
    absent = [n for n in names if n not in by_name]
    if absent:
        raise DataError(
            f"{csv}: no row for clip '{absent[0]}' ({len(absent)} clip(s) without labels)",
            hint="give every clip a row; an empty trigger_ends says it has no trigger",
        )
    return [by_name[n] for n in names]


def load_wav(
    spec: WavSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Read the clips, their spectrograms and per-step trigger labels (task trigger_word).

    Raises:
        RecipeError: another task than trigger_word.
        DataError: a missing folder or labels file, a clip that is not mono PCM WAV at the
            sample rate, clips of different lengths, a bad labels row.
    """
    root = resolve(spec.path, base_dir)
    if task not in (None, spec.implied_task):
        raise RecipeError(
            f"data.task: a wav source gives per-step trigger labels: task trigger_word (got {task})"
        )
    if columns:
        raise DataError(f"{root}: a wav folder has no column '{columns[0]}' (only clips and labels)")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected a folder of .wav clips")
    files = _clips(root)
    if not files:
        raise DataError(f"{root}: no .wav clips")
    names = [p.relative_to(root).as_posix() for p in files]
    whole = hashlib.sha256()
    hashes = np.empty(len(files), dtype=np.uint64)
    signals: list[np.ndarray] = []
    for i, (path, name) in enumerate(zip(files, names, strict=True)):
        data = path.read_bytes()
        hashes[i] = hash_bytes64(data)
        whole.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        samples = read_wav(path, spec.sample_rate)
        if i and len(samples) != len(signals[0]):
            n0 = len(signals[0])
            raise DataError(
                f"{path}: {len(samples)} samples ({len(samples) / spec.sample_rate:g} s); expected "
                f"{n0} ({n0 / spec.sample_rate:g} s) like {files[0].name}: every clip has one length",
                hint="cut or pad the clips to one length",
            )
        signals.append(samples)
    n_samples = len(signals[0])
    if n_samples < spec.frame_length:
        raise DataError(
            f"{files[0]}: {n_samples} samples, fewer than one frame "
            f"(data.source.frame_length: {spec.frame_length})"
        )
    duration = n_samples / spec.sample_rate
    x = spectrograms(np.stack(signals), spec)
    n_steps = math.ceil(x.shape[1] / spec.stride)
    csv = root / spec.labels
    labelled = labels != "optional" or csv.is_file()
    if labelled and not csv.is_file():
        raise DataError(
            f"{root}: no labels file {spec.labels}",
            hint="one row per clip: file, trigger_ends (seconds separated by ';')",
        )
    if labelled:
        whole.update(csv.read_bytes())
        ends = read_trigger_ends(csv, names, duration)
        y = np.stack([trigger_labels(e, n_steps, spec.step_seconds(), spec.window) for e in ends])
    else:
        y = np.zeros((len(files), n_steps), dtype=np.float32)
    options: dict[str, Any] = {
        "sample_rate": spec.sample_rate,
        "duration": duration,
        "stride": spec.stride,
        "window": spec.window,
        "step_seconds": spec.step_seconds(),
    }
    return Dataset(
        x=x,
        y=y,
        ids=np.asarray(names, dtype=object),
        task="trigger_word",
        kind="sequence",
        classes=[],
        content_hash=whole.hexdigest(),
        description=str(root),
        input_hashes=hashes,
        files=np.asarray([str(p) for p in files], dtype=object),
        options=options,
        labelled=labelled,
    )
