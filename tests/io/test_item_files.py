import pytest

from sue_framework import InputError
from sue_framework.io.item_files import read_items


def test_text_csv_jsonl_and_folder(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\n")
    assert read_items(tmp_path / "a.txt") == (["one", "two"], ["0", "1"])
    (tmp_path / "b.csv").write_text("id,caption\nx7,hello\nx9,world\n")
    assert read_items(tmp_path / "b.csv", column="caption", id_column="id") == (
        ["hello", "world"],
        ["x7", "x9"],
    )
    (tmp_path / "c.jsonl").write_text('{"t": "a"}\n{"t": "b"}\n')
    assert read_items(tmp_path / "c.jsonl", column="t")[0] == ["a", "b"]
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "b.png").write_bytes(b"x")
    (imgs / "a.jpg").write_bytes(b"x")
    (imgs / "notes.txt").write_text("skip")
    items, ids = read_items(imgs)
    assert ids == ["a.jpg", "b.png"] and items[0].endswith("a.jpg")


def test_errors_name_the_fix(tmp_path):
    (tmp_path / "b.csv").write_text("id,caption\n1,hi\n")
    with pytest.raises(InputError, match="--column"):
        read_items(tmp_path / "b.csv")
    with pytest.raises(InputError, match="no column 'text'"):
        read_items(tmp_path / "b.csv", column="text")
    with pytest.raises(InputError, match="no input"):
        read_items(tmp_path / "missing.txt")
