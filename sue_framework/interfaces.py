"""The contracts every component honours, built-in or plugin.

Fittable components follow scikit-learn's estimator contract (parameters stored verbatim in
``__init__``, fitted state in attributes ending in ``_``, get_params / set_params / clone work).
``get_state`` / ``set_state`` expose the fitted state as plain arrays so that model files hold
tensors and JSON only, never pickle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from sue_framework.errors import InputError, NotFittedError
from sue_framework.validation import as_matrix

MODALITIES = ("x", "y")


def check_modality(modality: str) -> str:
    """`modality` if it is "x" or "y", else an InputError.

    Parameters
    ----------
    modality : str
        "x" or "y".
    """
    if modality not in MODALITIES:
        raise InputError(f"modality must be 'x' or 'y', got {modality!r}")
    return modality


def nest_state(prefix: str, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A part's state under `prefix.` (how a component stores the parts it owns).

    Parameters
    ----------
    prefix : str
        The part's name.
    state : dict of str to ndarray
        The part's state.
    """
    return {f"{prefix}.{k}": np.asarray(v) for k, v in state.items()}


def unnest_state(prefix: str, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The part of `state` stored under `prefix.`, with the prefix removed.

    Parameters
    ----------
    prefix : str
        The part's name.
    state : dict of str to ndarray
        A whole component's state.
    """
    head = prefix + "."
    return {k[len(head) :]: v for k, v in state.items() if k.startswith(head)}


class Component(BaseEstimator, ABC):
    """Base of the fittable components. Subclasses list their fitted arrays in `_state_keys`."""

    _state_keys: tuple[str, ...] = ()

    def get_state(self) -> dict[str, np.ndarray]:
        """Fitted state as named arrays (see `set_state`), with `n_features_in_` when set."""
        self._check_fitted()
        state = {k: np.asarray(getattr(self, k)) for k in self._state_keys}
        if hasattr(self, "n_features_in_"):
            state["n_features_in_"] = np.asarray(self.n_features_in_, dtype=np.int64)
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore the state `get_state` returned, on an instance built with the same params."""
        missing = [k for k in self._state_keys if k not in state]
        if missing:
            raise KeyError(f"{type(self).__name__} state lacks {missing}")
        for k in self._state_keys:
            setattr(self, k, state[k])
        if "n_features_in_" in state:  # absent in files written before it was recorded
            self.n_features_in_ = int(np.asarray(state["n_features_in_"]))

    def _fit_rows(self, X: Any, name: str = "X") -> np.ndarray:
        """Training rows as a checked float matrix; records `n_features_in_` (scikit-learn's
        name for the width `transform` then expects)."""
        X = as_matrix(X, name)
        self.n_features_in_ = int(X.shape[1])
        return X

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return all(hasattr(self, k) for k in self._state_keys)

    def __sklearn_is_fitted__(self) -> bool:
        return self.is_fitted()

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")


class GraphBuilder(Component):
    """Builds a sparse symmetric affinity graph over one modality and extends it to new points."""

    @abstractmethod
    def fit(self, X: np.ndarray) -> GraphBuilder:
        """Build `affinity_`, a scipy.sparse CSR (n, n) symmetric matrix with O(n k) entries."""

    @abstractmethod
    def query(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Affinities of new rows to the training nodes.

        Returns (indices (q, k) int, weights (q, k) float, match (q,) int) where `match` holds the
        training row a query duplicates exactly, or -1.
        """


class SpectralSolver(TransformerMixin, Component):
    """Maps one modality to its k leading non-trivial random-walk eigenvectors, ordered.

    A scikit-learn transformer: `fit(X, y=None)`, `transform`, `fit_transform`,
    `n_features_in_`; `tests/components/test_sklearn_contract.py` runs `check_estimator`."""

    n_components: int

    @abstractmethod
    def fit(self, X: np.ndarray, y: None = None) -> SpectralSolver:
        """Learn the embedding; sets `eigenvalues_` (k,) and `embedding_` (n, k)."""

    @abstractmethod
    def transform(self, X: np.ndarray) -> np.ndarray:
        """(n, k) spectral embedding of any rows, training or new."""

    def passes_rows_through(self) -> bool:
        """Whether `transform` returns the rows as float32, unchanged (a later linear map is
        then the whole model's)."""
        return False

    def torch_module(self) -> Any:
        """A torch module computing `transform` on float32 rows (for ONNX export), or None
        where the solver has none (the default: the exact solver's extension searches its
        training rows)."""
        return None

    def fit_transform(self, X: np.ndarray, y: None = None) -> np.ndarray:
        return self.fit(X).embedding_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # float32 is the compute type
        return tags


class Aligner(Component):
    """Learns linear maps of each modality into a shared r-dim space from paired rows only."""

    n_components: int

    def min_pairs(self) -> int:
        """How many pairs `fit` needs (CCA: one more than its output dimension)."""
        return int(self.n_components) + 1

    @abstractmethod
    def fit(self, a: np.ndarray, b: np.ndarray) -> Aligner:
        """Fit on paired rows: a[i] (modality x) corresponds to b[i] (modality y)."""

    @abstractmethod
    def transform(self, X: np.ndarray, modality: str) -> np.ndarray:
        """Map rows of `modality` into the aligned space."""

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        """The fitted map of `modality` as arrays, when `transform` computes exactly
        scale * (X - mean) @ matrix (`linear_map.centred_product`): {"mean", "scale",
        "matrix"}; None otherwise (the default).

        Parameters
        ----------
        modality : str
            "x" or "y".
        """
        return None


class DistributionMatcher(Component):
    """Moves one modality's distribution onto the other's using unpaired rows only."""

    moving: str

    @abstractmethod
    def fit(self, target: np.ndarray, moving: np.ndarray) -> DistributionMatcher:
        """Learn a map that brings rows of `moving` onto the distribution of `target`."""

    @abstractmethod
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Apply the learned map to rows of the moving modality."""

    def passes_rows_through(self) -> bool:
        """Whether `transform` returns the moving rows unchanged (no matching)."""
        return False

    def torch_module(self) -> Any:
        """A torch module computing `transform` on float32 rows (for ONNX export), or None
        where the matcher has none (the default)."""
        return None


class Method(Component):
    """A whole pipeline or baseline: fit on weakly paired data, embed either modality.

    A `Component` like the stages: parameters in ``__init__``, state as named arrays through
    `get_state` / `set_state` (usually the stages' states, nested with `nest_state`)."""

    def is_fitted(self) -> bool:
        """scikit-learn's rule: fit has set an attribute ending in "_" (or every `_state_keys`)."""
        if self._state_keys:
            return super().is_fitted()
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))

    @abstractmethod
    def fit(self, data: Any) -> Method:
        """Fit on a `WeaklyPairedData`."""

    @abstractmethod
    def transform(self, X: Any, modality: str = "x") -> np.ndarray:
        """Embed rows of `modality` into the shared space."""

    def score(self, data: Any, y: None = None) -> float:
        """Mean reciprocal rank (0-1, higher is better) of `data`'s pairs, both directions, each
        ranked against every row of the other side (`selection.pair_scores`). With
        `data.PairView` this is the score `GridSearchCV` and `cross_val_score` use."""
        from sue_framework.model_selection.selection import pair_scores

        return float(pair_scores(self, data).mean())

    def save(self, path: Any) -> Any:
        """Write a model file (safetensors + JSON manifest, no pickle); `model_files.load_method`
        reads it back. The method must be registered and give `get_state` / `set_state`."""
        from sue_framework.io.model_files import save_method

        return save_method(self, path)


@dataclass(frozen=True)
class TaskInput:
    """One named input of a task.

    Parameters
    ----------
    kind : str
        "embedding" (rows that the fitted model embeds first), "labels" (one class label per
        row) or "array" (numbers used as they are).
    help : str
        What the input is, for messages and `sue evaluate --help`.
    modality : str, optional
        An embedding's default side, "x" or "y" (None: whoever supplies it must say).
    required : bool
        Whether the task refuses to run without it.
    many : bool
        A list of such inputs rather than one.
    """

    kind: str
    help: str
    modality: str | None = None
    required: bool = True
    many: bool = False


class Task(ABC):
    """A downstream evaluation producing named figures.

    `inputs` names every keyword `evaluate` takes, so that any caller (the CLI, the experiment
    runner) can supply them without knowing the task. `evaluate` returns figures by name: float
    values are figures (experiments tabulate them); other JSON values (lists) are details that
    are printed but not tabulated. `paired_rows` names inputs whose row i belong together
    (retrieval's zx and zy), so that callers can check their files before embedding them.
    """

    inputs: ClassVar[dict[str, TaskInput]] = {}
    paired_rows: ClassVar[tuple[tuple[str, str], ...]] = ()

    @abstractmethod
    def evaluate(self, *args: Any, **inputs: Any) -> dict[str, Any]:
        """Figures (floats) and details (lists) by name."""


class Dataset(ABC):
    """A fully paired set of two modalities: row i of x and row i of y are a true pair.

    Parameters are keyword arguments of the constructor; `load` does the work (reading files,
    encoding through an encoder and its cache), so building one is cheap.
    """

    @abstractmethod
    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(x (n, d1), y (n, d2)) float arrays with x[i] <-> y[i]."""

    def unpaired(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows of x and of y that have no partner, added to every training split as unpaired
        rows (never tested on); None when the data set has none."""
        return None

    def labels(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The class of each row that `load` returned, for x and for y (labelled sets: class
        folders, Office-31); None when the data set has no classes. Experiments hand a task the
        labels of its test rows as ``labels_x`` / ``labels_y``."""
        return None

    def task_inputs(self) -> dict[str, np.ndarray]:
        """Further task inputs by `Task.inputs` name, beyond the test rows and their labels:
        e.g. ``zy``, the encoded class prompts of a zero-shot set. Inputs of kind "embedding"
        are rows in the encoder's space; the fitted model embeds them first."""
        return {}


class Encoder(ABC):
    """Turns raw items (texts, images, ...) into an (n, d) float32 array."""

    @abstractmethod
    def encode(self, items: Any) -> np.ndarray:
        """Embed `items`."""
