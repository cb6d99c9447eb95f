"""Downstream tasks for sue_framework, registered through the ``sue_framework`` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sue_framework import hookimpl
from sue_framework.lazy import lazy_exports

_EXPORTS = {
    "ArithmeticTask": "sue_tasks.geometry",
    "CrossDomainTask": "sue_tasks.classification",
    "GenerationTask": "sue_tasks.generation",
    "LatentConverter": "sue_tasks.generation",
    "ModalityGapTask": "sue_tasks.geometry",
    "RetrievalTask": "sue_tasks.retrieval",
    "ZeroShotTask": "sue_tasks.classification",
    "class_prompts": "sue_tasks.classification",
    "recall_at_k": "sue_tasks.retrieval",
    "true_match_ranks": "sue_tasks.retrieval",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports
    from sue_tasks.classification import CrossDomainTask, ZeroShotTask, class_prompts  # noqa: F401
    from sue_tasks.generation import GenerationTask, LatentConverter  # noqa: F401
    from sue_tasks.geometry import ArithmeticTask, ModalityGapTask  # noqa: F401
    from sue_tasks.retrieval import RetrievalTask, recall_at_k, true_match_ranks  # noqa: F401


__getattr__ = lazy_exports(__name__, _EXPORTS)  # imports a module on first use

_COMPONENTS = (
    ("task", "zero_shot", "sue_tasks.classification:ZeroShotTask"),
    ("task", "cross_domain", "sue_tasks.classification:CrossDomainTask"),
    ("task", "arithmetic", "sue_tasks.geometry:ArithmeticTask"),
    ("task", "generation", "sue_tasks.generation:GenerationTask"),
    ("task", "modality_gap", "sue_tasks.geometry:ModalityGapTask"),
)


@hookimpl
def sue_register(registry) -> None:
    """Register this plugin's components by reference (imported when first used)."""
    registry.register_all(_COMPONENTS)
