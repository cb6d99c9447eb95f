"""Baselines for sue_framework, registered through the ``sue_framework`` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sue_framework import hookimpl
from sue_framework.lazy import lazy_exports

_EXPORTS = {
    "ASIF": "sue_baselines.asif",
    "AutoencoderSolver": "sue_baselines.autoencoder",
    "CCARaw": "sue_baselines.cca_raw",
    "Contrastive": "sue_baselines.contrastive",
    "ContrastiveCV": "sue_baselines.contrastive_cv",
    "VARIANTS": "sue_baselines.variants",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports
    from sue_baselines.asif import ASIF  # noqa: F401
    from sue_baselines.autoencoder import AutoencoderSolver  # noqa: F401
    from sue_baselines.cca_raw import CCARaw  # noqa: F401
    from sue_baselines.contrastive import Contrastive  # noqa: F401
    from sue_baselines.contrastive_cv import ContrastiveCV  # noqa: F401
    from sue_baselines.variants import VARIANTS  # noqa: F401


__getattr__ = lazy_exports(__name__, _EXPORTS)  # imports a module on first use

_COMPONENTS = (
    ("method", "contrastive", "sue_baselines.contrastive:Contrastive"),
    ("method", "contrastive_cv", "sue_baselines.contrastive_cv:ContrastiveCV"),
    ("method", "cca_raw", "sue_baselines.cca_raw:CCARaw"),
    ("method", "asif", "sue_baselines.asif:ASIF"),
    ("solver", "autoencoder", "sue_baselines.autoencoder:AutoencoderSolver"),
    ("method", "se_cca", "sue_baselines.variants:VARIANTS[se_cca]"),
    ("method", "se_mmd", "sue_baselines.variants:VARIANTS[se_mmd]"),
    ("method", "ae_ablation", "sue_baselines.variants:VARIANTS[ae_ablation]"),
    ("method", "domain_confusion", "sue_baselines.variants:VARIANTS[domain_confusion]"),
    ("method", "procrustes_raw", "sue_baselines.variants:VARIANTS[procrustes_raw]"),
)


@hookimpl
def sue_register(registry) -> None:
    """Register this plugin's components by reference (imported when first used)."""
    registry.register_all(_COMPONENTS)
