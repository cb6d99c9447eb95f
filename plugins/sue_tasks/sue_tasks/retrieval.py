"""Cross-modal retrieval moved into the core (`sue_framework.evaluation.retrieval`), which
registers it: the experiment runner and `sue evaluate` need it without this plugin. Re-exported
here for code that imports it from sue_tasks."""

from sue_framework.evaluation.retrieval import (  # noqa: F401
    RetrievalTask,
    class_precision_at_k,
    recall_at_k,
    true_match_ranks,
)
