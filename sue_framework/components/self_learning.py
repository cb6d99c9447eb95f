"""Self-learning to convergence: the self-learning loop of bilingual lexicon induction
(Artetxe, Labaka, Agirre, ACL 2018, "VecMap"), made deterministic and fast, around any aligner.

The loop works in a fixed, low-dimensional mining space per modality: each row normalised
(unit length, centred, unit length again), projected on its modality's leading principal
directions (`mine_dim`, the same number on both sides) and normalised again. It starts from the
orthogonal map that the true pairs determine, then repeats:

1. every row's `candidates` most similar rows of the other modality, both directions, with the
   current map applied to one side (exact: one blocked pass of products gives both
   directions; faiss IVF on pools too large for that, each modality's index built once and
   searched with rotated queries, and each direction's lists completed by the pairs the
   other direction found, `knn.with_reverse_hits`);
2. a dictionary over all rows in both directions, scored by CSLS (cross-domain similarity
   local scaling, 2 cos - r(x) - r(y), r a row's mean similarity to its `csls_k` nearest
   candidates, which discounts hubs);
3. the orthogonal map refit on the true pairs plus that dictionary (Procrustes, an SVD of a
   `mine_dim`-square matrix).

Two phases. First a soft dictionary: each row is matched to all of its candidates, weighted by
a softmax of their CSLS scores at `temperature`, and each new map is over-relaxed (the step
from the old map is taken `1 + momentum` times, then projected back onto orthogonal maps).
Then a hard one: each row's best candidate by CSLS. Each phase ends when the objective (the
mean best similarity, both directions) has not improved by `tol` for `patience` iterations.
VecMap's stochastic dictionary induction (candidates dropped at random, kept with a
probability raised from `keep_initial` as the objective stalls) replaces the soft phase with
``induction="stochastic"``; on the real-embedding suite its outcome depended on the random
stream (25 pairs, the same split: R@10 between 30 and 60), where the soft phase repeats to
within a point ([real_embeddings.md](../real_embeddings.md)).

Finally the base aligner (semi-CCA by default: covariances from every row) is fit on the true
pairs plus the last hard dictionary. Pools larger than `max_rows` per side are mined on a
seeded sample of that size; the base aligner still sees every row.
"""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.components.aligners import fit_aligner, pairs_and_rows
from sue_framework.components.knn import (
    AUTO_INDEX_EXACT_LIMIT,
    INDEX_ENGINES,
    InnerProductIndex,
    faiss_available,
    score_buffer,
    top_k_both_ways,
    with_reverse_hits,
)
from sue_framework.components.refit import RefitAligner
from sue_framework.errors import InputError
from sue_framework.interfaces import Aligner
from sue_framework.keywords import keyword_only
from sue_framework.model_selection.ranking import reciprocal_ranks
from sue_framework.runtime.engine import Engine, engine_for, to_tensor
from sue_framework.runtime.progress import bar

INDUCTIONS = ("soft", "stochastic")
DROPPED = -1e30  # the score of a dropped candidate
MINE_MAX_ROWS = 10000  # rows a side mined at most, by default (a seeded sample beyond)
Lists = tuple[torch.Tensor, torch.Tensor]  # (scores descending, indices), one row per query


