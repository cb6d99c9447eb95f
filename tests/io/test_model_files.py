import hashlib
import json
import pickle
import struct

import numpy as np
import pytest

from sue_framework import SUE, ModelFileError, paper_split
from sue_framework.components.graphs import PaperKNNGraph
from sue_framework.components.spectral import ExactSpectral
from sue_framework.io.model_files import load_method, read_manifest, save_method
from tests.conftest import two_view_blobs


@pytest.fixture(scope="module")
def fitted():
    x, y, _ = two_view_blobs(400, seed=2)
    s = paper_split(x, y, n_pairs=20, n_test=50, seed=0)
    solver = ExactSpectral(n_components=6, graph=PaperKNNGraph(n_neighbors=9, device="cpu"))
    m = SUE(
        solver=solver,
        se_dim=6,
        out_dim=4,
        matcher_params={"epochs": 3, "batch_size": 64},
        device="cpu",
    )
    return m.fit(s.train), s


def test_round_trip_gives_identical_transforms(fitted, tmp_path):
    model, s = fitted
    path = model.save(tmp_path / "m.sue")
    loaded = SUE.load(path)
    for mod, rows in (("x", s.x_test), ("y", s.y_test)):
        assert np.array_equal(loaded.transform(rows, mod), model.transform(rows, mod))
    assert loaded.get_params()["solver"].graph.n_neighbors == 9
    manifest = read_manifest(path)
    assert manifest["method"]["name"] == "sue" and manifest["format_version"] == 2


def test_pickle_payload_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "evil.sue"
    bad.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="never unpickled"):
        SUE.load(bad)
    assert not marker.exists()


def test_other_versions_and_foreign_files_are_refused(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.sue")
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    manifest = json.loads(header["__metadata__"]["manifest"])
    manifest["format_version"] = 99  # as a later version would write it, with its own checksum
    text = json.dumps(manifest)
    header["__metadata__"]["manifest"] = text
    header["__metadata__"]["manifest_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    future = tmp_path / "future.sue"
    future.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n :])
    with pytest.raises(ModelFileError, match="format version 99"):
        load_method(future)
    text = tmp_path / "notes.txt"
    text.write_text("hello world, not a model")
    with pytest.raises(ModelFileError, match="not a sue_framework model file"):
        load_method(text)
    with pytest.raises(ModelFileError, match="no model file"):
        load_method(tmp_path / "missing.sue")


