"""Known answers for trigger-word labels, detections and their step scores."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis.triggers import clip_events, clip_f1, runs, step_scores, trigger_labels


def test_labels_start_the_step_after_the_trigger_ends() -> None:
    # steps of 0.1 s: an end at 0.25 s is in step 2, so steps 3, 4 and 5 are labelled
    labels = trigger_labels([0.25], n_steps=10, step_seconds=0.1, window=3)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]


def test_an_end_on_a_step_boundary_is_not_lost_to_rounding() -> None:
    # 0.64 / 0.032 is 19.999999999999996 in floating point; the end is at step 20 exactly
    labels = trigger_labels([0.64], n_steps=30, step_seconds=0.032, window=2)
    assert np.flatnonzero(labels).tolist() == [21, 22]


def test_the_course_labelling_of_a_ten_second_clip() -> None:
    # the course: Ty = 1375 steps over 10 s, 50 ones after each end; an end at 4,251 ms is
    # step int(4251 * 1375 / 10000) = 584, so steps 585 to 634 are 1
    labels = trigger_labels([4.251], n_steps=1375, step_seconds=10 / 1375, window=50)
    assert np.flatnonzero(labels).tolist() == list(range(585, 635))


def test_windows_are_cut_at_the_clip_end_and_several_triggers_add_runs() -> None:
    labels = trigger_labels([0.05, 0.85], n_steps=10, step_seconds=0.1, window=3)
    assert labels.tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    assert trigger_labels([], 4, 0.1, 3).tolist() == [0, 0, 0, 0]


def test_runs_of_steps() -> None:
    assert runs(np.array([1, 1, 0, 0, 1, 0, 1, 1, 1])) == [(0, 2), (4, 5), (6, 9)]
    assert runs(np.zeros(5)) == []


def test_clip_events_count_misses_and_false_detections() -> None:
    truth = np.array([0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0])
    found = np.array([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1])  # hits the first, misses the second
    events = clip_events(truth, found)
    assert (events.triggers, events.detections, events.missed, events.false_detections) == (2, 3, 1, 2)


def test_step_scores_and_the_always_zero_detector() -> None:
    truth = np.zeros((4, 25))
    truth[0, 3:5] = 1  # 2 positive steps in 100: an always-0 detector is 98% accurate
    always_zero = step_scores(truth, np.zeros_like(truth))
    assert always_zero["accuracy"] == pytest.approx(0.98)
    assert always_zero["f1"] == 0.0 and always_zero["precision"] == 0.0 and always_zero["recall"] == 0.0
    predicted = np.zeros_like(truth)
    predicted[0, 4:7] = 1  # tp 1, fp 2, fn 1
    scores = step_scores(truth, predicted)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 2)
    assert scores["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert scores["accuracy"] == pytest.approx(97 / 100)


def test_a_clip_without_trigger_or_detection_is_perfect() -> None:
    assert clip_f1(np.zeros(5), np.zeros(5)) == 1.0
    assert clip_f1(np.zeros(5), np.array([0, 1, 0, 0, 0])) == 0.0
