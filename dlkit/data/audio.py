"""Audio clips for trigger-word detection: a folder of mono WAV files and a labels CSV, or an npz.

``<path>/`` holds the clips (``*.wav``, sub-folders included, all of one length) and
``<path>/labels.csv`` (``data.source.labels``) one row per clip: ``file`` (its path in the
folder) and ``trigger_ends`` (the seconds at which each trigger ends, separated by ``;``,
empty for a clip without one). Clips are read with the standard library's ``wave`` module:
PCM, one channel, at ``sample_rate``; anything else is refused in one line naming the file.

``<path>`` may instead be an ``.npz`` of raw clips (what ``torchaudio.load`` or
``tf.audio.decode_wav`` give, stacked): ``clips`` `(n, samples)` (float in [-1, 1], or integer
PCM: int16, int32, uint8, scaled as a WAV file's samples are), ``sample_rate`` (a scalar, checked
against ``sample_rate``), ``trigger_ends`` `(n, max_triggers)` seconds, right-padded with -1 (or
NaN) as the npz sources pad ragged labels (``padding_label``), and optionally ``ids`` `(n,)`.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.analysis.triggers import trigger_labels
from dlkit.data._common import data_row, duplicate_id, hash_bytes64, hash_file, resolve, row_hashes
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
    implied_task: ClassVar[Task] = "trigger_word"

    type: Literal["wav"] = "wav"
    path: Path = Field(
        description="The folder of .wav clips, or an .npz of clips (arrays clips, sample_rate, "
        "trigger_ends); relative to the recipe's folder."
    )
    labels: str = Field(
        default="labels.csv",
        description="The labels CSV inside the folder: columns file and trigger_ends (seconds, "
        "separated by ';', empty for none). Optional for dlkit predict. An npz holds its own.",
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
    if width not in (1, 2, 4):
        raise DataError(f"{path}: {8 * width}-bit samples; expected 8-, 16- or 32-bit PCM")
    return pcm_to_float(np.frombuffer(raw, dtype={1: "u1", 2: "<i2", 4: "<i4"}[width]))


#: integer sample types read as PCM, as a WAV file of that width stores them
PCM_TYPES = ("uint8", "int16", "int32")


def pcm_to_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM samples as float32 in [-1, 1]: 8-bit unsigned (offset 128), 16- and 32-bit
    signed (divided by 2**15 and 2**31), as WAV readers scale them."""
    if samples.dtype == np.uint8:  # 8-bit WAV is unsigned
        return (samples.astype(np.float32) - 128.0) / 128.0
    return samples.astype(np.float32) / float(2 ** (8 * samples.dtype.itemsize - 1))


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


@dataclass
class _Clips:
    """Clips as read, before their spectrograms: the part a folder and an npz differ in."""

    signals: np.ndarray  # (n, samples) float32 in [-1, 1]
    ids: np.ndarray
    hashes: np.ndarray  # one 64-bit hash per clip
    content_hash: str
    first: str  # the first clip, as messages name it
    ends: list[list[float]] | None  # each clip's trigger ends; None without labels
    files: np.ndarray | None = None


def _read_folder(root: Path, spec: WavSource, labels: Labels) -> _Clips:
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
    csv = root / spec.labels
    labelled = labels != "optional" or csv.is_file()
    if labelled and not csv.is_file():
        raise DataError(
            f"{root}: no labels file {spec.labels}",
            hint="one row per clip: file, trigger_ends (seconds separated by ';')",
        )
    ends = None
    if labelled:
        whole.update(csv.read_bytes())
        ends = read_trigger_ends(csv, names, len(signals[0]) / spec.sample_rate)
    return _Clips(
        signals=np.stack(signals),
        ids=np.asarray(names, dtype=object),
        hashes=hashes,
        content_hash=whole.hexdigest(),
        first=str(files[0]),
        ends=ends,
        files=np.asarray([str(p) for p in files], dtype=object),
    )


CLIPS, RATE, IDS = "clips", "sample_rate", "ids"


def _samples(clips: np.ndarray, where: str) -> np.ndarray:
    """`(n, samples)` float32 in [-1, 1] from float samples or integer PCM."""
    if clips.dtype.name in PCM_TYPES:
        return pcm_to_float(clips)
    if clips.dtype.kind != "f":
        raise DataError(
            f"{where}: dtype {clips.dtype}; expected float samples in [-1, 1] or integer PCM "
            f"({', '.join(PCM_TYPES)})"
        )
    signals = clips.astype(np.float32)
    bad = ~(np.abs(signals) <= 1.0).all(axis=1)  # NaN fails the comparison too
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: {data_row(row)} has samples outside [-1, 1] or not finite (float samples are "
            f"in [-1, 1])",
            hint="store integer PCM as int16 (it is scaled as a WAV file's), or divide by 32768",
        )
    return signals


