"""The offline demo: an experiment config over scikit-learn's digits (left half <-> right half).

It follows the paper's protocol at several pair budgets and compares SUE with the contrastive
baseline and CCA on the raw features, using the experiment runner.
"""

from __future__ import annotations

from sue_framework.experiment import ExperimentConfig, MethodSpec

DEMO_METHODS = (
    MethodSpec(
        "SUE",
        "sue",
        {
            "se_dim": 20,
            "solver_params": {"graph_params": {"n_neighbors": 15}},
            "matcher_params": {"batch_size": 256},
        },
    ),
    MethodSpec("Contrastive", "contrastive"),
    MethodSpec("CCA (raw)", "cca_raw"),
)


def demo_config(
    pairs: tuple[int, ...] = (10, 25, 50, 100, 200),
    seeds: tuple[int, ...] = (0, 1),
    device: str = "auto",
) -> ExperimentConfig:
    return ExperimentConfig(
        name="demo",
        description="digits: left half (x) <-> right half (y); paper protocol, 400 test pairs.",
        dataset="digits_halves",
        methods=DEMO_METHODS,
        pairs=tuple(pairs),
        seeds=tuple(seeds),
        baseline="Contrastive",
        device=device,
        stages_plot={"method": "SUE", "pairs": 50, "seed": seeds[0]},
    )
