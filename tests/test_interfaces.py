"""The shared mechanics of the base classes: nested state and fitted checks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sue_framework import NotFittedError, registry
from sue_framework.data import WeaklyPairedData
from sue_framework.interfaces import Component, Method, nest_state, unnest_state

names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=6)


@given(st.dictionaries(names, st.integers(), max_size=5), names, names)
def test_nested_state_comes_back_whole_and_apart_from_its_siblings(state, a, b):
    arrays = {k: np.asarray(v) for k, v in state.items()}
    both = {**nest_state(a, arrays), **nest_state(a + "x", {"other": np.zeros(1)})}
    back = unnest_state(a, both)
    assert back.keys() == arrays.keys()
    assert all(np.array_equal(back[k], arrays[k]) for k in arrays)


def test_a_method_is_a_component_that_knows_whether_it_is_fitted():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.normal(size=(60, 4))
    model = registry.build("method", "pair_cca", {"out_dim": 2, "device": "cpu"})
    assert isinstance(model, Method) and isinstance(model, Component)
    assert not model.is_fitted()
    with pytest.raises(NotFittedError):
        model.get_state()
    model.fit(WeaklyPairedData(x, y, np.stack([np.arange(20)] * 2, 1)))
    assert model.is_fitted() and "aligner.weights_x_" in model.get_state()


def test_the_fitted_width_travels_with_the_state_and_older_states_still_load():
    from sue_framework.components.pca import PCA

    x = np.random.default_rng(0).normal(size=(40, 6))
    pca = PCA(n_components=2, device="cpu").fit(x)
    state = pca.get_state()
    assert pca.n_features_in_ == 6 and int(state["n_features_in_"]) == 6
    back = PCA(n_components=2, device="cpu")
    back.set_state(state)
    assert back.n_features_in_ == 6
    older = PCA(n_components=2, device="cpu")  # a file written before the width was recorded
    older.set_state({k: v for k, v in state.items() if k != "n_features_in_"})
    assert not hasattr(older, "n_features_in_")
    np.testing.assert_array_equal(older.transform(x), pca.transform(x))
