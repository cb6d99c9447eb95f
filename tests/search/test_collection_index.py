import json

import numpy as np
import pytest

from sue_framework import InputError, ModelFileError, UnknownComponentError, registry
from sue_framework.cli import main
from sue_framework.io.model_files import load_method
from sue_framework.search.index import (
    append_to_index,
    build_index,
    load_index,
    model_digest,
    save_index,
)
from sue_framework.search.query import search
from tests.conftest import latent_views


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("index")
    x, y = latent_views(n=3000, k=8)
    pairs = np.stack([np.arange(60)] * 2, 1)
    for name, out_dim in (("m.sue", 6), ("other.sue", 5)):
        model = registry.get("method", "pair_cca")(out_dim=out_dim, device="cpu")
        model.fit((x[:2000], y[:2000], pairs)).save(folder / name)
    np.save(folder / "y.npy", y[2000:])
    np.save(folder / "x.npy", x[2000:])
    (folder / "names.txt").write_text("\n".join(f"thing {i} é" for i in range(1000)))
    return folder


def _exact(model, x, y, k):
    zx, zy = model.transform(x, "x"), model.transform(y, "y")
    zx /= np.linalg.norm(zx, axis=1, keepdims=True)
    zy /= np.linalg.norm(zy, axis=1, keepdims=True)
    return np.argsort(-(zx @ zy.T), axis=1, kind="stable")[:, :k]


def test_an_exact_index_finds_the_brute_force_neighbours(files):
    x, y = np.load(files / "x.npy"), np.load(files / "y.npy")
    index = build_index(files / "m.sue", "y", files / "y.npy", block_rows=256)
    assert index.about == {"kind": "exact"} and index.n_rows == 1000
    _, ids = index.search(load_method(files / "m.sue").transform(x[:50], "x"), 5)
    want = _exact(load_method(files / "m.sue"), x[:50], y, 5)
    assert (ids == want).mean() > 0.99  # ties in float32 may swap a pair


def test_an_ivf_index_reaches_its_recall_target_against_exact(files):
    x, y = np.load(files / "x.npy"), np.load(files / "y.npy")
    index = build_index(files / "m.sue", "y", y, exact_limit=100, recall_target=0.9)
    assert index.about["kind"] == "ivf" and index.about["recall_at_10"] >= 0.9
    _, ids = index.search(load_method(files / "m.sue").transform(x[:200], "x"), 10)
    want = _exact(load_method(files / "m.sue"), x[:200], y, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, want, strict=True)])
    assert recall >= 0.85  # fresh queries, not the tuning sample


def test_the_file_round_trips_with_items_and_refuses_another_model(files, tmp_path):
    names = (files / "names.txt").read_text().splitlines()
    index = build_index(files / "m.sue", "y", files / "y.npy", names)
    save_index(index, tmp_path / "c.sueidx")
    back = load_index(tmp_path / "c.sueidx", files / "m.sue")
    assert back.items == names and back.model == model_digest(files / "m.sue")
    q = np.load(files / "x.npy")[:3]
    hits = search(back, files / "m.sue", "x", rows=q, k=4)
    again = search(tmp_path / "c.sueidx", files / "m.sue", "x", rows=q, k=4)
    assert hits == again and [h["item"] for h in hits[0]] == [names[h["row"]] for h in hits[0]]
    with pytest.raises(InputError, match="was made with another model"):
        load_index(tmp_path / "c.sueidx", files / "other.sue")
    # searching from an item of the index: the item itself first
    found = search(back, files / "m.sue", item=names[7], k=3)[0]
    assert found[0]["row"] == 7 and found[0]["score"] == pytest.approx(1.0, abs=1e-5)


def test_bad_queries_are_refused(files, tmp_path):
    index = build_index(files / "m.sue", "y", files / "y.npy")
    with pytest.raises(InputError, match="did you swap x and y"):
        search(index, files / "m.sue", "x", rows=np.load(files / "y.npy")[:2])
    with pytest.raises(InputError, match="k must lie in"):
        search(index, files / "m.sue", "x", rows=np.load(files / "x.npy")[:2], k=0)
    with pytest.raises(InputError, match="holds no items"):
        search(index, files / "m.sue", item="thing 1")
    with pytest.raises(InputError, match="exactly one query"):
        search(index, files / "m.sue", "x")
    with pytest.raises(UnknownComponentError, match="no encoder named 'nope'"):
        search(index, files / "m.sue", "x", text="a cat", encoder="nope")
    with pytest.raises(InputError, match="needs --encoder"):
        search(index, files / "m.sue", "x", text="a cat")