def _unit(t: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(t, dim=1, eps=1e-30)


class MiningSpace:
    """One modality's fixed mining coordinates: unit length, centred, unit length, projected on
    the top `dim` principal directions of the fitting rows, unit length again (float32).

    Parameters
    ----------
    rows : Tensor
        The fitting rows of one modality.
    dim : int
        Principal directions kept.
    """

    def __init__(self, rows: torch.Tensor, dim: int) -> None:
        u = _unit(rows.double())
        self.mean = u.mean(0)
        c = _unit(u - self.mean)
        evals, evecs = torch.linalg.eigh(c.T @ c / c.shape[0])
        self.basis = evecs[:, torch.argsort(evals, descending=True)[:dim]].contiguous()

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        return _unit(_unit(_unit(rows.double()) - self.mean) @ self.basis).float()


def polar(m: torch.Tensor, rtol: float = 1e-6) -> torch.Tensor:
    """The orthogonal factor U V^T of m = U S V^T, keeping only the directions whose singular
    value exceeds `rtol` times the largest.

    As a Procrustes solution (m = a^T b) with fewer pairs than dimensions, m is rank-deficient
    and the rotation of its null space would be whatever rounding noise picks (it then depended
    on the rows' order). Keeping what the pairs determine gives a partial isometry instead.

    Parameters
    ----------
    m : Tensor
        The matrix to factor.
    rtol : float
        Singular values below this share of the largest are dropped.
    """
    u, s, vh = torch.linalg.svd(m.double())
    k = int((s > rtol * s[0]).sum()) if s.numel() and float(s[0]) > 0 else 0
    return (u[:, :k] @ vh[:k]).float()


def _csls(fwd: Lists, bwd: Lists, csls_k: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(forward CSLS scores, backward CSLS scores, objective) of candidate lists: x_i's
    candidate y_j scores 2 cos - r(y_j) (r(x_i) is constant along the row), y_j's candidate x_i
    scores 2 cos - r(x_i). The objective is the mean best cosine of both directions."""
    (fv, fi), (bv, bi) = fwd, bwd
    # cosines of unit rows lie in [-1, 1]: this only lifts an approximate index's -inf padding
    fv, bv = fv.clamp(min=-1.0), bv.clamp(min=-1.0)
    k = max(1, min(csls_k, fv.shape[1], bv.shape[1]))
    rx, ry = fv.topk(k, dim=1).values.mean(1), bv.topk(k, dim=1).values.mean(1)
    objective = 0.5 * (float(fv.amax(1).mean()) + float(bv.amax(1).mean()))
    return 2.0 * fv - ry[fi], 2.0 * bv - rx[bi], objective


def hard_dictionary(
    fwd: Lists, bwd: Lists, csls_k: int, keep: float = 1.0, generator: torch.Generator | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """(x rows, y rows, objective): each row's best candidate by CSLS, both directions.

    With `keep` < 1 each candidate survives with that probability (VecMap's stochastic
    dictionary induction); a row whose candidates all drop gets no entry.

    Parameters
    ----------
    fwd, bwd : (Tensor, Tensor)
        Candidate lists (scores, indices) of x rows among y rows and of y rows among x rows.
    csls_k : int
        Neighbours in CSLS's correction.
    keep : float
        Probability that a candidate survives (1: all do).
    generator : torch.Generator, optional
        Draws the survivors.
    """
    fwd, bwd = (fwd[0].cpu(), fwd[1].cpu()), (bwd[0].cpu(), bwd[1].cpu())  # small: n x k
    sf, sb, objective = _csls(fwd, bwd, csls_k)
    out = []
    for score, (_, idx) in ((sf, fwd), (sb, bwd)):
        if keep < 1.0:
            score = score.masked_fill(torch.rand(score.shape, generator=generator) >= keep, DROPPED)
        best, col = score.max(1)
        rows = torch.nonzero(best > DROPPED / 2).ravel()
        out.append((rows.numpy(), idx[rows, col[rows]].numpy()))
    (x_f, y_f), (y_b, x_b) = out
    return np.concatenate([x_f, x_b]), np.concatenate([y_f, y_b]), objective


def soft_cross(
    fwd: Lists, bwd: Lists, px: torch.Tensor, py: torch.Tensor, csls_k: int, temperature: float
) -> tuple[torch.Tensor, float]:
    """(cross-product, objective) of the soft dictionary: every row matched to each of its
    candidates with weight softmax(CSLS / temperature) over them, both directions.

    Parameters
    ----------
    fwd, bwd : (Tensor, Tensor)
        Candidate lists of each direction.
    px, py : Tensor
        The mining-space rows of each side.
    csls_k : int
        Neighbours in CSLS's correction.
    temperature : float
        Softness of the weights.
    """
    sf, sb, objective = _csls(fwd, bwd, csls_k)
    wf = torch.softmax(sf / temperature, dim=1)
    wb = torch.softmax(sb / temperature, dim=1)
    # each row's weighted partner: a weighted bag of its candidates' rows, gathered and summed
    # in one pass: the whole cross-product 6.5-9.5x faster than from an (n, k, d) gather
    # (benchmarks/studies/soft_cross.py)
    targets_x = torch.nn.functional.embedding_bag(fwd[1], py, per_sample_weights=wf, mode="sum")
    targets_y = torch.nn.functional.embedding_bag(bwd[1], px, per_sample_weights=wb, mode="sum")
    return px.T @ targets_x + targets_y.T @ py, objective


def mining_engine(knn: str, n_x: int, n_y: int, max_rows: int | None = None) -> str:
    """The candidate search a `SelfLearning` with `knn` and `max_rows` runs on pools of n_x and
    n_y rows: "auto" is exact while the mined rows' products stay within
    `AUTO_INDEX_EXACT_LIMIT`, else faiss IVF when faiss is installed.

    Parameters
    ----------
    knn : str
        The `knn` setting.
    n_x, n_y : int
        Rows of each modality.
    max_rows : int, optional
        Rows mined per side at most (`SelfLearning.max_rows`; None: n_x and n_y as given).
    """
    if knn != "auto":
        return knn
    if max_rows is not None:
        n_x, n_y = min(n_x, max_rows), min(n_y, max_rows)
    big = float(n_x) * float(n_y) > AUTO_INDEX_EXACT_LIMIT
    return "faiss-ivf" if big and faiss_available() else "exact"


class _Searcher:
    """Candidate lists both ways for maps applied to the x side; exact or faiss, as chosen."""

    def __init__(self, px: torch.Tensor, py: torch.Tensor, k: int, engine: str, eng: Engine):
        self.px, self.py, self.k = px, py, int(min(k, px.shape[0], py.shape[0]))
        self.engine = engine = mining_engine(engine, px.shape[0], py.shape[0])
        if engine == "exact":
            self.buffer = score_buffer(px, py)
        else:
            self.index_y = InnerProductIndex(
                py.cpu().numpy(), engine, seed=eng.seed, device=eng.device
            )
            self.index_x = InnerProductIndex(
                px.cpu().numpy(), engine, seed=eng.seed, device=eng.device
            )

    def __call__(self, w: torch.Tensor) -> tuple[Lists, Lists]:
        """Candidate lists of x under the map `w` and of y, on the rows' device."""
        if self.engine == "exact":
            return top_k_both_ways(self.px @ w, self.py, self.k, self.buffer)
        # <x w, y> = <x, y w^T> for orthogonal w: each index stays valid under the map
        dev = self.px.device
        fwd = self.index_y.search(self.px @ w, self.k)
        bwd = self.index_x.search(self.py @ w.T, self.k)
        (fv, fi), (bv, bi) = with_reverse_hits(fwd, bwd)  # each search completes the other
        return (fv.to(dev), fi.to(dev)), (bv.to(dev), bi.to(dev))


class SelfLearning(RefitAligner):
    """Self-learning to convergence around a base aligner (module docstring).

    After fit: `n_iter_` (iterations of both phases), `objective_` (its value per iteration),
    `n_pseudo_` (entries of the last dictionary), `mining_engine_` (the kNN engine used).
    `max_iter=0` is the base aligner on the true pairs alone. A base aligner that picks
    parameters on the pairs (semi-CCA's shrinkage) picks them on the true pairs alone
    (`chosen_params_`) and keeps them for the refit on the dictionary.

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
    induction : str
        "soft" (a soft CSLS dictionary with over-relaxed steps, then hard ones) or
        "stochastic" (VecMap's: candidates dropped at random, kept with a probability raised
        from `keep_initial` as the objective stalls).
    mine_dim : int
        Width of the fixed PCA space the dictionary is mined in.
    candidates : int
        Nearest candidates listed per row, both ways, for the dictionary.
    csls_k : int
        Neighbours in CSLS's hubness correction (0: plain cosine).
    temperature : float
        Softness of the soft dictionary's weights.
    momentum : float
        Over-relaxation of the soft phase's Procrustes steps (0: none).
    keep_initial : float
        Stochastic induction: the probability that a candidate is kept, at first.
    keep_multiplier : float
        Stochastic induction: that probability grows by this factor each time the objective
        stalls, up to 1.
    patience : int
        Iterations without an objective gain above `tol` before a phase counts as converged.
    tol : float
        Smallest gain of the objective that counts as progress.
    max_iter : int
        Iterations at most over both phases (0: the base aligner on the true pairs alone).
    max_rows : int
        Pools larger than this are mined on a seeded sample of this many rows a side.
    guard_folds : int
        Folds of the true pairs that check the dictionary beats the pairs alone (0: no check;
        below it the fit falls back to the pairs).
    select_components : int or None
        Width at which the base aligner chooses its own parameters (semi-CCA's shrinkage) on
        the true pairs, when it differs from `n_components`; the refit keeps them.
    knn : str
        Candidate search: "auto", "exact" or a faiss engine (`components.knn`).
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
        induction: str = "soft",
        mine_dim: int = 128,
        candidates: int = 16,
        csls_k: int = 10,
        temperature: float = 0.1,
        momentum: float = 1.0,
        keep_initial: float = 0.1,
        keep_multiplier: float = 2.0,
        patience: int = 5,
        tol: float = 1e-4,
        max_iter: int = 300,
        max_rows: int = MINE_MAX_ROWS,
        guard_folds: int = 0,
        select_components: int | None = None,
        knn: str = "auto",
        seed: int | None = 0,
        device: str = "auto",
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.n_components = n_components
        self.induction = induction
        self.mine_dim = mine_dim
        self.candidates = candidates
        self.csls_k = csls_k
        self.temperature = temperature
        self.momentum = momentum
        self.keep_initial = keep_initial
        self.keep_multiplier = keep_multiplier
        self.patience = patience
        self.tol = tol
        self.max_iter = max_iter
        self.max_rows = max_rows
        self.guard_folds = guard_folds
        self.select_components = select_components
        self.knn = knn
        self.seed = seed
        self.device = device

    def min_pairs(self) -> int:
        return max(2, super().min_pairs())

    def _check(self) -> None:
        checks = (
            (
                self.induction in INDUCTIONS,
                f"induction must be one of {INDUCTIONS}, got {self.induction!r}",
            ),
            (self.mine_dim >= 1, f"mine_dim must be >= 1, got {self.mine_dim}"),
            (self.candidates >= 1, f"candidates must be >= 1, got {self.candidates}"),
            (self.csls_k >= 1, f"csls_k must be >= 1, got {self.csls_k}"),
            (self.temperature > 0.0, f"temperature must be > 0, got {self.temperature}"),
            (self.momentum >= 0.0, f"momentum must be >= 0, got {self.momentum}"),
            (
                0.0 < self.keep_initial <= 1.0,
                f"keep_initial must lie in (0, 1], got {self.keep_initial}",
            ),
            (
                self.keep_multiplier > 1.0,
                f"keep_multiplier must be > 1, got {self.keep_multiplier}",
            ),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (self.tol >= 0.0, f"tol must be >= 0, got {self.tol}"),
            (self.max_iter >= 0, f"max_iter must be >= 0, got {self.max_iter}"),
            (self.max_rows >= 2, f"max_rows must be >= 2, got {self.max_rows}"),
            (
                self.guard_folds == 0 or self.guard_folds >= 2,
                f"guard_folds must be 0 (off) or >= 2, got {self.guard_folds}",
            ),
            (self.knn in INDEX_ENGINES, f"knn must be one of {INDEX_ENGINES}, got {self.knn!r}"),
        )
        for ok, message in checks:
            if not ok:
                raise InputError(message)

    def fit(self, a, b, x=None, y=None) -> SelfLearning:
        self._check()
        a, b, x, y = pairs_and_rows(a, b, x, y)
        if a.shape[0] != b.shape[0]:
            raise InputError(f"paired rows differ in number: {a.shape[0]} and {b.shape[0]}")
        eng = engine_for(self.device, self.seed)
        width = self.select_components or self.n_components
        chooser = fit_aligner(self._base_aligner(width=width), a, b, x, y)
        fixed = getattr(chooser, "chosen_params_", None) or {}
        aligner = chooser if width == self.n_components else None
        self.n_iter_, self.n_pseudo_, self.mining_engine_ = 0, 0, "none"
        self.objective_: list[float] = []
        self.guard_scores_: dict[str, float] = {}
        self.fell_back_ = False
        if self.max_iter > 0:
            xs, ys = self._sample(x, eng.rng(1)), self._sample(y, eng.rng(2))
            if self.guard_folds and a.shape[0] >= 2 * self.guard_folds:
                self.guard_scores_ = self._guard(a, b, x, y, xs, ys, eng, fixed)
                self.fell_back_ = self.guard_scores_["pairs"] >= self.guard_scores_["learned"]
            if not self.fell_back_:
                dx, dy, self.n_iter_, self.objective_ = self._learn(a, b, xs, ys, eng)
                self.n_pseudo_ = int(dx.size)
                aligner = fit_aligner(
                    self._base_aligner(fixed), np.vstack([a, xs[dx]]), np.vstack([b, ys[dy]]), x, y
                )
        self.aligner_ = aligner or fit_aligner(self._base_aligner(fixed), a, b, x, y)
        return self

    def _sample(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rows.shape[0] <= self.max_rows:
            return rows
        return rows[np.sort(rng.choice(rows.shape[0], self.max_rows, replace=False))]

    def _guard(self, a, b, x, y, xs, ys, eng: Engine, fixed: dict) -> dict[str, float]:
        """Mean reciprocal rank of held-out true pairs (`guard_folds` folds, both directions,
        ranked among the mined rows) for self-learning and for the base on the pairs alone."""
        order = eng.rng(5).permutation(a.shape[0])
        scores: dict[str, list[np.ndarray]] = {"learned": [], "pairs": []}
        for held in np.array_split(order, self.guard_folds):
            train = np.setdiff1d(order, held)
            ta, tb = a[train], b[train]
            dx, dy, _, _ = self._learn(ta, tb, xs, ys, eng)
            models = {
                "learned": fit_aligner(
                    self._base_aligner(fixed),
                    np.vstack([ta, xs[dx]]),
                    np.vstack([tb, ys[dy]]),
                    x,
                    y,
                ),
                "pairs": fit_aligner(self._base_aligner(fixed), ta, tb, x, y),
            }
            for name, model in models.items():
                for q, g, mq, mg in ((a[held], ys, "x", "y"), (b[held], xs, "y", "x")):
                    gallery = np.vstack([(b if mg == "y" else a)[held], g])
                    zq, zg = model.transform(q, mq), model.transform(gallery, mg)
                    scores[name].append(reciprocal_ranks(zq, zg, np.arange(len(held))))
        return {k: float(np.concatenate(v).mean()) for k, v in scores.items()}

    def _learn(self, a, b, xs, ys, eng: Engine) -> tuple[np.ndarray, np.ndarray, int, list]:
        """Both phases (module docstring): the last hard dictionary as rows of xs and ys, the
        iterations run and the objective per iteration."""
        dev = eng.device
        tx, ty = to_tensor(xs, dev), to_tensor(ys, dev)
        dim = int(min(self.mine_dim, xs.shape[1], ys.shape[1]))
        mx, my = MiningSpace(tx, dim), MiningSpace(ty, dim)
        px, py = mx(tx), my(ty)
        pa, pb = mx(to_tensor(a, dev)), my(to_tensor(b, dev))
        search = _Searcher(px, py, self.candidates, self.knn, eng)
        self.mining_engine_ = search.engine
        gen = eng.generator(3)
        w = polar(pa.T @ pb)
        keep = 1.0 if self.induction == "soft" else float(self.keep_initial)
        soft = self.induction == "soft"
        objective: list[float] = []
        best, last, it = -np.inf, 0, 0
        rounds = bar(total=self.max_iter, desc="self-learning rounds", unit="round")
        while it < self.max_iter:
            it += 1
            rounds.update(1)
            was_soft = soft
            fwd, bwd = search(w)
            if soft:
                cross, obj = soft_cross(fwd, bwd, px, py, self.csls_k, self.temperature)
            else:
                dx, dy, obj = hard_dictionary(fwd, bwd, self.csls_k, keep, gen)
                cross = px[dx].T @ py[dy]
            objective.append(obj)
            if obj - best > self.tol:
                best, last = obj, it
            elif it - last >= self.patience:  # this stage has converged: on to the next
                if not soft and keep >= 1.0:
                    break
                if soft:
                    soft = False
                else:
                    keep = min(1.0, keep * self.keep_multiplier)
                last = it
            step = polar(pa.T @ pb + cross)
            # over-relaxation speeds up the soft phase's slow, steady climb
            w = polar(step + self.momentum * (step - w)) if was_soft and self.momentum else step
        rounds.close()
        if soft or keep < 1.0 or it == self.max_iter:  # stopped before the hard phase ended
            dx, dy, _ = hard_dictionary(*search(w), self.csls_k)
        return dx, dy, it, objective
