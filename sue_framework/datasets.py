"""Paired data sets that need no download: digits halves, two hand-crafted views of the digits,
and a synthetic two-modality generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sue_framework.errors import InputError
from sue_framework.interfaces import Dataset
from sue_framework.io.array_files import read_matrix, read_pairs
from sue_framework.keywords import keyword_only
from sue_framework.validation import as_matrix, as_pairs


def digits_halves() -> tuple[np.ndarray, np.ndarray]:
    """Left and right 8x4 halves of scikit-learn's 8x8 digits: 1797 true pairs, 32-d each."""
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.float32)
    return images[:, :, :4].reshape(len(images), -1), images[:, :, 4:].reshape(len(images), -1)


def digits_views() -> tuple[np.ndarray, np.ndarray]:
    """Two hand-crafted descriptions of scikit-learn's 1797 8x8 digits whose neighbourhoods
    disagree: x is the 64 pixels; y the magnitudes of the image's 2-D Fourier transform (40
    values: each frequency once), which ignore where the stroke lies and cannot tell an image
    from its half-turn, so a 6 and a 9 look alike to y but not to x."""
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.float32)
    spectrum = np.abs(np.fft.rfft2(images))  # (n, 8, 5)
    return images.reshape(len(images), -1), spectrum.reshape(len(images), -1).astype(np.float32)


@dataclass(frozen=True)
class TwoModalities:
    """Synthetic two-view data from `make_two_modalities`.

    Parameters
    ----------
    x, y : ndarray of shape (n, dim_x) and (n, dim_y)
        The two views; x[i] and y[i] come from the same latent point.
    latent : ndarray of shape (n, latent_dim)
        The latent points.
    labels : ndarray of shape (n,)
        Each latent point's cluster.
    """

    x: np.ndarray
    y: np.ndarray
    latent: np.ndarray
    labels: np.ndarray


def _random_map(
    z: np.ndarray, dim: int, width: int, distortion: float, act: np.ufunc, rng
) -> np.ndarray:
    """A random two-layer network act(d u) / d; `distortion` d -> 0 makes it linear."""
    q = z.shape[1]
    w1 = rng.normal(size=(q, width)) / np.sqrt(q)
    b1 = rng.normal(size=width) * 0.5
    w2 = rng.normal(size=(width, dim)) / np.sqrt(width)
    pre = z @ w1 + b1
    h = act(distortion * pre) / distortion if distortion > 0 else pre
    out = h @ w2
    return (out - out.mean(0)) / (out.std(0) + 1e-12)


def make_two_modalities(
    n: int = 3000,
    *,
    latent_dim: int = 4,
    n_clusters: int = 10,
    cluster_scale: float = 3.0,
    dim_x: int = 64,
    dim_y: int = 48,
    distortion: float = 1.5,
    noise: float = 0.1,
    seed: int = 0,
) -> TwoModalities:
    """The paper's assumption (Sec. 4.1) as data: one latent manifold, two nonlinear views.

    Latent points are a mixture of `n_clusters` isotropic Gaussians whose centres are spread by
    `cluster_scale` (1 cluster or scale 0 gives no cluster structure). Each modality applies its
    own random two-layer network into `dim_x` / `dim_y` standardised features, then adds Gaussian
    `noise` per feature: x through tanh(d u) / d, y through sin(d u) / d with d = `distortion`.
    Small d makes both maps nearly linear, so CCA on the raw features aligns them from few pairs.
    Large d makes y's map fold (sin is not monotone): the linear correlation between the views
    fades while each view's neighbourhoods still follow the latent geometry, the case SUE is built
    for. High `noise` wipes out the shared geometry for every method.

    Parameters
    ----------
    n : int
        Points (paired rows).
    latent_dim : int
        Dimension of the latent manifold.
    n_clusters : int
        Gaussian clusters of the latent points.
    cluster_scale : float
        Spread of the cluster centres (0: no cluster structure).
    dim_x, dim_y : int
        Features of each view.
    distortion : float
        d of tanh(d u) / d and sin(d u) / d: how nonlinear the views are.
    noise : float
        Standard deviation of the Gaussian noise added per feature.
    seed : int
        Seeds everything drawn.
    """
    if n < 2 or latent_dim < 1 or n_clusters < 1 or dim_x < 1 or dim_y < 1:
        raise InputError("n >= 2 and latent_dim, n_clusters, dim_x, dim_y >= 1 are required")
    if noise < 0 or distortion < 0:
        raise InputError("noise and distortion must be >= 0")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, latent_dim)) * cluster_scale
    labels = rng.integers(0, n_clusters, n)
    latent = centres[labels] + rng.normal(size=(n, latent_dim))
    x = _random_map(latent, dim_x, 2 * dim_x, distortion, np.tanh, rng)
    y = _random_map(latent, dim_y, 3 * dim_y, distortion, np.sin, rng)
    x = x + noise * rng.normal(size=x.shape)
    y = y + noise * rng.normal(size=y.shape)
    return TwoModalities(x.astype(np.float32), y.astype(np.float32), latent, labels)


