"""Cross-modal retrieval on a paired test set: row i of one side matches row i of the other.

The core ships it (registered as the task "retrieval"): experiments and `sue evaluate` use it by
default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.interfaces import Task, TaskInput
from sue_framework.keywords import keyword_only
from sue_framework.model_selection.ranking import target_ranks
from sue_framework.runtime.engine import engine_for, row_chunks, to_tensor
from sue_framework.validation import as_matrix


def true_match_ranks(
    queries: np.ndarray, gallery: np.ndarray, *, device: str = "auto"
) -> np.ndarray:
    """0-based rank of gallery[i] for query i under cosine similarity (the core's one ranking
    rule, `sue_framework.model_selection.ranking`: ties count against the query), computed in
    row blocks.

    Parameters
    ----------
    queries, gallery : ndarray
        Embedded rows; query i's true match is gallery row i.
    device : str
        Where the similarities are computed.
    """
    q, g = as_matrix(queries, "queries"), as_matrix(gallery, "gallery")
    if q.shape != g.shape:
        raise InputError(
            f"retrieval needs paired sets of equal shape (row i matches row i), "
            f"got {q.shape} and {g.shape}"
        )
    return target_ranks(q, g, device=device)


def recall_at_k(ranks: np.ndarray, ks: Sequence[int]) -> dict[int, float]:
    """Percentage of queries whose true match is among the top k.

    Parameters
    ----------
    ranks : ndarray
        0-based ranks of the true matches.
    ks : sequence of int
        The k of each recall.
    """
    return {int(k): float(100.0 * np.mean(ranks < k)) for k in ks}


def class_precision_at_k(
    queries: np.ndarray,
    gallery: np.ndarray,
    q_labels: np.ndarray,
    g_labels: np.ndarray,
    k: int,
    *,
    device: str = "auto",
) -> float:
    """Mean fraction (percent) of each query's top-k gallery rows that share its label.

    Parameters
    ----------
    queries, gallery : ndarray
        Embedded rows.
    q_labels, g_labels : ndarray
        Each row's class.
    k : int
        How many retrieved rows count.
    device : str
        Where the similarities are computed.
    """
    eng = engine_for(device)
    dev = eng.device
    qt = torch.nn.functional.normalize(to_tensor(as_matrix(queries, "queries"), dev), dim=1)
    gt = torch.nn.functional.normalize(to_tensor(as_matrix(gallery, "gallery"), dev), dim=1)
    gl = torch.as_tensor(np.asarray(g_labels), device=dev)
    ql = torch.as_tensor(np.asarray(q_labels), device=dev)
    k = min(k, gt.shape[0])
    hits = 0.0
    for sl in row_chunks(qt.shape[0], eng.chunk(gt.shape[0])):
        top = torch.topk(qt[sl] @ gt.T, k, dim=1).indices
        hits += float((gl[top] == ql[sl][:, None]).float().sum())
    return 100.0 * hits / (qt.shape[0] * k)


class RetrievalTask(Task):
    """Cross-modal retrieval in both directions, x->y and y->x, with cosine similarity.

    Recall@k (percent), the median rank of the true match (1 = first) and mAP, which with one
    relevant item per query is the mean reciprocal rank. With labels for both sides, also the
    class-level precision@k: the share of the top k that belong to the query's class.

    Parameters
    ----------
    ks : sequence of int
        The k of each recall@k (and class precision@k) reported.
    device : str
        Where the similarities are computed.
    """

    inputs = {
        "zx": TaskInput("embedding", "x rows, row i pairs with row i of zy", "x"),
        "zy": TaskInput("embedding", "y rows", "y"),
        "labels_x": TaskInput("labels", "class of each x row (for class P@k)", required=False),
        "labels_y": TaskInput("labels", "class of each y row (for class P@k)", required=False),
    }
    paired_rows = (("zx", "zy"), ("zx", "labels_x"), ("zy", "labels_y"))

    @keyword_only
    def __init__(self, ks: Sequence[int] = (1, 5, 10), *, device: str = "auto") -> None:
        self.ks = tuple(int(k) for k in ks)
        self.device = device

    def evaluate(
        self,
        zx: np.ndarray,
        zy: np.ndarray,
        labels_x: object = None,
        labels_y: object = None,
        **_: object,
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, q, g in (("x2y", zx, zy), ("y2x", zy, zx)):
            ranks = true_match_ranks(q, g, device=self.device)
            for k, v in recall_at_k(ranks, self.ks).items():
                out[f"{name}_R@{k}"] = v
            out[f"{name}_median_rank"] = float(np.median(ranks + 1))
            out[f"{name}_mAP"] = float(np.mean(1.0 / (ranks + 1)))
        if labels_x is not None and labels_y is not None:
            lx, ly = np.asarray(labels_x), np.asarray(labels_y)
            if lx.shape != (len(zx),) or ly.shape != (len(zy),):
                raise InputError("labels_x and labels_y need one label per row of zx and zy")
            for k in self.ks:
                out[f"x2y_class_P@{k}"] = class_precision_at_k(
                    zx, zy, lx, ly, k, device=self.device
                )
                out[f"y2x_class_P@{k}"] = class_precision_at_k(
                    zy, zx, ly, lx, k, device=self.device
                )
        return out
