import csv
import warnings

import numpy as np
import pytest

from sue_framework import InputError, WeaklyPairedData
from sue_framework.cli import main
from sue_framework.io.model_files import read_manifest
from sue_framework.io.pair_files import merge_pair_files
from sue_framework.validation import pair_conflicts


def test_files_merge_in_order_with_repeats_dropped_and_counted(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n0,0\n1,1\n2,2\n")
    (tmp_path / "b.csv").write_text("x,y\n2,2\n3,3\n\n1,1\n")
    np.save(tmp_path / "c.npy", np.array([[4, 4], [0, 0]]))
    m = merge_pair_files([tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.npy"], 10, 10)
    assert m.pairs.tolist() == [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]
    assert m.duplicates == 3
    assert m.sources[3] == f"{tmp_path / 'b.csv'} line 3"
    assert m.sources[4] == f"{tmp_path / 'c.npy'} row 1"


def test_a_row_with_two_partners_is_refused_naming_both_lines(tmp_path):
    (tmp_path / "old.csv").write_text("x,y\n6,70\n7,7\n")
    (tmp_path / "new.csv").write_text("x,y\n8,8\n6,5\n")
    with pytest.raises(InputError) as err:
        merge_pair_files([tmp_path / "old.csv", tmp_path / "new.csv"], 100, 100)
    text = str(err.value)
    assert "x row 6 is paired with y row 70" in text and "and 5" in text
    assert f"{tmp_path / 'old.csv'} line 2" in text and f"{tmp_path / 'new.csv'} line 3" in text
    assert "--allow-many" in text
    m = merge_pair_files([tmp_path / "old.csv", tmp_path / "new.csv"], 100, 100, allow_many=True)
    assert len(m.pairs) == 4


def test_a_pair_outside_the_rows_names_its_file_and_line(tmp_path):
    (tmp_path / "p.csv").write_text("x,y\n1,1\n805,3\n")
    with pytest.raises(InputError, match=r"p\.csv line 3 = \(805, 3\) points outside x: x has 50"):
        merge_pair_files([tmp_path / "p.csv"], 50, 50)


def test_cat_of_two_files_says_how_to_join_them(tmp_path):
    (tmp_path / "m.csv").write_text("x,y\n1,1\nx,y\n2,2\n")
    with pytest.raises(InputError, match="a second header: join pair files with sue fit"):
        merge_pair_files([tmp_path / "m.csv"], 5, 5)


def test_conflicts_in_both_directions_are_found():
    pairs = np.array([[0, 0], [1, 0], [2, 2], [2, 3], [4, 4]])
    assert pair_conflicts(pairs) == [(1, 0, "y"), (3, 2, "x")]
    assert pair_conflicts(np.array([[0, 1], [1, 0]])) == []


def test_weakly_paired_data_warns_about_second_partners_unless_allowed():
    x, y = np.random.default_rng(0).normal(size=(2, 10, 3))
    with pytest.warns(UserWarning, match="x row 6 is paired with y row 7 .* and 5"):
        WeaklyPairedData(x, y, [[6, 7], [6, 5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = WeaklyPairedData(x, y, [[6, 7], [6, 5]], allow_many=True)
        assert data.subset(data.pairs[:1]).allow_many  # the rule carries to subsets
        WeaklyPairedData(x, y, [[6, 7], [5, 5]])


def _write_views(tmp_path, n=300):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 10)).astype(np.float32)
    y = (x @ rng.normal(size=(10, 8))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)


def _fill_in(path):
    """A person fills in every blank partner: here x row i pairs with y row i."""
    rows = list(csv.DictReader(path.open()))
    for r in rows:
        r["y"] = r["y"] or r["x"]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def _fit(tmp_path, *pair_files, extra=()):
    pairs = [a for p in pair_files for a in ("--pairs", str(p))]
    return main(
        ["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), *pairs,
         "--method", "pair_cca", "--out", str(tmp_path / "m.sue"), "--device", "cpu", *extra]
    )  # fmt: skip


@pytest.mark.parametrize("keep", [False, True])
def test_suggest_fill_in_fit_keeps_every_pair(tmp_path, capsys, keep):
    """The labelling loop: 20 pairs made before, 12 rows suggested and filled in, then a fit on
    both files (or on the one file that --keep-pairs wrote) holds all 32 pairs."""
    _write_views(tmp_path)
    old = tmp_path / "old.csv"
    old.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(0, 200, 10)))
    ask = tmp_path / "ask.csv"
    args = ["suggest", "--x", str(tmp_path / "x.npy"), "--pairs", str(old), "--n", "12",
            "--out", str(ask)] + (["--keep-pairs"] if keep else [])  # fmt: skip
    assert main(args) == 0
    said = capsys.readouterr().out
    rows = _fill_in(ask)
    assert len(rows) == 12 + (20 if keep else 0)
    if keep:
        assert f"then sue fit --pairs {ask}" in said
        assert _fit(tmp_path, ask) == 0
    else:
        assert f"then sue fit --pairs {old} --pairs {ask}" in said
        assert _fit(tmp_path, old, ask) == 0
    assert read_manifest(tmp_path / "m.sue")["card"]["training"]["pairs"] == 32
    # the history file again beside the old one: the 20 old pairs are repeats, counted
    if keep:
        assert _fit(tmp_path, old, ask) == 0
        assert "20 repeated line(s) dropped, 32 pairs kept" in capsys.readouterr().err


def test_sue_fit_refuses_conflicting_files_and_allow_many_accepts_them(tmp_path, capsys):
    _write_views(tmp_path)
    (tmp_path / "a.csv").write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)))
    (tmp_path / "b.csv").write_text("x,y\n6,70\n")
    assert _fit(tmp_path, tmp_path / "a.csv", tmp_path / "b.csv") == 2
    err = capsys.readouterr().err
    assert "x row 6 is paired with y row 6" in err and "b.csv line 2" in err
    assert not (tmp_path / "m.sue").exists()
    assert _fit(tmp_path, tmp_path / "a.csv", tmp_path / "b.csv", extra=["--allow-many"]) == 0
    assert read_manifest(tmp_path / "m.sue")["card"]["training"]["pairs"] == 21
