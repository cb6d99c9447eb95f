"""Spectral solvers: exact (ARPACK + Nystrom) and SpectralNet (parametric)."""

from sue_framework.components.spectral.exact import ExactSpectral
from sue_framework.components.spectral.spectralnet import SpectralNet

__all__ = ["ExactSpectral", "SpectralNet"]
