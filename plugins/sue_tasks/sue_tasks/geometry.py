"""Geometry of the shared space: semantic arithmetic and the modality gap (paper App. B)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from sue_framework.errors import InputError
from sue_framework.interfaces import Task, TaskInput
from sue_framework.validation import as_matrix
from sue_tasks.classification import cosine_matrix


class ArithmeticTask(Task):
    """Sum embeddings (from either modality) and look up the nearest gallery rows by cosine.

    `terms` is a list of (q, d) arrays added row-wise (scale one by -1 to subtract). With
    `targets` (one gallery index per query), hit@k in percent is reported too.

    Parameters
    ----------
    k : int
        How many nearest gallery rows are returned per query (and the k of hit@k).
    """

    inputs = {
        "terms": TaskInput("embedding", "rows whose embeddings are summed, a file each", many=True),
        "gallery": TaskInput("embedding", "rows searched for the sums' neighbours"),
        "targets": TaskInput("array", "the gallery index each sum should find", required=False),
    }

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def evaluate(
        self, terms: Sequence[np.ndarray], gallery: np.ndarray, targets: object = None, **_: object
    ) -> dict:
        if not terms:
            raise InputError("arithmetic needs at least one term")
        mats = [as_matrix(t, f"term {i}") for i, t in enumerate(terms)]
        if len({m.shape for m in mats}) != 1:
            raise InputError(f"every term must have one shape, got {[m.shape for m in mats]}")
        g = as_matrix(gallery, "gallery")
        q = np.sum(mats, axis=0)
        k = min(self.k, g.shape[0])
        top = np.argsort(-cosine_matrix(q, g), axis=1)[:, :k]
        out: dict = {"neighbours": top.tolist()}
        if targets is not None:
            t = np.asarray(targets).reshape(-1)
            if t.shape[0] != q.shape[0]:
                raise InputError("targets needs one gallery index per query")
            out[f"hit@{k}"] = float(100.0 * np.mean([t[i] in top[i] for i in range(len(t))]))
        return out


class ModalityGapTask(Task):
    """Distance between the two modalities' centroids (relative to their mean spread) and how
    well a linear classifier tells the modalities apart (5-fold accuracy; 50 % = no gap)."""

    inputs = {
        "zx": TaskInput("embedding", "x rows", "x"),
        "zy": TaskInput("embedding", "y rows", "y"),
    }

    def evaluate(self, zx: np.ndarray, zy: np.ndarray, **_: object) -> dict:
        zx, zy = as_matrix(zx, "zx"), as_matrix(zy, "zy")
        if zx.shape[1] != zy.shape[1]:
            raise InputError("both modalities must live in one space (same number of columns)")
        gap = float(np.linalg.norm(zx.mean(0) - zy.mean(0)))
        spread = float(
            0.5
            * (
                np.linalg.norm(zx - zx.mean(0), axis=1).mean()
                + np.linalg.norm(zy - zy.mean(0), axis=1).mean()
            )
        )
        z = np.vstack([zx, zy])
        side = np.r_[np.zeros(len(zx)), np.ones(len(zy))]
        folds = int(min(5, len(zx), len(zy)))
        acc = (
            cross_val_score(LogisticRegression(max_iter=1000), z, side, cv=folds).mean()
            if folds >= 2
            else np.nan
        )
        return {
            "centroid_distance": gap,
            "relative_gap": gap / max(spread, 1e-12),
            "linear_separability": float(100.0 * acc),
        }
