"""Spectral solvers: exact (ARPACK or LOBPCG, + Nystrom), SpectralNet (parametric), and auto."""

from sue_framework.components.spectral.auto import AutoSpectral
from sue_framework.components.spectral.exact import ExactSpectral
from sue_framework.components.spectral.spectralnet import SpectralNet

__all__ = ["AutoSpectral", "ExactSpectral", "SpectralNet"]
