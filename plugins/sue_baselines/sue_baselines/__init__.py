"""Baselines for sue_framework, registered through the ``sue_framework`` entry point."""

from sue_baselines.cca_raw import CCARaw
from sue_baselines.contrastive import Contrastive
from sue_framework import hookimpl

__all__ = ["CCARaw", "Contrastive"]


@hookimpl
def sue_register(registry) -> None:
    registry.register("method", "contrastive", Contrastive)
    registry.register("method", "cca_raw", CCARaw)
