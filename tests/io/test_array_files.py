"""Files of numbers: text read without guessing, outputs that never replace what the user has."""

import os
import stat

import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.io.array_files import (
    atomic_path,
    check_output,
    read_matrix,
    read_pairs,
    write_embeddings,
    write_matrix,
)


@pytest.mark.parametrize(
    "content, want",
    [
        (b"\xef\xbb\xbf1,2\r\n3,4\r\n", [[1, 2], [3, 4]]),  # BOM and CRLF: the first row kept
        (b"a,b\n1,2\n3,4\n", [[1, 2], [3, 4]]),  # a header: every field non-numeric
        (b"1.5,-2e3\n\n3,nan\n", [[1.5, -2000], [3, np.nan]]),  # NaN is a number (refused later)
    ],
)
def test_text_rows_read_as_written(tmp_path, content, want):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    np.testing.assert_array_equal(read_matrix(path, "x"), np.array(want, dtype=float))


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"n/a,2\n1,3\n", "line 1, column 1 of .* is 'n/a', not a number"),  # not a header
        (b"1,2\n3,x7\n", "line 2, column 2 of .* is 'x7', not a number"),
        (b"1,2\n3\n", "line 2 of .* has 1 fields where the first row has 2"),
        ("1,2\n3,4\n".encode("utf-16"), "is UTF-16 .*save it as UTF-8"),
        (b"\xff\xfa\x01,2\n", "not UTF-8 text"),
        (b"a,b\n", "a header line and no rows"),
    ],
)
def test_bad_text_rows_are_named_by_line_and_column(tmp_path, content, expected):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        read_matrix(path, "x")


def test_a_pairs_file_with_a_bom_keeps_its_first_pair_and_bad_indices_are_named(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xef\xbb\xbf0,5\r\n1,6\r\n")
    assert read_pairs(path).tolist() == [[0, 5], [1, 6]]
    path.write_text("0,5\n1,99999999999999999999999\n")
    with pytest.raises(InputError, match="line 2 .* holds an index far beyond any row"):
        read_pairs(path)
    path.write_text("0,1e23\n")
    with pytest.raises(InputError, match="line 1, column 2 .* is '1e23', not a row index"):
        read_pairs(path)
    path.write_bytes("0,5\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_pairs(path)


def test_an_output_that_is_an_input_or_not_a_file_is_refused(tmp_path):
    data = tmp_path / "x.npy"
    np.save(data, np.ones((2, 2)))
    (tmp_path / "link.npy").symlink_to(data)
    for same in (data, tmp_path / "link.npy", tmp_path / "sub" / ".." / "x.npy"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(InputError, match="is the input"):
            check_output(same, inputs=(str(data),))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for node in (fifo, "/dev/null"):
        with pytest.raises(InputError, match="not a regular file"):
            check_output(node)
    with pytest.raises(InputError, match="writes .npy or .csv, not .json"):
        check_output(tmp_path / "z.json", suffixes=(".npy", ".csv"))
    with pytest.raises(InputError, match="names another format"):
        check_output(tmp_path / "m.npy", refused_suffixes=(".npy",))
    check_output(tmp_path / "new.npy", inputs=(str(data), None), suffixes=(".npy",))


@pytest.mark.parametrize("suffix, sep", [(".npy", None), (".csv", ","), (".tsv", "\t")])
def test_rows_are_written_in_the_format_their_name_says(tmp_path, suffix, sep):
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    path = tmp_path / f"z{suffix}"
    write_matrix(z, path)
    back = np.load(path) if sep is None else np.loadtxt(path, delimiter=sep, dtype=np.float32)
    np.testing.assert_array_equal(back, z)  # 9 significant digits: float32 exactly


def test_a_replaced_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "m.sue"
    path.write_text("old")
    os.chmod(path, 0o600)
    with atomic_path(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_embeddings_come_with_a_manifest_that_vouches_for_their_rows(tmp_path):
    import hashlib
    import json

    z = np.random.default_rng(0).normal(size=(7, 4))  # float64 in, float32 on disk
    man = write_embeddings(z, tmp_path / "z.npy", {"encoder": "e", "ids": list(range(7))})
    manifest = json.loads(man.read_text())
    rows = np.load(tmp_path / "z.npy")
    assert rows.dtype == np.float32 and np.array_equal(rows, z.astype(np.float32))
    assert manifest["shape"] == [7, 4] and manifest["encoder"] == "e"
    assert manifest["sha256"] == hashlib.sha256(rows.tobytes()).hexdigest()
