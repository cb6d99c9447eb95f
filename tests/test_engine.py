import numpy as np
import pytest
import torch

from sue_framework import InputError
from sue_framework.engine import auto_chunk, resolve_device, row_chunks, seed_everything


def test_auto_device_matches_cuda_availability():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_request_without_cuda_is_clear():
    with pytest.raises(InputError, match="no CUDA device"):
        resolve_device("cuda")


def test_seed_everything_repeats():
    g1 = seed_everything(5)
    a = (np.random.rand(), torch.rand(1, generator=g1).item())  # noqa: NPY002
    g2 = seed_everything(5)
    b = (np.random.rand(), torch.rand(1, generator=g2).item())  # noqa: NPY002
    assert a == b


def test_row_chunks_cover_exactly():
    covered = np.concatenate([np.arange(10)[s] for s in row_chunks(10, 3)])
    assert np.array_equal(covered, np.arange(10))
    assert auto_chunk(10**9) >= 1