def _npz_ends(ends: np.ndarray, n: int, duration: float, where: str) -> list[list[float]]:
    """Each clip's trigger ends from `(n, max_triggers)` seconds padded with -1 or NaN (`(n,)`: one each)."""
    if ends.ndim == 1:
        ends = ends[:, np.newaxis]
    if ends.ndim != 2 or len(ends) != n:
        raise DataError(
            f"{where} has shape {ends.shape}; expected ({n}, max_triggers): each clip's trigger end "
            "times in seconds, padded with -1"
        )
    if ends.dtype.kind not in "fiu":
        raise DataError(f"{where}: expected seconds, numbers (dtype {ends.dtype})")
    values = ends.astype(np.float64)
    padding = np.isnan(values) | (values == -1.0)
    outside = ~padding & ((values < 0.0) | (values > duration))
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise DataError(
            f"{where}: {data_row(row)}: trigger end {values[row, col]:g} s is outside the clip "
            f"(0 to {duration:g} s; -1 pads a clip with fewer triggers)"
        )
    return [[float(v) for v in row[~pad]] for row, pad in zip(values, padding, strict=True)]


def _read_npz(path: Path, spec: WavSource, labels: Labels) -> _Clips:
    from dlkit.data.arrays import npz_array, open_npz

    arrays = open_npz(path)
    layout = f"an npz of clips holds {CLIPS} (n, samples), {RATE} and {ENDS} (n, max_triggers)"
    with arrays:
        clips = npz_array(arrays, CLIPS, path, "clips", layout)
        rate = npz_array(arrays, RATE, path, "sample-rate", layout)
        labelled = labels != "optional" or ENDS in arrays.files
        ends = npz_array(arrays, ENDS, path, "trigger-end", layout) if labelled else None
        ids = npz_array(arrays, IDS, path, "id") if IDS in arrays.files else np.arange(len(clips))
    if clips.ndim != 2 or not len(clips):
        raise DataError(
            f"{path}: array '{CLIPS}' has shape {clips.shape}; expected (n, samples): mono clips, one length"
        )
    if rate.shape not in ((), (1,)) or rate.dtype.kind not in "fiu" or float(rate.reshape(-1)[0]) <= 0:
        raise DataError(
            f"{path}: array '{RATE}' must be one number, the sample rate in Hz (got shape {rate.shape}, "
            f"dtype {rate.dtype})"
        )
    if float(rate.reshape(-1)[0]) != spec.sample_rate:
        raise DataError(
            f"{path}: sample rate {rate.reshape(-1)[0]:g} Hz; expected {spec.sample_rate} Hz "
            "(data.source.sample_rate)",
            hint="resample the clips, or set data.source.sample_rate to theirs",
        )
    n = len(clips)
    if ids.shape != (n,):
        raise DataError(f"{path}: array '{IDS}' has shape {ids.shape}; expected ({n},) like '{CLIPS}'")
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        raise DataError(duplicate_id(ids, dup, f"{path}: array '{IDS}'"))
    signals = _samples(clips, f"{path}: array '{CLIPS}'")
    duration = clips.shape[1] / spec.sample_rate
    return _Clips(
        signals=signals,
        ids=ids,
        hashes=row_hashes(clips),
        content_hash=hash_file(path),
        first=f"{path}: array '{CLIPS}'",
        ends=None if ends is None else _npz_ends(ends, n, duration, f"{path}: array '{ENDS}'"),
    )


def load_wav(
    spec: WavSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Read the clips (a folder of WAV files or an npz), their spectrograms and per-step trigger
    labels (task trigger_word).

    Raises:
        RecipeError: another task than trigger_word.
        DataError: a missing folder, npz array or labels file, a clip that is not mono PCM WAV
            at the sample rate, clips of different lengths, a bad labels row.
    """
    root = resolve(spec.path, base_dir)
    if task not in (None, spec.implied_task):
        raise RecipeError(
            f"data.task: a wav source gives per-step trigger labels: task trigger_word (got {task})"
        )
    if columns:
        raise DataError(f"{root}: a wav source has no column '{columns[0]}' (only clips and labels)")
    if root.suffix.lower() == ".npz" and root.is_file():
        clips = _read_npz(root, spec, labels)
    elif root.is_dir():
        clips = _read_folder(root, spec, labels)
    else:
        raise DataError(f"{root}: not a folder; expected a folder of .wav clips or an .npz of clips")
    n_samples = clips.signals.shape[1]
    if n_samples < spec.frame_length:
        raise DataError(
            f"{clips.first}: {n_samples} samples, fewer than one frame "
            f"(data.source.frame_length: {spec.frame_length})"
        )
    x = spectrograms(clips.signals, spec)
    n_steps = math.ceil(x.shape[1] / spec.stride)
    if clips.ends is not None:
        y = np.stack([trigger_labels(e, n_steps, spec.step_seconds(), spec.window) for e in clips.ends])
    else:
        y = np.zeros((len(x), n_steps), dtype=np.float32)
    options: dict[str, Any] = {
        "sample_rate": spec.sample_rate,
        "duration": n_samples / spec.sample_rate,
        "stride": spec.stride,
        "window": spec.window,
        "step_seconds": spec.step_seconds(),
    }
    return Dataset(
        x=x,
        y=y,
        ids=clips.ids,
        task=spec.implied_task,
        kind="sequence",
        classes=[],
        content_hash=clips.content_hash,
        description=str(root),
        input_hashes=clips.hashes,
        files=clips.files,
        options=options,
        labelled=clips.ends is not None,
    )