def test_a_damaged_or_foreign_file_is_refused(files, tmp_path):
    save_index(build_index(files / "m.sue", "y", files / "y.npy"), tmp_path / "c.sueidx")
    raw = bytearray((tmp_path / "c.sueidx").read_bytes())
    raw[-5] ^= 0xFF
    (tmp_path / "bad.sueidx").write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="damaged"):
        load_index(tmp_path / "bad.sueidx")
    with pytest.raises(ModelFileError, match="not a sue_framework index"):
        load_index(files / "m.sue")


def test_append_adds_rows_and_a_failed_append_leaves_the_file_as_it_was(files, tmp_path,
                                                                         monkeypatch):  # fmt: skip
    names = (files / "names.txt").read_text().splitlines()
    y = np.load(files / "y.npy")
    save_index(build_index(files / "m.sue", "y", y[:600], names[:600]), tmp_path / "c.sueidx")
    before = (tmp_path / "c.sueidx").read_bytes()

    import safetensors.numpy

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process stops while writing

    monkeypatch.setattr(safetensors.numpy, "save_file", killed)
    with pytest.raises(KeyboardInterrupt):
        append_to_index(tmp_path / "c.sueidx", files / "m.sue", y[600:], names[600:])
    assert (tmp_path / "c.sueidx").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.sueidx"]
    monkeypatch.undo()
    append_to_index(tmp_path / "c.sueidx", files / "m.sue", y[600:], names[600:])
    whole = load_index(tmp_path / "c.sueidx", files / "m.sue")
    assert whole.n_rows == 1000 and whole.items == names
    with pytest.raises(InputError, match="made with another model"):
        append_to_index(tmp_path / "c.sueidx", files / "other.sue", y[:5], names[:5])
    with pytest.raises(InputError, match="give one per new row"):
        append_to_index(tmp_path / "c.sueidx", files / "m.sue", y[:5])


def test_sue_index_and_sue_search_from_the_command_line(files, tmp_path, capsys):
    out = tmp_path / "c.sueidx"
    base = ["--model", str(files / "m.sue")]
    assert main(["index", *base, "--modality", "y", "--input", str(files / "y.npy"),
                 "--items", str(files / "names.txt"), "--out", str(out)]) == 0  # fmt: skip
    assert "1000 rows of y" in capsys.readouterr().out
    np.save(tmp_path / "q.npy", np.load(files / "x.npy")[:2])
    assert main(["search", "--index", str(out), *base, "--modality", "x", "--rows",
                 str(tmp_path / "q.npy"), "--k", "3", "--json"]) == 0  # fmt: skip
    hits = json.loads(capsys.readouterr().out)
    assert [len(h) for h in hits] == [3, 3] and hits[0][0]["item"].startswith("thing ")
    assert main(["search", "--index", str(out), *base, "--item", "thing 3 é", "--k", "2"]) == 0
    table = capsys.readouterr().out
    assert "thing 3 é" in table.splitlines()[1]
    assert main(["search", "--index", str(out), "--model", str(files / "other.sue"),
                 "--item", "thing 3 é"]) == 2  # fmt: skip
    assert "made with another model" in capsys.readouterr().err


def test_an_item_of_the_other_side_s_collection_finds_its_partners(files, tmp_path, capsys):
    """Both sides indexed with one model: a name from the x collection finds its nearest y
    rows, the same as querying with that x row itself."""
    x = np.load(files / "x.npy")
    names = (files / "names.txt").read_text().splitlines()
    save_index(build_index(files / "m.sue", "y", files / "y.npy"), tmp_path / "y.sueidx")
    save_index(build_index(files / "m.sue", "x", x, names), tmp_path / "x.sueidx")
    by_item = search(tmp_path / "y.sueidx", files / "m.sue", item=names[12],
                     item_index=tmp_path / "x.sueidx", k=5)  # fmt: skip
    by_rows = search(tmp_path / "y.sueidx", files / "m.sue", "x", rows=x[12:13], k=5)
    assert [h["row"] for h in by_item[0]] == [h["row"] for h in by_rows[0]]
    save_index(build_index(files / "other.sue", "x", x, names), tmp_path / "xo.sueidx")
    assert main(["search", "--index", str(tmp_path / "y.sueidx"), "--model",
                 str(files / "m.sue"), "--item", names[12], "--item-index",
                 str(tmp_path / "xo.sueidx")]) == 2  # fmt: skip
    assert "made with another model" in capsys.readouterr().err
