import inspect
import warnings

import pytest
from sklearn.base import clone

from sue_framework.components.aligners import CCA
from sue_framework.keywords import keyword_only


def test_settings_after_the_first_by_position_still_work_for_a_release_with_a_warning():
    with pytest.warns(FutureWarning, match=r"CCA: give reg, device by keyword"):
        old = CCA(3, 0.5, "cpu")
    assert (old.n_components, old.reg, old.device) == (3, 0.5, "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = CCA(3, reg=0.5, device="cpu")
    assert new.get_params() == old.get_params()


def test_the_signature_is_keyword_only_so_scikit_learn_sees_the_same_parameters():
    params = inspect.signature(CCA).parameters
    assert params["n_components"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert params["reg"].kind is inspect.Parameter.KEYWORD_ONLY
    twin = clone(CCA(4, reg=0.2))
    assert twin.get_params() == {"n_components": 4, "reg": 0.2, "device": "auto"}


def test_positional_misuse_is_refused():
    class Thing:
        @keyword_only
        def __init__(self, a, *, b=1, c=2):
            self.a, self.b, self.c = a, b, c

    with pytest.raises(TypeError, match="at most 3 settings, got 4 by position"):
        Thing(1, 2, 3, 4)
    with pytest.raises(TypeError, match=r"got \['b'\] by position and by name"):
        Thing(1, 2, b=5)
