"""The wav source read from an npz of raw clips: the shipped WAV clips packed into one give the
folder's spectrograms and labels exactly, and bad arrays are refused in one line."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlkit.data.audio import WavSource
from dlkit.data.sources import load_source
from dlkit.errors import DataError

TRIGGERS = Path(__file__).resolve().parents[3] / "recipes" / "data" / "triggers"
N = 4
PAD = "(0 to 1.5 s; -1 pads a clip with fewer triggers)"
SETTINGS = {"sample_rate": 4000, "frame_length": 128, "frame_step": 32, "stride": 4, "window": 4}


def _pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as clip:
        return np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list[list[float]]]:
    """The first N shipped clips copied into a folder with their labels, and as arrays."""
    folder = tmp_path_factory.mktemp("triggers") / "clips"
    folder.mkdir()
    labels = pd.read_csv(TRIGGERS / "labels.csv", dtype=str, keep_default_na=False).head(N)
    for name in labels["file"]:
        shutil.copy(TRIGGERS / name, folder / name)
    labels.to_csv(folder / "labels.csv", index=False)
    pcm = np.stack([_pcm(folder / name) for name in labels["file"]])
    ends = [[float(v) for v in text.split(";") if v] for text in labels["trigger_ends"]]
    return folder, pcm, ends


def _padded(ends: list[list[float]], pad: float = -1.0) -> np.ndarray:
    out = np.full((len(ends), max(len(e) for e in ends)), pad)
    for row, values in enumerate(ends):
        out[row, : len(values)] = values
    return out


@pytest.mark.parametrize("samples", ["int16", "float32"])
def test_an_npz_of_the_shipped_clips_gives_the_folder_s_data(
    shipped: tuple[Path, np.ndarray, list[list[float]]], tmp_path: Path, samples: str
) -> None:
    folder, pcm, ends = shipped
    assert sorted(len(e) for e in ends) != [len(ends[0])] * N  # ragged: 0 to 2 triggers a clip
    clips = pcm if samples == "int16" else (pcm / 32768.0).astype(np.float32)
    names = np.array(sorted(p.name for p in folder.glob("*.wav")))
    np.savez(tmp_path / "clips.npz", clips=clips, sample_rate=4000, trigger_ends=_padded(ends), ids=names)
    from_folder = load_source(WavSource(path=folder, **SETTINGS), None, tmp_path)
    from_npz = load_source(WavSource(path=Path("clips.npz"), **SETTINGS), None, tmp_path)
    assert from_npz.task == "trigger_word" and from_npz.kind == "sequence"
    assert from_npz.x.shape == (N, 184, 65) and from_npz.y.shape == (N, 46)
    assert np.array_equal(from_npz.x, from_folder.x)
    assert np.array_equal(from_npz.y, from_folder.y) and from_npz.y.any()
    assert from_npz.ids.tolist() == from_folder.ids.tolist() == names.tolist()
    assert from_npz.options == from_folder.options


def test_nan_padding_one_trigger_each_and_new_clips_without_labels(
    shipped: tuple[Path, np.ndarray, list[list[float]]], tmp_path: Path
) -> None:
    _, pcm, ends = shipped
    spec = WavSource(path=Path("clips.npz"), **SETTINGS)
    np.savez(tmp_path / "clips.npz", clips=pcm, sample_rate=4000, trigger_ends=_padded(ends))
    minus_one = load_source(spec, None, tmp_path)
    assert minus_one.ids.tolist() == list(range(N))  # row numbers without ids
    np.savez(tmp_path / "clips.npz", clips=pcm, sample_rate=4000, trigger_ends=_padded(ends, np.nan))
    assert np.array_equal(load_source(spec, None, tmp_path).y, minus_one.y)
    # (n,) is one trigger end per clip: 0.5 s lies in step floor(0.5 / 0.032) = 15; 16 to 19 are 1
    np.savez(tmp_path / "clips.npz", clips=pcm, sample_rate=4000, trigger_ends=np.full(N, 0.5))
    assert np.flatnonzero(load_source(spec, None, tmp_path).y[0]).tolist() == [16, 17, 18, 19]
    np.savez(tmp_path / "clips.npz", clips=pcm, sample_rate=4000)
    new = load_source(spec, "trigger_word", tmp_path, labels="optional")
    assert not new.labelled and not new.y.any() and new.y.shape == (N, 46)
    with pytest.raises(DataError, match=r"clips.npz: no trigger-end array 'trigger_ends'"):
        load_source(spec, None, tmp_path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"sample_rate": 8000}, "sample rate 8000 Hz; expected 4000 Hz (data.source.sample_rate)"),
        (
            {"trigger_ends": [[0.5, -1], [2.0, -1]]},
            f"array 'trigger_ends': row 2 (1-based): trigger end 2 s is outside the clip {PAD}",
        ),
        (
            {"trigger_ends": [[0.5], [-0.2]]},
            f"array 'trigger_ends': row 2 (1-based): trigger end -0.2 s is outside the clip {PAD}",
        ),
        (
            {"trigger_ends": [[0.5]]},
            "array 'trigger_ends' has shape (1, 1); expected (2, max_triggers): each clip's trigger end "
            "times in seconds, padded with -1",
        ),
        (
            {"clips": np.full((2, 6000), 0.5, np.float64) * [[1], [400]]},
            "array 'clips': row 2 (1-based) has samples outside [-1, 1] or not finite (float samples are in "
            "[-1, 1])",
        ),
        (
            {"clips": np.zeros((2, 6000), np.int64)},
            "array 'clips': dtype int64; expected float samples in [-1, 1] or integer PCM (uint8, int16, "
            "int32)",
        ),
        (
            {"clips": np.zeros((2, 3, 6000))},
            "array 'clips' has shape (2, 3, 6000); expected (n, samples): mono clips, one length",
        ),
        (
            {"ids": np.array(["a", "a"])},
            "array 'ids' has duplicate id 'a' at row 2 (1-based) (first at row 1 (1-based))",
        ),
    ],
)
def test_bad_arrays_are_refused_in_one_line(tmp_path: Path, arrays: dict[str, object], message: str) -> None:
    given = {
        "clips": np.zeros((2, 6000), np.int16),
        "sample_rate": 4000,
        "trigger_ends": [[0.5], [-1]],
        **arrays,
    }
    np.savez(tmp_path / "clips.npz", **given)  # type: ignore[arg-type]
    with pytest.raises(DataError) as caught:
        load_source(WavSource(path=Path("clips.npz"), **SETTINGS), None, tmp_path)
    assert caught.value.message.startswith(f"{tmp_path / 'clips.npz'}: {message}")
