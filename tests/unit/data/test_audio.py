"""The wav source: clips read with the standard library, spectrograms, labels, one-line refusals."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from dlkit.data.audio import WavSource, load_wav, read_wav
from dlkit.errors import DataError, RecipeError

RATE = 2000


def _wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.repeat(samples, channels) * 32767).astype("<i2").tobytes())


def _folder(root: Path, labels: str = "file,trigger_ends\na.wav,0.5\nb.wav,\n") -> Path:
    root.mkdir()
    t = np.arange(RATE) / RATE
    _wav(root / "a.wav", 0.5 * np.sin(2 * np.pi * 200 * t))
    _wav(root / "b.wav", np.zeros(RATE))
    (root / "labels.csv").write_text(labels, encoding="utf-8")
    return root


def _spec(**settings: object) -> WavSource:
    return WavSource(
        path=Path("clips"), sample_rate=RATE, frame_length=64, frame_step=32, stride=2, window=3, **settings
    )


def test_samples_read_back_as_written(workdir: Path) -> None:
    _wav(workdir / "x.wav", np.array([0.0, 0.5, -0.5, 1.0]))
    np.testing.assert_allclose(read_wav(workdir / "x.wav", RATE), [0.0, 0.5, -0.5, 1.0], atol=1e-4)


def test_spectrograms_and_labels_at_the_model_step(workdir: Path) -> None:
    _folder(workdir / "clips")
    data = load_wav(_spec(), None, workdir)
    # 1 + (2000 - 64) // 32 = 61 frames of 64 // 2 + 1 = 33 bins; ceil(61 / 2) = 31 steps of 32 ms
    assert data.x.shape == (2, 61, 33) and data.y.shape == (2, 31)
    assert data.task == "trigger_word" and data.kind == "sequence"
    assert list(data.ids) == ["a.wav", "b.wav"]
    # a.wav's trigger ends at 0.5 s, in step floor(0.5 / 0.032) = 15: steps 16 to 18 are 1
    assert np.flatnonzero(data.y[0]).tolist() == [16, 17, 18]
    assert not data.y[1].any()
    # the 200 Hz tone sits in STFT bin 200 / (2000 / 64) = 6.4 of a.wav's spectrogram
    assert 6 <= int(np.argmax(data.x[0].mean(axis=0))) <= 7
    mel = load_wav(_spec(mel_bins=8), None, workdir)
    assert mel.x.shape == (2, 61, 8)


def test_new_clips_without_labels(workdir: Path) -> None:
    _folder(workdir / "clips")
    (workdir / "clips" / "labels.csv").unlink()
    data = load_wav(_spec(), "trigger_word", workdir, labels="optional")
    assert not data.labelled and data.y.shape == (2, 31)
    with pytest.raises(DataError, match=r"clips: no labels file labels.csv"):
        load_wav(_spec(), None, workdir)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("name,ends\na.wav,0.5\n", r"labels.csv: no column 'file'; expected columns file and trigger_ends"),
        (
            "file,trigger_ends\na.wav,0.5\n",
            r"labels.csv: no row for clip 'b.wav' \(1 clip\(s\) without labels\)",
        ),
        (
            "file,trigger_ends\na.wav,0.5;x\nb.wav,\n",
            r"labels.csv: line 2: trigger_ends value 'x' is not a number \(expected seconds separated "
            r"by ';'\)",
        ),
        (
            "file,trigger_ends\na.wav,1.5\nb.wav,\n",
            r"labels.csv: line 2: trigger end 1.5 s is outside the clip",
        ),
        (
            "file,trigger_ends\na.wav,\nb.wav,\nc.wav,\n",
            r"labels.csv: line 4: file 'c.wav' is not a .wav clip",
        ),
        ("file,trigger_ends\na.wav,\na.wav,\n", r"labels.csv: line 3: file 'a.wav' is listed twice"),
    ],
)
def test_bad_labels_are_refused_in_one_line(workdir: Path, labels: str, message: str) -> None:
    _folder(workdir / "clips", labels)
    with pytest.raises(DataError, match=message):
        load_wav(_spec(), None, workdir)


def test_bad_clips_are_refused_naming_the_file(workdir: Path) -> None:
    root = _folder(workdir / "clips")
    _wav(root / "b.wav", np.zeros(RATE), channels=2)
    with pytest.raises(DataError, match=r"b.wav: 2 channels; expected mono \(one channel\)"):
        load_wav(_spec(), None, workdir)
    _wav(root / "b.wav", np.zeros(RATE), rate=4000)
    with pytest.raises(
        DataError, match=r"b.wav: sample rate 4000 Hz; expected 2000 Hz \(data.source.sample_rate\)"
    ):
        load_wav(_spec(), None, workdir)
    _wav(root / "b.wav", np.zeros(RATE // 2))
    with pytest.raises(DataError, match=r"b.wav: 1000 samples \(0.5 s\); expected 2000 \(1 s\) like a.wav"):
        load_wav(_spec(), None, workdir)
    (root / "b.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(DataError, match=r"b.wav: cannot read it as a PCM WAV file"):
        load_wav(_spec(), None, workdir)


def test_another_task_is_refused(workdir: Path) -> None:
    _folder(workdir / "clips")
    with pytest.raises(RecipeError, match="a wav source gives per-step trigger labels: task trigger_word"):
        load_wav(_spec(), "binary", workdir)
