"""Downstream tasks for sue_framework, registered through the ``sue_framework`` entry point."""

from sue_framework import hookimpl
from sue_tasks.classification import CrossDomainTask, ZeroShotTask, class_prompts
from sue_tasks.generation import GenerationTask, LatentConverter
from sue_tasks.geometry import ArithmeticTask, ModalityGapTask
from sue_tasks.retrieval import RetrievalTask, recall_at_k, true_match_ranks

__all__ = [
    "ArithmeticTask",
    "CrossDomainTask",
    "GenerationTask",
    "LatentConverter",
    "ModalityGapTask",
    "RetrievalTask",
    "ZeroShotTask",
    "class_prompts",
    "recall_at_k",
    "true_match_ranks",
]


@hookimpl
def sue_register(registry) -> None:
    registry.register("task", "zero_shot", ZeroShotTask)
    registry.register("task", "cross_domain", CrossDomainTask)
    registry.register("task", "arithmetic", ArithmeticTask)
    registry.register("task", "generation", GenerationTask)
    registry.register("task", "modality_gap", ModalityGapTask)
