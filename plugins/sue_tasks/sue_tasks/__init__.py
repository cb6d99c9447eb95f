"""Downstream tasks for sue_framework, registered through the ``sue_framework`` entry point."""

from sue_framework import hookimpl
from sue_tasks.retrieval import RetrievalTask, recall_at_k, true_match_ranks

__all__ = ["RetrievalTask", "recall_at_k", "true_match_ranks"]


@hookimpl
def sue_register(registry) -> None:
    registry.register("task", "retrieval", RetrievalTask)
