"""trials.csv and trials.parquet: rewritten after a trial at most every few seconds, and whole at a flush."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dlkit.tuning.study import StudyDir, TrialRecord, TrialTable


def _complete(study: StudyDir, name: str, objective: float) -> None:
    study.write_record(
        TrialRecord(name, 1, name, "COMPLETED", {"x": objective}, objective=objective, feasible=True)
    )


def _table(study: StudyDir) -> list[str]:
    csv = pd.read_csv(study.table_csv)
    parquet = pd.read_parquet(study.table_parquet)
    assert list(csv["trial"]) == list(parquet["trial"])
    return list(csv["trial"])


def test_the_table_is_rewritten_after_a_trial_at_most_every_interval_and_whole_at_a_flush(
    tmp_path: Path,
) -> None:
    study = StudyDir(tmp_path / "study")
    now = [100.0]
    table = TrialTable(study, "dev_accuracy", "max", every_s=10.0, clock=lambda: now[0])

    _complete(study, "r1-t0", 0.7)
    table.after_trial()  # the first trial's is always written
    assert _table(study) == ["r1-t0"]

    now[0] = 104.0
    _complete(study, "r1-t1", 0.9)
    table.after_trial()  # 4 s after the last rewrite: left stale
    assert _table(study) == ["r1-t0"]
    assert table.stale

    now[0] = 109.9
    _complete(study, "r1-t2", 0.8)
    table.after_trial()
    assert _table(study) == ["r1-t0"]

    table.flush()  # the round's end: every record, ranked best first
    assert _table(study) == ["r1-t1", "r1-t2", "r1-t0"]
    assert not table.stale
    study.table_csv.unlink()
    table.flush()  # nothing new since: not rewritten
    assert not study.table_csv.exists()

    now[0] = 121.0  # 11.1 s after the flush: the next trial's rewrite is due
    _complete(study, "r1-t3", 0.95)
    table.after_trial()
    assert _table(study) == ["r1-t3", "r1-t1", "r1-t2", "r1-t0"]
    assert not table.stale
