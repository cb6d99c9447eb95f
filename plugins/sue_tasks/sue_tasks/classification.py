"""Classification in the shared space: zero-shot (paper App. A.2), cross-domain kNN (A.3)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix
from sklearn.neighbors import KNeighborsClassifier

from sue_framework.errors import InputError
from sue_framework.interfaces import Task, TaskInput
from sue_framework.validation import as_matrix


def class_prompts(classes: list[str], template: str = "A photo of a {}") -> list[str]:
    """The texts a text encoder embeds for zero-shot classification, one per class.

    Parameters
    ----------
    classes : list of str
        Class names.
    template : str
        The prompt, with "{}" for the class name.
    """
    if "{}" not in template:
        raise InputError(f"the prompt template needs a '{{}}' for the class name, got {template!r}")
    return [template.format(c) for c in classes]


def _labels(labels: object, n: int, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise InputError(f"{name} must have one label per row ({n}), got shape {arr.shape}")
    return arr


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of a to every row of b.

    Parameters
    ----------
    a, b : ndarray
        Rows to compare.
    """
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


class ZeroShotTask(Task):
    """Each row of `zx` (e.g. images) takes the class whose prompt embedding in `zy` is most
    cosine-similar. `zy` holds one universal embedding per class, in class order (embed
    `class_prompts(classes)` with the text encoder, then the fitted model)."""

    inputs = {
        "zx": TaskInput("embedding", "rows to classify", "x"),
        "zy": TaskInput("embedding", "one embedded class prompt per class, in class order", "y"),
        "labels_x": TaskInput("labels", "the true class index of each row of zx"),
    }

    def evaluate(
        self, zx: np.ndarray, zy: np.ndarray, labels_x: object = None, **_: object
    ) -> dict:
        zx, zy = as_matrix(zx, "zx"), as_matrix(zy, "class embeddings")
        if zx.shape[1] != zy.shape[1]:
            raise InputError(f"zx has {zx.shape[1]} columns, the class embeddings {zy.shape[1]}")
        if labels_x is None:
            raise InputError("zero-shot needs labels_x: the true class index of each row of zx")
        y_true = _labels(labels_x, zx.shape[0], "labels_x")
        pred = cosine_matrix(zx, zy).argmax(1)
        cm = confusion_matrix(y_true, pred, labels=np.arange(zy.shape[0]))
        return {
            "accuracy": float(100.0 * np.mean(pred == y_true)),
            "confusion": cm.tolist(),
            "predictions": pred.tolist(),
        }


class CrossDomainTask(Task):
    """kNN classifier (cosine, k = 5 as in the paper) fit on one modality's universal embeddings
    with labels and tested on the other's, in both directions; accuracy in percent.

    Parameters
    ----------
    n_neighbors : int
        k of the kNN classifier (5 as in the paper).
    """

    inputs = {
        "zx": TaskInput("embedding", "x rows", "x"),
        "zy": TaskInput("embedding", "y rows", "y"),
        "labels_x": TaskInput("labels", "class of each x row"),
        "labels_y": TaskInput("labels", "class of each y row"),
    }

    def __init__(self, n_neighbors: int = 5) -> None:
        self.n_neighbors = n_neighbors

    def evaluate(
        self,
        zx: np.ndarray,
        zy: np.ndarray,
        labels_x: object = None,
        labels_y: object = None,
        **_: object,
    ) -> dict:
        zx, zy = as_matrix(zx, "zx"), as_matrix(zy, "zy")
        if labels_x is None or labels_y is None:
            raise InputError("cross-domain classification needs labels_x and labels_y")
        lx, ly = (
            _labels(labels_x, zx.shape[0], "labels_x"),
            _labels(labels_y, zy.shape[0], "labels_y"),
        )
        out = {}
        for name, (a, la, b, lb) in {"x2y": (zx, lx, zy, ly), "y2x": (zy, ly, zx, lx)}.items():
            k = min(self.n_neighbors, a.shape[0])
            clf = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(a, la)
            out[f"{name}_accuracy"] = float(100.0 * np.mean(clf.predict(b) == lb))
        return out
