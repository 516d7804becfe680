"""The task registry: what the one build, train and predict path needs to know about each task.

``TASKS.get(data.task)`` gives the :class:`~dlkit.tasks.base.Task`: head, default loss and
metrics, what the model is fitted on, how predictions are written and scored, the per-example
error the reports read, and which reports apply. A new task is one module here.
"""

from __future__ import annotations

from dlkit.tasks.base import REPORTS, Registry, Scored, Task
from dlkit.tasks.binary import Binary
from dlkit.tasks.ctc import CTC
from dlkit.tasks.detection import Detection
from dlkit.tasks.landmarks import Landmarks
from dlkit.tasks.localization import Localization
from dlkit.tasks.multiclass import Multiclass
from dlkit.tasks.multitask import Multitask
from dlkit.tasks.regression import Regression
from dlkit.tasks.segmentation import Segmentation
from dlkit.tasks.seq2seq import Seq2Seq
from dlkit.tasks.sequence_labeling import SequenceLabeling
from dlkit.tasks.trigger_word import TriggerWord
from dlkit.tasks.verification import Verification

TASKS = Registry()
for _task in (
    Binary(),
    Multiclass(),
    Regression(),
    Multitask(),
    Seq2Seq(),
    SequenceLabeling(),
    Detection(),
    CTC(),
    Localization(),
    Landmarks(),
    Segmentation(),
):
    TASKS.register(_task)
TASKS.register(Verification())
TASKS.register(TriggerWord())

__all__ = ["REPORTS", "TASKS", "Scored", "Task", "task_for"]


def task_for(name: str) -> Task:
    """The registered task called ``name`` (``Dataset.task``, run.json's ``task``)."""
    return TASKS.get(name)
