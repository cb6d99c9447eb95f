"""Model cards and sharing: a folder round trip, the Hub upload (a stand-in API), offline."""

import numpy as np
import pytest

from sue_framework import ModelFileError, WeaklyPairedData, registry
from sue_framework.cli import main
from sue_framework.io.hub import export_folder, from_hub, model_card, push_to_hub
from sue_framework.io.model_files import save_method


def _data():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 6)), rng.normal(size=(100, 5))
    return WeaklyPairedData(x, y, np.stack([np.arange(30)] * 2, 1))


def test_a_model_round_trips_through_a_folder_with_its_card(tmp_path):
    data = _data()
    params = {"se_dim": 4, "out_dim": 3, "device": "cpu", "matcher_params": {"epochs": 2}}
    model = registry.build("method", "sue", params).fit(data)
    folder = export_folder(model, tmp_path / "shared")
    back = from_hub(folder)
    np.testing.assert_array_equal(back.transform(data.y, "y"), model.transform(data.y, "y"))
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: sue_framework")
    assert "x: 120 rows of 6 features" in card and "pairs: 30" in card
    # the exact solver keeps its training rows for the Nystrom extension: the card says so
    assert "**Copies of input rows**" in card and "`solver_x.graph.train_` (120 x 6)" in card
    assert back.training_ == data.summary()


def test_the_card_of_a_choosing_method_shows_its_scores_and_no_rows(tmp_path):
    model = registry.build("method", "pair_cca", {"out_dim": 3, "device": "cpu"}).fit(_data())
    card = model_card(save_method(model, tmp_path / "m.sue"))
    assert "No array in the file is a copy of the training rows." in card
    auto = registry.build("method", "auto", {"device": "cpu"}).fit(_data())
    card = model_card(save_method(auto, tmp_path / "a.sue"))
    assert f"Pair cross-validation chose `{auto.choice_}`" in card
    assert "| candidate | pair-CV mean -log(r) |" in card  # auto's cv_score, named
    assert all(f"| {k} | {v:.4f} |" in card for k, v in auto.cv_scores_.items())
    # exporting the file keeps the scores (a load does not restore them, so no re-save)
    folder = export_folder(tmp_path / "a.sue", tmp_path / "shared")
    assert (folder / "README.md").read_text() == card
    assert (folder / "model.sue").read_bytes() == (tmp_path / "a.sue").read_bytes()
    with pytest.raises(ModelFileError, match="no model file"):
        export_folder(tmp_path / "missing.sue", tmp_path / "other")


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, repo_id, folder_path, **kw):
        from pathlib import Path

        self.calls.append(
            ("upload_folder", repo_id, sorted(p.name for p in Path(folder_path).iterdir()))
        )
        return "https://huggingface.co/me/m/commit/1"


def test_push_uploads_the_model_and_its_card():
    model = registry.build("method", "pair_cca", {"out_dim": 3, "device": "cpu"}).fit(_data())
    api = FakeApi()
    assert push_to_hub(model, "me/m", api=api, private=True).endswith("/commit/1")
    assert api.calls[0] == ("create_repo", "me/m", {"repo_type": "model", "private": True,
                                                    "exist_ok": True})  # fmt: skip
    assert api.calls[1] == ("upload_folder", "me/m", ["README.md", "model.sue"])


def test_a_hub_download_that_cannot_happen_says_so(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)  # read at import, maybe earlier
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelFileError, match="could not get model.sue of 'nobody/nothing'"):
        from_hub("nobody/nothing")
    with pytest.raises(ModelFileError, match="holds no model.sue"):
        from_hub(tmp_path)


def test_sue_card_prints_the_card_and_exports(tmp_path, capsys):
    model = registry.build("method", "pair_cca", {"out_dim": 3, "device": "cpu"}).fit(_data())
    path = save_method(model, tmp_path / "m.sue")
    assert main(["card", "--model", str(path)]) == 0
    assert "# sue (sue_framework)" in capsys.readouterr().out  # pair_cca is a configured SUE
    assert main(["card", "--model", str(path), "--export", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["README.md", "model.sue"]


def test_card_and_export_refuse_a_damaged_model_and_export_keeps_a_full_folder(tmp_path, capsys):
    model = registry.build("method", "pair_cca", {"out_dim": 3, "device": "cpu"}).fit(_data())
    path = save_method(model, tmp_path / "m.sue")
    raw = bytearray(path.read_bytes())
    raw[len(raw) - 8] ^= 0x10  # one weight
    bad = tmp_path / "bad.sue"
    bad.write_bytes(bytes(raw))
    assert main(["card", "--model", str(bad)]) == 2
    assert "do not match their checksums" in capsys.readouterr().err
    assert main(["card", "--model", str(bad), "--export", str(tmp_path / "share")]) == 2
    assert not (tmp_path / "share").exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "README.md").write_text("my own notes")
    assert main(["card", "--model", str(path), "--export", str(full)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in full.iterdir()] == ["README.md"]
    assert (full / "README.md").read_text() == "my own notes"
    assert main(["card", "--model", str(path), "--export", str(full), "--force"]) == 0
    assert sorted(p.name for p in full.iterdir()) == ["README.md", "model.sue"]
