"""The contrastive baseline tuned by pair cross-validation, with the same machinery and about the
same budget as `auto` (`CVSelect`: 5 folds, paired one-standard-error rule)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sue_framework.keywords import keyword_only
from sue_framework.model_selection.cv_select import Candidate, CVSelect


class ContrastiveCV(CVSelect):
    """`contrastive` with its width, temperature and weight decay chosen by pair CV.

    Every setting trains at most `epochs` epochs with early stopping on a held-out share of its
    training pairs (`val_fraction`, `patience`), so the epoch count is chosen from the data too.
    Candidates are listed narrowest, coolest and least regularised first, which is the order
    ties go in. Folds run one after another (`n_jobs=1`): network initialisation goes through
    torch's global generator, which threads would share.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths tried.
    temperatures : sequence of float
        Initial temperatures tried.
    weight_decays : sequence of float
        Weight decays tried.
    out_dim : int
        Dimensions of the shared space.
    epochs : int
        Passes over the pairs at most, per setting.
    val_fraction : float
        Share of each fit's training pairs held out for early stopping.
    patience : int
        Epochs without a lower held-out loss before stopping.
    folds : int
        Folds of the pairs for the choice.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    seed : int or None
        Seeds initialisation and minibatches; None draws a fresh seed.
    """

    @keyword_only
    def __init__(
        self,
        widths: Sequence[int] = (256, 1024),
        *,
        temperatures: Sequence[float] = (0.07, 0.2),
        weight_decays: Sequence[float] = (1e-4, 1e-2),
        out_dim: int = 32,
        epochs: int = 300,
        val_fraction: float = 0.2,
        patience: int = 30,
        folds: int = 5,
        device: str = "auto",
        seed: int | None = 0,
    ) -> None:
        self.widths = widths
        self.temperatures = temperatures
        self.weight_decays = weight_decays
        self.out_dim = out_dim
        self.epochs = epochs
        self.val_fraction = val_fraction
        self.patience = patience
        super().__init__(candidates=(), folds=folds, n_jobs=1, device=device, seed=seed)

    def _candidates(self, n_pairs: int, width: int) -> list[Candidate]:
        fixed = {
            "out_dim": self.out_dim,
            "epochs": self.epochs,
            "val_fraction": self.val_fraction,
            "patience": self.patience,
        }
        return [
            ("contrastive", {**fixed, "hidden": (int(w),), "temperature": t, "weight_decay": wd})
            for w, t, wd in itertools.product(self.widths, self.temperatures, self.weight_decays)
        ]
