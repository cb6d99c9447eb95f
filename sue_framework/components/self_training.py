"""Self-training on pseudo-pairs: an aligner refit on its own confident cross-modal matches, for a
few rounds (`SelfLearning` iterates to convergence instead and is what `self_train` uses).

Round 0 fits the base aligner on the true pairs. Each later round embeds every row of both
modalities with the current fit, mines pseudo-pairs among them (mutual nearest neighbours, or
mutual argmaxes of an entropic OT plan), keeps the most confident ones, and refits the base
aligner on the true pairs plus those. This is the self-learning loop of bilingual lexicon
induction (Artetxe et al., ACL 2017; mini-vec2vec, 2025, with Procrustes) applied to any aligner.
"""

from __future__ import annotations

import numpy as np

from sue_framework.components.aligners import fit_aligner, pairs_and_rows
from sue_framework.components.knn import AUTO_INDEX_EXACT_LIMIT
from sue_framework.components.pseudo_pairs import (
    mutual_nearest,
    mutual_nearest_from_lists,
    ot_matches,
)
from sue_framework.components.refit import RefitAligner
from sue_framework.errors import InputError
from sue_framework.interfaces import Aligner
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import engine_for

PSEUDO = ("mnn", "ot")


class SelfTraining(RefitAligner):
    """Self-training around a base aligner (module docstring); rounds=0 is the base aligner.

    Per round at most `max_fraction` of the smaller modality's rows become pseudo-pairs, the most
    confident first (the CSLS score or cosine for "mnn", plan probability for "ot"), and only
    those above `min_confidence`. Each round starts again from the true pairs, so an early
    mistake is not locked in. "mnn" pairs are mutual nearest neighbours by CSLS over `csls_k`
    neighbours (see `mutual_nearest`; 0 uses the plain cosine): on the real-embedding suite CSLS
    scored at or above the cosine in all 15 cells, by up to 5.5 points of R@10
    ([real_embeddings.md](../real_embeddings.md)). A base aligner that picks parameters on the
    pairs exposes them as `chosen_params_` after fit; later rounds keep them rather than choose
    again on pseudo-pairs. `mine_components` > `n_components` fits every round in that wider
    space and only the last fit at `n_components`: for a CCA-type base, whose coordinates come
    ordered, the result is then the first `n_components` columns of the same self-training at
    `mine_components`, so one fit serves several output widths (`auto` uses this).

    Parameters
    ----------
    base : Aligner or None
        The aligner refit on true pairs plus pseudo-pairs, cloned before use (None:
        `SemiCCA`). Built by name through the registry (``{"base": "cca"}``), the name
        becomes an instance before the component sees it.
    base_params : dict, optional
        Settings of the base (set on the clone).
    n_components : int
        Output dimension.
    rounds : int
        Rounds of pseudo-pairing and refitting (0: the base aligner alone).
    pseudo : str
        "mnn" (mutual nearest neighbours by CSLS) or "ot" (an entropic transport plan).
    max_fraction : float
        Per round, at most this share of the smaller side's rows become pseudo-pairs.
    min_confidence : float
        Pseudo-pairs scoring below this are dropped (-1 keeps every candidate).
    ot_eps : float
        Entropic regularisation of the "ot" plan.
    ot_max_rows : int
        The "ot" plan is computed on at most this many rows a side.
    csls_k : int
        Neighbours in CSLS's hubness correction (0: plain cosine).
    mine_components : int or None
        Fit every round at this wider width and only the last at `n_components`.
    seed : int or None
        Seeds every random choice, so a fit repeats exactly; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    CHILDREN = {"base": ("aligner", "semi_cca")}  # built by the registry, never by this class

    @keyword_only
    def __init__(
        self,
        base: Aligner | None = None,
        *,
        base_params: dict | None = None,
        n_components: int = 8,
        rounds: int = 3,
        pseudo: str = "mnn",
        max_fraction: float = 0.5,
        min_confidence: float = -1.0,
        ot_eps: float = 0.05,
        ot_max_rows: int = 2048,
        csls_k: int = 10,
        mine_components: int | None = None,
        seed: int | None = 0,
        device: str = "auto",
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.n_components = n_components
        self.rounds = rounds
        self.pseudo = pseudo
        self.max_fraction = max_fraction
        self.min_confidence = min_confidence
        self.ot_eps = ot_eps
        self.ot_max_rows = ot_max_rows
        self.csls_k = csls_k
        self.mine_components = mine_components
        self.seed = seed
        self.device = device

    def _mine(self, zx: np.ndarray, zy: np.ndarray, round_: int) -> np.ndarray:
        dev = engine_for(self.device).device
        if self.pseudo == "mnn" and float(len(zx)) * len(zy) > AUTO_INDEX_EXACT_LIMIT:
            # large pools: from candidate lists (faiss), not a scan of every x against every y
            i, j, conf = mutual_nearest_from_lists(zx, zy, csls_k=self.csls_k, seed=self.seed or 0)
        elif self.pseudo == "mnn":
            i, j, conf = mutual_nearest(zx, zy, dev, csls_k=self.csls_k)
        else:
            seed = None if self.seed is None else self.seed + round_
            i, j, conf = ot_matches(zx, zy, self.ot_eps, self.ot_max_rows, seed, dev)
        keep = conf >= self.min_confidence
        i, j, conf = i[keep], j[keep], conf[keep]
        k = int(self.max_fraction * min(zx.shape[0], zy.shape[0]))
        top = np.argsort(-conf, kind="stable")[:k]
        return np.stack([i[top], j[top]], axis=1)

    def fit(self, a, b, x=None, y=None) -> SelfTraining:
        if self.pseudo not in PSEUDO:
            raise InputError(f"pseudo must be one of {PSEUDO}, got {self.pseudo!r}")
        if self.rounds < 0 or not 0.0 <= self.max_fraction <= 1.0:
            raise InputError(
                f"rounds must be >= 0 and max_fraction in [0, 1], got {self.rounds} and "
                f"{self.max_fraction}"
            )
        a, b, x, y = pairs_and_rows(a, b, x, y)
        width = max(self.n_components, self.mine_components or 0)
        aligner = fit_aligner(self._base_aligner(width=width), a, b, x, y)
        # parameters the base chose on the pairs (e.g. by CV) are chosen on the true pairs only
        fixed = getattr(aligner, "chosen_params_", None)
        self.n_pseudo_: list[int] = []
        pa, pb = a, b
        for round_ in range(self.rounds):
            pseudo = self._mine(aligner.transform(x, "x"), aligner.transform(y, "y"), round_)
            self.n_pseudo_.append(int(pseudo.shape[0]))
            if pseudo.shape[0] == 0:
                break
            pa = np.vstack([a, x[pseudo[:, 0]]])
            pb = np.vstack([b, y[pseudo[:, 1]]])
            aligner = fit_aligner(self._base_aligner(fixed, width), pa, pb, x, y)
        if width > self.n_components:  # the last fit, at the output width
            aligner = fit_aligner(self._base_aligner(fixed), pa, pb, x, y)
        self.aligner_ = aligner
        return self
