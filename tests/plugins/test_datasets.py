"""The real-data readers on tiny fixtures written in the published formats."""

import gzip

import numpy as np
import pytest
from sue_datasets.readers import (
    _B64,
    cldr_annotations,
    first_translation,
    freedict_pairs,
    wordnet_glosses,
)
from sue_datasets.text_pairs import EncodedTextPairs, unique_pairs

from sue_framework import InputError, registry


def _b64(n: int) -> str:
    out = ""
    while True:
        out = _B64[n % 64] + out
        n //= 64
        if n == 0:
            return out


def write_dictd(folder, entries):
    body, index = b"", []
    for head, text in [("00databaseinfo", "info"), *entries]:
        raw = text.encode()
        index.append(f"{head}\t{_b64(len(body))}\t{_b64(len(raw))}")
        body += raw
    (folder / "freedict-eng-fra.index").write_text("\n".join(index) + "\n")
    (folder / "freedict-eng-fra.dict.dz").write_bytes(gzip.compress(body))


def test_freedict_pairs_take_each_first_translation(tmp_path):
    write_dictd(
        tmp_path,
        [
            ("dog", "dog /dɒg/\nchien\n"),
            ("Afghan", "Afghan /æfgæn/\n1. afghan\n2. Afghan\n"),
            ("Afrikaner", "Afrikaner /x/\nAfrikander, Boer\n"),
        ],
    )
    assert freedict_pairs(tmp_path) == [
        ("dog", "chien"),
        ("Afghan", "afghan"),
        ("Afrikaner", "Afrikander"),
    ]
    assert first_translation("word /w/\n") is None


def test_wordnet_glosses_follow_the_most_frequent_sense(tmp_path):
    header = "  1 This software and database is being provided\n"
    rec1 = '00000001 05 n 01 dog 0 000 | a domesticated canine; "the dog barked"\n'
    rec2 = "00000002 05 n 01 dog 0 000 | a dull unattractive person\n"
    data = header + rec1
    off1 = len(header)
    off2 = len(data)
    data += rec2
    # offsets are byte offsets; the index lists the most frequent sense first
    (tmp_path / "data.noun").write_text(data)
    (tmp_path / "index.noun").write_text(
        header + f"dog n 2 1 @ 2 1 {off2:08d} {off1:08d}\nhot_dog n 1 0 1 0 {off1:08d}\n"
    )
    for pos in ("verb", "adj", "adv"):
        (tmp_path / f"index.{pos}").write_text(header)
        (tmp_path / f"data.{pos}").write_text(header)
    g = wordnet_glosses(tmp_path)
    assert g == {"dog": "a dull unattractive person", "hot dog": "a domesticated canine"}


def test_cldr_annotations_join_name_and_keywords(tmp_path):
    (tmp_path / "en.xml").write_text(
        '<ldml><annotations><annotation cp="🐶">dog | face | pet</annotation>'
        '<annotation cp="🐶" type="tts">dog face</annotation>'
        '<annotation cp="x" type="tts">↑↑↑</annotation></annotations></ldml>'
    )
    assert cldr_annotations(tmp_path, "en") == {"🐶": "dog face: dog, face, pet"}


def test_missing_sources_say_which_package_to_install(tmp_path):
    with pytest.raises(InputError, match="apt-get install dict-freedict-eng-fra"):
        freedict_pairs(tmp_path)
    with pytest.raises(InputError, match="wordnet-base"):
        wordnet_glosses(tmp_path)
    with pytest.raises(InputError, match="unicode-cldr-core"):
        cldr_annotations(tmp_path, "fr")


def test_unique_pairs_keep_one_partner_per_text():
    assert unique_pairs(["a", "b", "a", "c"], ["1", "1", "2", "3"]) == (["a", "c"], ["1", "3"])


class _Fixed(EncodedTextPairs):
    def texts(self):
        return ["one", "two", "three", "two"], ["un", "deux", "zzz", "deux bis"]


def test_encoded_pairs_go_through_the_encoders_and_drop_empty_rows(tmp_path, monkeypatch):
    class Lookup:
        def __init__(self, **params):
            self.params = params

        def encode(self, items):
            table = {"un": 1.0, "deux": 2.0, "one": 1.0, "two": 2.0, "three": 3.0}
            return np.array([[table.get(t, 0.0), 1.0 if t in table else 0.0] for t in items])

    registry.register("encoder", "_lookup_test", Lookup, replace=True)
    try:
        ds = _Fixed(encoder_x="_lookup_test", encoder_y="_lookup_test", cache_dir=str(tmp_path))
        x, y = ds.load()
    finally:
        registry._entries["encoder"].pop("_lookup_test")
    assert ds.texts_x_ == ["one", "two"] and ds.texts_y_ == ["un", "deux"]
    assert x.shape == y.shape == (2, 2)


def test_the_real_pairings_are_registered():
    assert {"freedict_en_fr", "wordnet_gloss_fr", "cldr_emoji_en_fr"} <= set(
        registry.names("dataset")
    )
