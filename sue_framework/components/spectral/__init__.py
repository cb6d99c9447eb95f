"""Spectral solvers: exact eigensolvers now; SpectralNet lands with the spectral-stage work."""

from sue_framework.components.spectral.exact import ExactSpectral

__all__ = ["ExactSpectral"]