class DigitsHalves(Dataset):
    """Registered dataset ``digits_halves``: see `digits_halves`."""

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        return digits_halves()


class DigitsViews(Dataset):
    """Registered dataset ``digits_views``: see `digits_views`."""

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        return digits_views()


class Synthetic(Dataset):
    """Registered dataset ``synthetic``: `make_two_modalities` with these keyword arguments."""

    def __init__(self, **params: object) -> None:
        self.params = params

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        d = make_two_modalities(**self.params)  # type: ignore[arg-type]
        return d.x, d.y


class Arrays(Dataset):
    """Your own embeddings as an experiment's data set: two files of rows and how they pair.

    Without `pairs`, row i of `x` pairs row i of `y` (equal row counts). With `pairs` (a file of
    i,j lines or an (m, 2) .npy), the listed pairs form the paired set that the protocol splits
    into test and training pairs, and every other row of each file joins each training split as
    an unpaired row. `.npz` files take `x_key` / `y_key` when they hold several arrays. Relative
    paths resolve against the current folder.

    Parameters
    ----------
    x, y : str
        Files of rows of each modality (.npy, .npz, .csv, .tsv, .txt or .parquet).
    pairs : str, optional
        A file of i,j lines (or an (m, 2) .npy) listing which rows pair; None pairs row i of x
        with row i of y.
    x_key, y_key : str, optional
        The array to read from an .npz file that holds several.
    """

    @keyword_only
    def __init__(
        self,
        x: str,
        *,
        y: str,
        pairs: str | None = None,
        x_key: str | None = None,
        y_key: str | None = None,
    ) -> None:
        self.x, self.y, self.pairs = x, y, pairs
        self.x_key, self.y_key = x_key, y_key
        self._extra: tuple[np.ndarray, np.ndarray] | None = None

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        x = as_matrix(read_matrix(self.x, "x", self.x_key), f"x ({self.x})")
        y = as_matrix(read_matrix(self.y, "y", self.y_key), f"y ({self.y})")
        if self.pairs is None:
            if x.shape[0] != y.shape[0]:
                raise InputError(
                    f"x ({self.x}) has {x.shape[0]} rows and y ({self.y}) {y.shape[0]}; without "
                    "a pairs file row i of x pairs row i of y, so they need as many rows. "
                    "Give pairs = 'FILE' with lines i,j"
                )
            self._extra = (x[:0], y[:0])
            return x, y
        pairs = as_pairs(read_pairs(self.pairs), x.shape[0], y.shape[0])
        for col, side in ((0, "x"), (1, "y")):
            if np.unique(pairs[:, col]).size != pairs.shape[0]:
                raise InputError(
                    f"pairs ({self.pairs}) use a row of {side} twice; the protocol needs each "
                    "row in at most one pair"
                )
        rest_x = np.setdiff1d(np.arange(x.shape[0]), pairs[:, 0])
        rest_y = np.setdiff1d(np.arange(y.shape[0]), pairs[:, 1])
        self._extra = (x[rest_x], y[rest_y])
        return x[pairs[:, 0]], y[pairs[:, 1]]

    def unpaired(self) -> tuple[np.ndarray, np.ndarray]:
        if self._extra is None:
            self.load()
        assert self._extra is not None  # load() sets it
        return self._extra