def test_failed_save_keeps_the_existing_file(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.sue")
    before = path.read_bytes()

    class Unregistered:
        def get_params(self, deep=False):
            return {}

    broken = SUE(solver=Unregistered())
    broken.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    with pytest.raises(ModelFileError, match="not a registered component|neither JSON"):
        save_method(broken, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sue"]


def test_header_length_bytes_never_look_like_pickle(fitted, tmp_path):
    """The first byte of a safetensors file is the header length's low byte: 0x80 is legitimate."""
    from sue_framework.io.model_files import _sniff

    model, _ = fitted
    raw = model.save(tmp_path / "m.sue").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = raw[8 : 8 + n]
    pad = (0x80 - n) % 256 or 256  # grow the header with spaces until its length ends in 0x80
    forged = tmp_path / "padded.sue"
    forged.write_bytes((n + pad).to_bytes(8, "little") + header + b" " * pad + raw[8 + n :])
    assert forged.read_bytes()[0] == 0x80
    _sniff(forged)  # accepted as safetensors
    assert np.array_equal(
        load_method(forged).get_state()["n_features_"], model.get_state()["n_features_"]
    )


def test_saved_files_follow_the_umask(fitted, tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        path = save_method(fitted[0], tmp_path / "m.sue")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def _header_end(raw: bytes) -> int:
    return 8 + struct.unpack("<Q", raw[:8])[0]


@pytest.mark.parametrize("where", ["header", "manifest", "tensor", "truncated"])
def test_a_damaged_file_is_refused_naming_what_differs(fitted, tmp_path, where):
    model, _ = fitted
    path = model.save(tmp_path / "m.sue")
    raw = bytearray(path.read_bytes())
    end = _header_end(raw)
    if where == "header":  # a tensor's name in the safetensors header: still valid JSON
        at = raw.index(b'"n_features_"', 8, end) + 1
        raw[at] ^= 0x01
        expected = "unknown arrays"
    elif where == "manifest":  # a parameter inside the manifest: still valid JSON
        at = raw.index(b"n_neighbors", 8, end) + len("n_neighbors") + 4
        assert raw[at : at + 1] == b"9"
        raw[at : at + 1] = b"8"
        expected = "manifest does not match"
    elif where == "tensor":
        raw[end + (len(raw) - end) // 2] ^= 0x10
        expected = "do not match their checksums"
    else:
        raw = raw[:-64]
        expected = "corrupt or truncated|cannot be read"
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=expected) as err:
        load_method(path)
    assert str(path) in str(err.value)


def test_every_single_bit_flip_is_refused_or_harmless(fitted, tmp_path):
    """Sampled over the whole file: a flipped bit is caught, or it changed nothing that loads."""
    model, s = fitted
    raw = model.save(tmp_path / "m.sue").read_bytes()
    want = model.transform(s.x_test, "x")
    flipped = tmp_path / "flipped.sue"
    positions = np.unique(np.linspace(0, len(raw) - 1, 60).astype(int))
    harmless = 0
    for at in positions:
        damaged = bytearray(raw)
        damaged[at] ^= 0x04
        flipped.write_bytes(bytes(damaged))
        try:
            loaded = load_method(flipped)
        except ModelFileError:
            continue
        harmless += 1
        assert np.array_equal(loaded.transform(s.x_test, "x"), want), f"byte {at} flipped"
    assert harmless < len(positions) // 4


def test_format_1_files_still_load_with_a_warning(fitted, tmp_path):
    from safetensors.numpy import save_file

    model, s = fitted
    path = model.save(tmp_path / "m.sue")
    manifest = read_manifest(path)
    manifest["format_version"] = 1
    del manifest["checksums"]
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as fh:
        arrays = {k: fh.get_tensor(k) for k in fh.keys()}
    old = tmp_path / "old.sue"
    save_file(arrays, str(old), metadata={"manifest": json.dumps(manifest)})
    with pytest.warns(UserWarning, match="without checksums"):
        loaded = load_method(old)
    assert np.array_equal(loaded.transform(s.y_test, "y"), model.transform(s.y_test, "y"))


def test_a_file_with_settings_this_version_does_not_take_is_refused_clearly(fitted, tmp_path):
    """A method parameter that a later version dropped: a ModelFileError naming the versions,
    not a TypeError from the constructor."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    from sue_framework.io.model_files import _MANIFEST_HASH, _text_digest

    model, _ = fitted
    path = model.save(tmp_path / "m.sue")
    manifest = read_manifest(path)
    manifest["method"]["params"]["prefer_unpaired"] = True  # as an older auto wrote
    with safe_open(str(path), framework="np") as fh:
        arrays = {k: fh.get_tensor(k) for k in fh.keys()}
    text = json.dumps(manifest)
    old = tmp_path / "old.sue"
    save_file(arrays, str(old), metadata={"manifest": text, _MANIFEST_HASH: _text_digest(text)})
    with pytest.raises(ModelFileError, match="does not take .*prefer_unpaired"):
        load_method(old)


def _rewrite_manifest(path, out, edit, keep_hash=True):
    """A copy of model file `path` at `out` whose manifest `edit` changed (text in, text out);
    the header keeps the old manifest checksum (one changed byte), or loses it."""
    raw = path.read_bytes()
    end = _header_end(raw)
    header = json.loads(raw[8:end])
    header["__metadata__"]["manifest"] = edit(header["__metadata__"]["manifest"])
    if not keep_hash:
        del header["__metadata__"]["manifest_sha256"]
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    out.write_bytes(struct.pack("<Q", len(new)) + new + raw[end:])
    return out


def test_a_file_claiming_format_1_is_still_checked_when_it_carries_a_checksum(fitted, tmp_path):
    """Changing "format_version": 2 to 1 must not switch the checksums off: with a weight
    flipped as well, the file is refused, not loaded at chance level."""
    model, _ = fitted
    path = model.save(tmp_path / "m.sue")
    old = _rewrite_manifest(
        path, tmp_path / "v1.sue", lambda t: t.replace('"format_version": 2', '"format_version": 1')
    )
    raw = bytearray(old.read_bytes())
    raw[len(raw) - 10] ^= 0x10
    old.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="manifest does not match the manifest checksum"):
        load_method(old)
    stripped = _rewrite_manifest(path, tmp_path / "nohash.sue", lambda t: t, keep_hash=False)
    with pytest.raises(ModelFileError, match="lacks the manifest checksum"):
        load_method(stripped)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: {**m, "method": 5}, "'method' must be an object"),
        (lambda m: {**m, "method": {**m["method"], "params": [1]}}, "'method.params' must be"),
        (lambda m: {**m, "checksums": ["a"]}, "'checksums' must map"),
        (lambda m: {**m, "scalar_keys": {"a": 1}}, "'scalar_keys' must be a list"),
        (lambda m: {**m, "card": 3}, "'card' must be an object"),
    ],
)
def test_a_retyped_manifest_is_a_model_file_error(fitted, tmp_path, edit, expected):
    model, _ = fitted
    path = model.save(tmp_path / "m.sue")

    def rewrite(text):
        return json.dumps(edit(json.loads(text)))

    bad = _rewrite_manifest(path, tmp_path / "bad.sue", rewrite)
    raw = bytearray(bad.read_bytes())  # as a careful forger would: the checksum made to match
    end = _header_end(raw)
    header = json.loads(raw[8:end])
    text = header["__metadata__"]["manifest"]
    header["__metadata__"]["manifest_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    bad.write_bytes(struct.pack("<Q", len(new)) + new + bytes(raw[end:]))
    with pytest.raises(ModelFileError, match=expected):
        load_method(bad)


def test_a_deeply_nested_manifest_is_a_model_file_error(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m.sue")
    deep = _rewrite_manifest(path, tmp_path / "deep.sue", lambda t: "[" * 100000 + "]" * 100000)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_method(deep)


@pytest.mark.parametrize(
    "content, expected",
    [(b"", "is empty"), (b"\x10\x00\x00\x00\x00\x00\x00\x00", "shorter than any safetensors"),
     (b"\x00\x01\x00\x00\x00\x00\x00\x00{}", "is truncated")],
)  # fmt: skip
def test_empty_and_truncated_files_are_called_so(tmp_path, content, expected):
    path = tmp_path / "m.sue"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=expected):
        load_method(path)


def test_a_model_whose_plugin_is_gone_names_the_package_to_install(tmp_path):
    from sue_framework import Registry, UnknownComponentError, WeaklyPairedData

    class Plain(SUE):
        """A method a plugin registered (here: a private registry stands for the plugin)."""

    with_plugin = Registry(autoload=False)
    with_plugin.load()
    with_plugin._provider = "my-sue-plugin"  # as while the plugin's hook runs
    with_plugin.register("method", "plain", Plain)
    with_plugin._provider = "sue-framework"
    x, y, _ = two_view_blobs(200, seed=1)
    data = WeaklyPairedData(x, y, np.stack([np.arange(30)] * 2, 1))
    with with_plugin.use():
        Plain(se_dim=4, out_dim=3, matcher="none", device="cpu").fit(data).save(tmp_path / "m.sue")
    assert read_manifest(tmp_path / "m.sue")["method"]["provider"] == "my-sue-plugin"
    with pytest.raises(
        UnknownComponentError, match="package 'my-sue-plugin' provided .*pip install my-sue-plugin"
    ):
        load_method(tmp_path / "m.sue")


def test_stages_saved_with_child_names_load_as_objects():
    """Files written when components took child stages by name store them as names; loading
    turns them into objects, since components now refuse names."""
    from sue_framework.components.graphs import LaplaceKNNGraph
    from sue_framework.io.model_files import decode_params

    old = {"__component__": {"kind": "solver", "name": "exact", "params": {"graph": "laplace_knn"}}}
    solver = decode_params(old)
    assert isinstance(solver, ExactSpectral) and isinstance(solver.graph, LaplaceKNNGraph)
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    assert solver.fit_transform(x).shape == (60, 10)
