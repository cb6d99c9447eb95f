"""`sue report`: the page holds what it says (R@k equal to the retrieval task's, true ranks equal
to the ranking rule's, thumbnails for image items) and a real browser renders it."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from sue_framework import WeaklyPairedData, registry
from sue_framework.cli import main
from sue_framework.evaluation.report import retrieval_report
from sue_framework.model_selection.ranking import target_ranks
from tests.conftest import needs, two_view_blobs


@pytest.fixture(scope="module")
def fitted():
    x, y, _ = two_view_blobs(500, seed=5)
    model = registry.get("method", "pair_cca")(out_dim=4).fit(
        WeaklyPairedData(x[:400], y[:400], np.stack([np.arange(60)] * 2, 1))
    )
    return model, x[400:], y[400:]


def test_the_page_reports_the_figures_of_the_task_and_the_ranking_rule(fitted):
    model, x, y = fitted
    words = [f"word number {i} <b>" for i in range(len(x))]
    page = retrieval_report(model, x, y, x_items=words, k=5, n_examples=4, n_worst=3, seed=1)
    figures = registry.get("task", "retrieval")(ks=(1, 5)).evaluate(
        model.transform(x, "x"), model.transform(y, "y")
    )
    shown = re.findall(r"<td>(x2y|y2x) \(.*?\)</td><td class='num'>([\d.]+)</td>"
                       r"<td class='num'>([\d.]+)</td>", page)  # fmt: skip
    assert [d for d, _, _ in shown] == ["x2y", "y2x"]
    got = [float(v) for _, a, b in shown for v in (a, b)]
    want = [figures[f"{d}_R@{k}"] for d in ("x2y", "y2x") for k in (1, 5)]
    assert got == pytest.approx(want, abs=0.051)  # printed to one decimal
    ranks = target_ranks(model.transform(x, "x"), model.transform(y, "y"), device="cpu") + 1
    worst = page.split("Retrieved worst: x2y")[1].split("</table>")[0]
    listed = [int(r) for r in re.findall(r"data-rank='(\d+)'", worst)]
    assert listed == sorted(ranks, reverse=True)[:3]
    assert "word number" in page and "&lt;b&gt;" in page and "<b>" not in page  # escaped
    assert page.count("<circle class='x'") == page.count("<circle class='y'") == len(x)


@needs("PIL")
def test_sue_report_from_the_command_line_with_image_items(fitted, tmp_path, capsys):
    from PIL import Image

    from sue_framework.io.model_files import save_method

    model, x, y = fitted
    save_method(model, tmp_path / "m.sue")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    paths = []
    for i in range(len(y)):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (200, 120), (i % 256, 80, 160)).save(p)
        paths.append(str(p))
    (tmp_path / "y_items.txt").write_text("\n".join(paths))
    out = tmp_path / "report.html"
    args = ["report", "--model", str(tmp_path / "m.sue"), "--x", str(tmp_path / "x.npy"),
            "--y", str(tmp_path / "y.npy"), "--y-items", str(tmp_path / "y_items.txt"),
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    page = out.read_text()
    assert "data:image/png;base64," in page and "Model card" in page and "identity" in page
    assert str(tmp_path) not in page.split("<img")[0]  # nothing outside the page is linked
    assert main([*args[:-1], str(tmp_path / "x.npy")]) == 2  # the output may not be an input
    assert "is the input" in capsys.readouterr().err


def _browser() -> str | None:
    return next(
        (b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )


@pytest.mark.slow
@pytest.mark.skipif(_browser() is None, reason="no headless Chromium (apt-get install chromium)")
def test_a_headless_browser_renders_the_examples_the_map_and_the_card(fitted, tmp_path):
    from PIL import Image

    from sue_framework.io.hub import card_html
    from sue_framework.io.model_files import read_manifest, save_method

    model, x, y = fitted
    page = tmp_path / "report.html"
    card = card_html(read_manifest(save_method(model, tmp_path / "m.sue")))
    page.write_text(retrieval_report(model, x, y, n_examples=3, n_worst=3, card_html=card))
    flags = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
             "--v=0", "--window-size=1200,2400"]  # fmt: skip
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    # two legend marks beside the points
    assert dom.stdout.count("<circle") == 2 * len(x) + 2 and dom.stdout.count('class="query"') == 12
    assert "Uncaught" not in dom.stderr and "CONSOLE" not in dom.stderr
    # the legend names both sides; the card is headings, a list and code, not markdown source
    legend = dom.stdout.split('class="legend"')[1].split("</g>")[0]
    assert ">x rows</text>" in legend and ">y rows</text>" in legend
    shown_card = dom.stdout.split('<section class="card">')[1]
    assert (
        "<h3>Training data</h3>" in shown_card
        and "<li>x: 400 rows of 12 features</li>" in shown_card
    )
    assert "```" not in shown_card and "## " not in shown_card
    shot = tmp_path / "shot.png"
    done = subprocess.run([*flags, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int32)
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 140) & (pixels[..., 2] < 140)
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 140)
    assert red.sum() > 50 and blue.sum() > 50  # the map's points are on screen
