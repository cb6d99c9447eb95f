"""The caller's seed and device reach every method it builds, and a method's own parameters
may not contradict them: the CLI, experiments and auto refuse alike."""

import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.cli import main
from sue_framework.experiment import ExperimentConfig, MethodSpec
from sue_framework.model_selection.cv_select import CVSelect
from sue_framework.runtime.settings import merged_settings, with_policy
from tests.conftest import two_view_blobs


def test_the_policy_is_added_and_a_contradiction_refused():
    assert with_policy({"out_dim": 4}, "p", "q", seed=1, device="cpu") == {
        "seed": 1,
        "device": "cpu",
        "out_dim": 4,
    }
    with pytest.raises(InputError, match=r"--params sets seed=5, .* use --seed"):
        with_policy({"seed": 5}, "--params", "--seed", seed=0, device="cpu")


def test_the_one_merge_fills_what_is_unset_and_refuses_contradictions():
    own = {"n_components": 4, "seed": 1}
    caller = {"n_components": 8, "seed": 1, "device": "cpu", "other": 3}
    takes = {"n_components", "seed", "device"}
    # unset and accepted settings are filled in; the stage's own settings stay
    assert merged_settings(own, caller, "s", accepted=takes) == {"device": "cpu"}
    assert merged_settings(own, caller, "s") == {"device": "cpu", "other": 3}
    # a setting the caller chose on purpose may be repeated, not contradicted
    assert merged_settings(own, caller, "s", accepted=takes, explicit={"seed": "seed"}) == {
        "device": "cpu"
    }
    with pytest.raises(InputError, match="aligner 'cca' sets n_components=4 but the pipeline's "
                                         "out_dim=8"):  # fmt: skip
        merged_settings(own, caller, "aligner 'cca'", explicit={"n_components": "out_dim"})
    # one the caller owns may not be set at all, not even to the caller's value
    with pytest.raises(InputError, match=r"--params sets seed=1, which the caller .* use --seed"):
        merged_settings(own, caller, "--params", owned={"seed": "--seed"})


def test_every_entry_point_refuses_a_seed_in_a_method_s_parameters(tmp_path, capsys):
    x, y, _ = two_view_blobs(200, seed=1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "p.csv").write_text("\n".join(f"{i},{i}" for i in range(30)))
    args = ["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--pairs",
            str(tmp_path / "p.csv"), "--out", str(tmp_path / "m.sue"), "--method", "pair_cca",
            "--params", '{"seed": 3}']  # fmt: skip
    assert main(args) == 2
    assert "--params sets seed=3, which the caller decides" in capsys.readouterr().err
    with pytest.raises(InputError, match="method 'CCA' sets device='cuda'"):
        ExperimentConfig(name="g", methods=(MethodSpec("CCA", "pair_cca", {"device": "cuda"}),),
                         pairs=(20,))  # fmt: skip
    from sue_framework import WeaklyPairedData

    data = WeaklyPairedData(x, y, np.stack([np.arange(30)] * 2, 1))
    with pytest.raises(InputError, match="candidate 'pair_cca' sets seed=3"):
        CVSelect(candidates=[("pair_cca", {"seed": 3})], device="cpu").fit(data)
