"""Experiments: configs (`config`), the resumable grid runner (`runner`) and reports (`report`).

A grid of methods x pair budgets x unpaired budgets x seeds under the paper's protocol, written
to a results CSV with a checksum per row, a paper-style markdown table and plots.
"""

from sue_framework.experiment.config import (
    ALL,
    METRICS,
    ExperimentConfig,
    MethodSpec,
    load_config,
    smoke,
)
from sue_framework.experiment.report import (
    markdown_table,
    plot_r10,
    plot_stages,
    relative_improvement,
    summarise,
    text_table,
    write_report,
)
from sue_framework.experiment.runner import (
    LoadedData,
    load_dataset,
    read_results,
    results_file,
    run_experiment,
)

__all__ = [
    "ALL",
    "METRICS",
    "ExperimentConfig",
    "LoadedData",
    "MethodSpec",
    "load_config",
    "load_dataset",
    "markdown_table",
    "plot_r10",
    "plot_stages",
    "read_results",
    "relative_improvement",
    "results_file",
    "run_experiment",
    "smoke",
    "summarise",
    "text_table",
    "write_report",
]
