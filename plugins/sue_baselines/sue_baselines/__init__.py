"""Baselines for sue_framework, registered through the ``sue_framework`` entry point."""

from sue_baselines.asif import ASIF
from sue_baselines.autoencoder import AutoencoderSolver
from sue_baselines.cca_raw import CCARaw
from sue_baselines.contrastive import Contrastive
from sue_baselines.contrastive_cv import ContrastiveCV
from sue_baselines.variants import VARIANTS
from sue_framework import hookimpl

__all__ = ["ASIF", "VARIANTS", "AutoencoderSolver", "CCARaw", "Contrastive"]


@hookimpl
def sue_register(registry) -> None:
    registry.register("method", "contrastive", Contrastive)
    registry.register("method", "contrastive_cv", ContrastiveCV)
    registry.register("method", "cca_raw", CCARaw)
    registry.register("method", "asif", ASIF)
    registry.register("solver", "autoencoder", AutoencoderSolver)
    for name, factory in VARIANTS.items():
        registry.register("method", name, factory)
