"""Measuring a fitted model: the inputs of a task (`inputs`), cross-modal retrieval
(`retrieval`) and the HTML report of a model at work (`report`).

May import the floors below (foundation, runtime, core, storage, model selection); methods
are handed in as fitted objects, never imported.
"""

from sue_framework.evaluation.inputs import MODALITIES, missing_inputs, read_labels, task_inputs

__all__ = ["MODALITIES", "missing_inputs", "read_labels", "task_inputs"]
