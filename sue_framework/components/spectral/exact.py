"""Exact spectral embedding: leading non-trivial eigenvectors of P = D^-1 W (ARPACK), Nystrom."""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from sue_framework.components.graphs import PaperKNNGraph
from sue_framework.errors import InputError
from sue_framework.interfaces import GraphBuilder, SpectralSolver, nest_state, unnest_state
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import engine_for
from sue_framework.runtime.progress import ticking
from sue_framework.runtime.settings import child
from sue_framework.validation import as_matrix

log = logging.getLogger(__name__)

EIGENSOLVERS = ("auto", "arpack", "lobpcg", "cupy")


def _lobpcg(
    S: sp.csr_matrix, k: int, seed: int | None, tol: float, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """Largest eigenpairs of a sparse symmetric S by torch LOBPCG on the engine's device."""
    import torch

    eng = engine_for(device, seed)
    dev = eng.device
    coo = S.tocoo()
    A = torch.sparse_coo_tensor(
        torch.as_tensor(np.vstack([coo.row, coo.col])),
        coo.data,
        size=S.shape,
        dtype=torch.float64,
        device=dev,
        check_invariants=True,
    ).coalesce()
    gen = eng.generator()
    X0 = torch.rand(S.shape[0], k, generator=gen, dtype=torch.float64).to(dev)
    vals, vecs = torch.lobpcg(A, k=k, X=X0, largest=True, tol=tol, niter=2000)
    return vals.cpu().numpy(), vecs.cpu().numpy()


def cupy_available() -> bool:
    """Whether CuPy imports and sees a GPU (for the `cupy` eigensolver)."""
    try:
        import cupy
        import cupyx.scipy.sparse.linalg  # noqa: F401

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or a CuPy without a usable CUDA runtime
        return False


def _cupy_eigsh(
    W: sp.csr_matrix, k: int, v0: np.ndarray, tol: float, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """Largest eigenpairs of S = D^-1/2 W D^-1/2 by CuPy's thick-restart Lanczos on a GPU;
    S is formed there too. Returns eigenvectors of S."""
    import cupy
    import cupyx.scipy.sparse as csp
    from cupyx.scipy.sparse.linalg import eigsh as cu_eigsh

    dev = engine_for(device).device
    with cupy.cuda.Device(dev.index or 0):
        S = csp.csr_matrix(W.astype(np.float64, copy=False))
        d_isqrt = 1.0 / cupy.sqrt(S.sum(axis=1).ravel())
        rows = cupy.searchsorted(S.indptr, cupy.arange(S.nnz), side="right") - 1
        S.data *= d_isqrt[rows] * d_isqrt[S.indices]
        vals, vecs = cu_eigsh(S, k=k, which="LA", v0=cupy.asarray(v0), tol=tol)
        return cupy.asnumpy(vals), cupy.asnumpy(vecs)


def pick_eigensolver(eigensolver: str, device: str) -> str:
    """The eigensolver to use: "auto" means CuPy's Lanczos on a GPU with CuPy, else ARPACK.

    Parameters
    ----------
    eigensolver : str
        "auto", "arpack", "cupy" or "lobpcg".
    device : str
        The fit's device.
    """
    if eigensolver not in EIGENSOLVERS:
        raise InputError(f"eigensolver must be one of {EIGENSOLVERS}, got {eigensolver!r}")
    if eigensolver != "auto":
        return eigensolver
    on_gpu = engine_for(device).device.type == "cuda"
    return "cupy" if on_gpu and cupy_available() else "arpack"


def random_walk_eigs(
    W: sp.spmatrix,
    k: int,
    *,
    seed: int | None = 0,
    tol: float = 1e-8,
    eigensolver: str = "auto",
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """The k+1 leading eigenpairs of P = D^-1 W, computed on S = D^-1/2 W D^-1/2 (symmetric).

    Returns (eigenvalues (k+1,) descending, eigenvectors (n, k+1) of P), trivial pair included.
    Each eigenvector of P is v = D^-1/2 u for an eigenvector u of S, scaled to unit mean square
    and signed so that its largest-magnitude entry is positive. `eigensolver` is "arpack"
    (scipy eigsh, CPU), "cupy" (CuPy's Lanczos eigsh on a GPU), "lobpcg" (torch, on `device`)
    or "auto" (see `pick_eigensolver`).

    Parameters
    ----------
    W : sparse matrix
        A symmetric affinity graph.
    k : int
        Non-trivial eigenpairs wanted.
    seed : int or None
        Seeds the start vector.
    tol : float
        The eigensolver's tolerance.
    eigensolver : str
        "auto", "arpack", "cupy" or "lobpcg".
    device : str
        Where CuPy or LOBPCG run.
    """
    eigensolver = pick_eigensolver(eigensolver, device)
    if eigensolver == "cupy" and not cupy_available():
        raise InputError("eigensolver='cupy' needs CuPy and a CUDA GPU; use 'arpack' or 'auto'")
    n = W.shape[0]
    if k + 1 >= n:
        raise InputError(
            f"{k} non-trivial eigenvectors need at least {k + 2} rows, got n_samples = {n}"
        )
    deg = np.asarray(W.sum(axis=1)).ravel()
    if np.any(deg <= 0):
        raise InputError("the graph has isolated nodes (zero degree); the random walk is undefined")
    d_isqrt = 1.0 / np.sqrt(deg)
    W = W.tocsr()
    v0 = engine_for(device, seed).rng().uniform(0.5, 1.5, size=n)  # seeded start
    if eigensolver == "cupy":
        with ticking(f"{k + 1} eigenvectors (cupy)"):
            vals, vecs = _cupy_eigsh(W, k + 1, v0, tol, device)
        return _ordered_random_walk(vals, vecs, d_isqrt)
    S = sp.csr_matrix(W, dtype=np.float64, copy=True)  # D^-1/2 W D^-1/2, entry by entry
    S.data *= d_isqrt[np.repeat(np.arange(n), np.diff(S.indptr))] * d_isqrt[S.indices]
    if eigensolver == "lobpcg":
        if 3 * (k + 1) > n:
            raise InputError(
                f"lobpcg needs at least {3 * (k + 1)} rows for {k} eigenvectors; use arpack"
            )
        with ticking(f"{k + 1} eigenvectors (lobpcg)"):
            vals, vecs = _lobpcg(S, k + 1, seed, tol, device)
    else:
        with ticking(f"{k + 1} eigenvectors (arpack)"):
            vals, vecs = eigsh(S, k=k + 1, which="LA", v0=v0, tol=tol)
    return _ordered_random_walk(vals, vecs, d_isqrt)


def _ordered_random_walk(
    vals: np.ndarray, vecs: np.ndarray, d_isqrt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of S -> of P, descending, unit mean square, largest entry positive."""
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order] * d_isqrt[:, None]
    vecs /= np.sqrt((vecs**2).mean(axis=0, keepdims=True))
    peak = np.argmax(np.abs(vecs), axis=0)
    vecs *= np.sign(vecs[peak, np.arange(vecs.shape[1])])[None, :]
    return vals, vecs


class ExactSpectral(SpectralSolver):
    """Exact SE: Lanczos (ARPACK, or CuPy on a GPU) on the symmetric normalised operator of a
    sparse graph.

    New points are embedded by the Nystrom extension v(q) = (1 / lambda) sum_j P(q, j) v(j), the
    eigenvector equation applied to the query's affinity row. A query that duplicates a training
    row gets that row's embedding, which is the same equation on the training graph's own row.

    Parameters
    ----------
    n_components : int
        k, the number of non-trivial eigenvectors (the paper uses 10).
    graph : GraphBuilder or None
        The affinity graph, cloned before use (None: `PaperKNNGraph`). Built by name through
        the registry (``{"graph": "gaussian_knn"}``), the name becomes an instance first.
    graph_params : dict, optional
        Settings of the graph (set on the clone).
    seed : int or None
        Fixes the eigensolver's start vector, so repeated fits give identical output.
    tol : float
        Convergence tolerance of the eigensolver (ARPACK's `tol`, LOBPCG's).
    eigensolver : str
        "auto" (CuPy Lanczos on a GPU device when CuPy is installed, else ARPACK), "arpack"
        (scipy eigsh on CPU), "cupy" or "lobpcg" (torch LOBPCG on `device`).
    device : str
        Where the graph's kNN search (and CuPy/LOBPCG) runs; passed to the graph unless
        `graph_params` sets it.
    """

    CHILDREN = {"graph": ("graph", "paper_knn")}  # built by the registry, never by this class
    _state_keys = ("eigenvalues_", "embedding_")

    @keyword_only
    def __init__(
        self,
        n_components: int = 10,
        *,
        graph: GraphBuilder | None = None,
        graph_params: dict | None = None,
        seed: int | None = 0,
        tol: float = 1e-8,
        eigensolver: str = "auto",
        device: str = "auto",
    ) -> None:
        self.n_components = n_components
        self.graph = graph
        self.graph_params = graph_params
        self.seed = seed
        self.tol = tol
        self.eigensolver = eigensolver
        self.device = device

    def _make_graph(self) -> GraphBuilder:
        return child(
            self.graph, self.graph_params, PaperKNNGraph, {"device": self.device},
            "ExactSpectral.graph",
        )  # fmt: skip

    def fit(self, X: np.ndarray, y: None = None) -> ExactSpectral:
        X = self._fit_rows(X)
        if self.n_components < 1:
            raise InputError(f"n_components must be >= 1, got {self.n_components}")
        t0 = time.perf_counter()
        graph = self._make_graph().fit(X)
        t1 = time.perf_counter()
        log.info("kNN graph (%s) on %d rows in %.2f s", type(graph).__name__, X.shape[0], t1 - t0)
        solver = pick_eigensolver(self.eigensolver, self.device)
        vals, vecs = random_walk_eigs(
            graph.affinity_,
            self.n_components,
            seed=self.seed,
            tol=self.tol,
            eigensolver=solver,
            device=self.device,
        )
        log.info("%d eigenpairs (%s) in %.2f s", len(vals), solver, time.perf_counter() - t1)
        self.graph_ = graph
        self.eigenvalues_ = vals[1:]
        self.embedding_ = vecs[:, 1:].astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, "X", getattr(self, "n_features_in_", None), "ExactSpectral")
        idx, w, match = self.graph_.query(X)
        P = w / w.sum(axis=1, keepdims=True)
        lam = np.where(np.abs(self.eigenvalues_) < 1e-6, 1e-6, self.eigenvalues_)
        out = np.einsum("qk,qkc->qc", P, self.embedding_[idx].astype(np.float64)) / lam[None, :]
        hit = match >= 0
        out[hit] = self.embedding_[match[hit]]
        return out.astype(np.float32)

    # the graph is a child: its state travels with ours under the "graph." prefix
    def get_state(self) -> dict[str, np.ndarray]:
        state = super().get_state()
        state.update(nest_state("graph", self.graph_.get_state()))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        super().set_state(state)
        graph = self._make_graph()
        graph.set_state(unnest_state("graph", state))
        self.graph_ = graph

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return super().is_fitted() and hasattr(self, "graph_")
