"""Block-wise transform of a .npy into a .npy (inputs larger than memory)."""

import numpy as np
import pytest

from sue_framework import InputError, WeaklyPairedData, registry
from sue_framework.cli import main
from sue_framework.io.model_files import save_method
from sue_framework.io.npy_transform import transform_file


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 6)), rng.normal(size=(180, 5))
    data = WeaklyPairedData(x, y, np.stack([np.arange(30)] * 2, 1))
    params = {"se_dim": 4, "out_dim": 3, "device": "cpu", "matcher_params": {"epochs": 2}}
    return registry.build("method", "sue", params).fit(data)


class Watch:
    """The fitted model, recording the blocks it is handed."""

    def __init__(self, model, fail_at=None):
        self.model, self.blocks, self.fail_at = model, [], fail_at

    def transform(self, rows, modality):
        self.blocks.append((type(rows), rows.shape[0]))
        if self.fail_at is not None and len(self.blocks) == self.fail_at:
            raise RuntimeError("disk full")
        return self.model.transform(rows, modality)


def test_blocks_equal_the_whole_and_never_hold_more_than_a_block(fitted, tmp_path):
    rows = np.random.default_rng(1).normal(size=(101, 6)).astype(np.float32)
    np.save(tmp_path / "in.npy", rows)
    watch = Watch(fitted)
    assert transform_file(watch, tmp_path / "in.npy", "x", tmp_path / "out.npy", 16) == (101, 3)
    assert [n for _, n in watch.blocks] == [16] * 6 + [5]
    assert all(t is np.ndarray for t, _ in watch.blocks)  # one block copied in at a time
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), fitted.transform(rows, "x"),
                               rtol=1e-5, atol=1e-6)  # fmt: skip


def test_a_failure_midway_leaves_no_output(fitted, tmp_path):
    np.save(tmp_path / "in.npy", np.ones((40, 6), dtype=np.float32))
    (tmp_path / "out.npy").write_bytes(b"the old file")
    with pytest.raises(RuntimeError, match="disk full"):
        transform_file(Watch(fitted, fail_at=2), tmp_path / "in.npy", "x", tmp_path / "out.npy", 16)
    assert (tmp_path / "out.npy").read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "out.npy"]
    with pytest.raises(InputError, match="reads and writes .npy files"):
        transform_file(fitted, tmp_path / "in.npy", "x", tmp_path / "out.csv")


def test_sue_transform_goes_block_by_block_on_npy(fitted, tmp_path, capsys):
    rows = np.random.default_rng(2).normal(size=(50, 5)).astype(np.float32)
    np.save(tmp_path / "y.npy", rows)
    model = save_method(fitted, tmp_path / "m.sue")
    args = ["transform", "--model", str(model), "--modality", "y", "--block-rows", "7",
            "--input", str(tmp_path / "y.npy"), "--out", str(tmp_path / "z.npy")]  # fmt: skip
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(tmp_path / "z.npy"), fitted.transform(rows, "y"),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
