"""Checks of what a fit produced, before it is saved or used."""

import numpy as np
import pytest

from sue_framework import NumericalError, WeaklyPairedData
from sue_framework.validation import check_fitted_outputs


class _Fixed:
    """A stand-in fitted method: x rows map to themselves, y rows to NaN from row `bad` on."""

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def transform(self, rows, modality):
        out = np.array(rows, dtype=np.float64)
        if modality == "y":
            out[self.bad :] = np.nan
        return out


def test_a_model_that_gives_nan_is_refused_naming_the_side():
    rng = np.random.default_rng(0)
    data = WeaklyPairedData(rng.normal(size=(50, 3)), rng.normal(size=(40, 3)), [[0, 0], [1, 1]])
    check_fitted_outputs(_Fixed(bad=40), data, "m")  # all 40 y rows finite: nothing to refuse
    with pytest.raises(NumericalError, match=r"fitted m on y produced NaN or inf in 2 of 40"):
        check_fitted_outputs(_Fixed(bad=38), data, "m")
    check_fitted_outputs(_Fixed(bad=38), data, "m", rows=38)  # only the rows it was asked to check
