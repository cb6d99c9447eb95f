"""Message catalogues and emoji pictures, on tiny fixtures written in the published formats."""

import json
import struct

import numpy as np
import pytest
from sue_datasets.catalogues import catalogue_pairs, clean, read_mo
from sue_datasets.pictures import emoji_pictures, flatten_alpha

from sue_framework import InputError, registry


def write_mo(path, entries, big_endian=False):
    """A gettext .mo file (magic, revision, count, two offset tables, then the strings)."""
    order = ">" if big_endian else "<"
    n = len(entries)
    keys = [k.encode() for k, _ in entries]
    vals = [v.encode() for _, v in entries]
    orig_at, trans_at = 28, 28 + 8 * n
    data_at = trans_at + 8 * n
    blob, table_o, table_t = b"", [], []
    for k in keys:
        table_o.append((len(k), data_at + len(blob)))
        blob += k + b"\0"
    for v in vals:
        table_t.append((len(v), data_at + len(blob)))
        blob += v + b"\0"
    head = struct.pack(order + "7I", 0x950412DE, 0, n, orig_at, trans_at, 0, 0)
    body = b"".join(struct.pack(order + "2I", *e) for e in table_o + table_t)
    path.write_bytes(head + body + blob)


@pytest.mark.parametrize("big_endian", [False, True])
def test_mo_files_give_each_message_and_its_translation(tmp_path, big_endian):
    path = tmp_path / "app.mo"
    write_mo(
        path,
        [
            ("", "Project-Id: x"),
            ("_Open", "_Ouvrir"),
            ("menu\x04Quit", "Quitter"),
            ("%d file\x00%d files", "%d fichier\x00%d fichiers"),
            ("Untranslated", ""),
        ],
        big_endian,
    )
    assert read_mo(path) == [("_Open", "_Ouvrir"), ("Quit", "Quitter"), ("%d file", "%d fichier")]


def test_damaged_mo_files_are_named(tmp_path):
    (tmp_path / "short.mo").write_bytes(b"\xde\x12")
    with pytest.raises(InputError, match="too short"):
        read_mo(tmp_path / "short.mo")
    (tmp_path / "text.mo").write_bytes(b"not a catalogue at all, just text")
    with pytest.raises(InputError, match="bad magic"):
        read_mo(tmp_path / "text.mo")
    write_mo(tmp_path / "cut.mo", [("Open", "Ouvrir")])
    raw = (tmp_path / "cut.mo").read_bytes()
    (tmp_path / "cut.mo").write_bytes(raw[:-12])
    with pytest.raises(InputError, match="truncated"):
        read_mo(tmp_path / "cut.mo")


def test_catalogue_pairs_clean_texts_and_skip_untranslatable_entries(tmp_path):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    write_mo(folder / "b.mo", [("_Save  as…", "Enregistrer _sous…"), ("Paris", "Paris")])
    write_mo(folder / "a.mo", [("&Help", "&Aide"), ("x" * 400, "y" * 400)])
    assert catalogue_pairs(tmp_path, "fr") == [("Help", "Aide"), ("Save as…", "Enregistrer sous…")]
    assert catalogue_pairs(tmp_path, "fr", domains=["b"]) == [("Save as…", "Enregistrer sous…")]
    with pytest.raises(InputError, match="no catalogue for domains"):
        catalogue_pairs(tmp_path, "fr", domains=["zz"])
    with pytest.raises(InputError, match="not found"):
        catalogue_pairs(tmp_path, "de")
    assert clean("snake_case stays, _File goes") == "snake_case stays, File goes"


def _emoji_package(folder, style, names):
    from PIL import Image

    (folder / "img" / style / "64").mkdir(parents=True)
    entries = []
    for i, name in enumerate(names):
        image = f"{1000 + i:x}.png"
        rgba = np.zeros((8, 8, 4), dtype=np.uint8)
        rgba[2:6, 2:6] = (200, 10 * i, 0, 255)  # an opaque square on a transparent ground
        Image.fromarray(rgba, "RGBA").save(folder / "img" / style / "64" / image)
        entries.append(
            {
                "name": name.upper(),
                "unified": f"{1000 + i:X}",
                "image": image,
                f"has_img_{style}": True,
            }
        )
    entries.append(
        {"name": "NO PICTURE", "unified": "FFFF", "image": "ffff.png", f"has_img_{style}": False}
    )
    (folder / "emoji.json").write_text(json.dumps(entries))


def test_emoji_packages_give_pictures_and_names(tmp_path):
    _emoji_package(tmp_path, "google", ["grinning face", "red heart"])
    pics = emoji_pictures(tmp_path, "google")
    assert sorted(n for _, n in pics.values()) == ["grinning face", "red heart"]
    rgb = flatten_alpha(next(iter(pics.values()))[0])
    assert rgb.shape == (8, 8, 3) and rgb[0, 0].tolist() == [255, 255, 255]  # white ground
    assert rgb[3, 3, 0] == 200
    with pytest.raises(InputError, match="npm pack emoji-datasource-twitter"):
        emoji_pictures(tmp_path / "missing", "twitter")
    with pytest.raises(InputError, match="style must be"):
        emoji_pictures(tmp_path, "paint")


def test_emoji_sets_pair_pictures_by_code_point(tmp_path, monkeypatch):
    _emoji_package(tmp_path / "emoji-datasource-google", "google", ["a", "b", "c"])
    _emoji_package(tmp_path / "emoji-datasource-twitter", "twitter", ["a", "b", "c"])

    class Mean:
        def __init__(self, **params):
            self.params = params

        def encode(self, items):
            mean = lambda i: 0.0 if isinstance(i, str) else float(np.mean(i))  # noqa: E731
            return np.array([[mean(i), len(str(i))] for i in items])

    registry.register("encoder", "_mean_test", Mean, replace=True)
    monkeypatch.setenv("SUE_DATA_DIR", str(tmp_path))
    try:
        two = registry.build(
            "dataset", "emoji_two_styles", {"encoder_x": "_mean_test", "encoder_y": "_mean_test"}
        )
        x, y = two.load()
        named = registry.build(
            "dataset", "emoji_picture_name", {"encoder_x": "_mean_test", "encoder_y": "_mean_test"}
        )
        px, names = named.load()
    finally:
        registry._entries["encoder"].pop("_mean_test")
    assert x.shape == y.shape == (3, 2) and np.array_equal(x, y)  # the same drawings here
    assert len(set(x[:, 0].tolist())) == 3  # three different pictures, in code point order
    assert named.items_y_ == ["a", "b", "c"] and px.shape == (3, 2)
    with pytest.raises(InputError, match="must differ"):
        registry.build("dataset", "emoji_two_styles", {"style_y": "google"}).load()


def test_the_new_pairings_are_registered():
    assert {
        "messages_en_fr",
        "wordnet_word_gloss",
        "emoji_picture_name",
        "emoji_two_styles",
    } <= set(registry.names("dataset"))
