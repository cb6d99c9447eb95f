"""The offline demo: an experiment config over scikit-learn's digits (left half <-> right half).

It follows the paper's protocol at several pair budgets and compares SUE with the contrastive
baseline and CCA on the raw features, using the experiment runner. The baselines live in the
sue-baselines plugin package; without it the demo says so and runs SUE alone.
"""

from __future__ import annotations

from sue_framework.experiment import ExperimentConfig, MethodSpec
from sue_framework.registry import registry

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


# the demo's baselines come from this plugin package; without it the demo runs SUE alone
BASELINES_PACKAGE = "sue-baselines (pip install -e plugins/sue_baselines)"


def missing_methods() -> list[str]:
    """The demo's methods that no installed package registers."""
    known = set(registry.names("method"))
    return [m.name for m in DEMO_METHODS if m.name not in known]


def demo_config(
    pairs: tuple[int, ...] = (10, 25, 50, 100, 200),
    seeds: tuple[int, ...] = (0, 1),
    device: str = "auto",
) -> ExperimentConfig:
    """The demo grid over the methods that are installed (see `missing_methods`).

    Parameters
    ----------
    pairs : tuple of int
        Pair budgets.
    seeds : tuple of int
        Seeds.
    device : str
        Where the fits run.
    """
    missing = set(missing_methods())
    methods = tuple(m for m in DEMO_METHODS if m.name not in missing)
    return ExperimentConfig(
        name="demo",
        description="digits: left half (x) <-> right half (y); paper protocol, 400 test pairs.",
        dataset="digits_halves",
        methods=methods,
        pairs=tuple(pairs),
        seeds=tuple(seeds),
        baseline="Contrastive" if "contrastive" not in missing else None,
        device=device,
        stages_plot={"method": "SUE", "pairs": 50, "seed": seeds[0]},
    )
