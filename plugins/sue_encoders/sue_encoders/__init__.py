"""Unimodal encoders for sue_framework, registered through the ``sue_framework`` entry point."""

from sue_encoders.base import BatchedEncoder
from sue_encoders.cache import EmbeddingCache
from sue_encoders.sbert import SBERTEncoder, resolve_model
from sue_framework import hookimpl

__all__ = ["BatchedEncoder", "EmbeddingCache", "SBERTEncoder", "resolve_model"]


@hookimpl
def sue_register(registry) -> None:
    registry.register("encoder", "sbert", SBERTEncoder)
