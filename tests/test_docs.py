"""Every public name of the package and its plugins has a docstring, so the API reference the
documentation site generates (mkdocs.yml, docs/api/) describes all of it."""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from tests.conftest import needs

PACKAGES = [
    pytest.param(p, marks=needs(p)) if p != "sue_framework" else p
    for p in ("sue_framework", "sue_baselines", "sue_tasks", "sue_encoders", "sue_datasets")
]


def module_names(package: str) -> list[tuple[str, object]]:
    """(dotted name, object) of every public function and class defined in the package."""
    root = importlib.import_module(package)
    found = []
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.append((f"{info.name}.{name}", obj))
    return found


def public_names(package: str) -> list[tuple[str, object]]:
    """`module_names` plus the public methods each class defines."""
    found = []
    for dotted, obj in module_names(package):
        found.append((dotted, obj))
        if inspect.isclass(obj):
            found += [(f"{dotted}.{m}", getattr(obj, m)) for m, f in vars(obj).items()
                      if not m.startswith("_") and inspect.isfunction(f)]  # fmt: skip
    return found


def _doc(obj: object) -> str:
    return ((obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)) or "").strip()


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package):
    pytest.importorskip(package)
    names = public_names(package)
    assert len(names) > 10
    # a class documents itself; a method that overrides a documented one shares its docstring
    # (inspect.getdoc's rule, and the API reference's inherited-docstrings rule)
    missing = [name for name, obj in names if not _doc(obj)]
    assert not missing, f"add docstrings to: {missing}"


def test_the_ablation_how_to_code_runs():
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "ablations.md"
    (block,) = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    names: dict = {}
    made = []
    for line in block.strip().splitlines():
        code = line.split("#")[0].strip()
        if code.startswith(("from ", "import ")):
            exec(compile(code, "ablations.md", "exec"), names)
        elif code:
            made.append(eval(compile(code, "ablations.md", "eval"), names))  # what it builds
    spectralnet, gaussian, procrustes, sotalign, nested = made
    assert spectralnet.solver == "spectralnet" and spectralnet.solver_params == {"epochs": 50}
    assert type(gaussian.solver.graph).__name__ == "GaussianKNNGraph"
    assert gaussian.solver.graph.n_neighbors == 30
    assert procrustes.aligner == "procrustes" and sotalign.matcher == "sotalign"
    assert nested._stages()[0].n_components == 16  # the nested setting reaches the solver


_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+\.)\s+\S")


def _lists_glued_to_a_paragraph(text: str) -> list[int]:
    """Lines where a list starts right under a paragraph line: Python-Markdown (the site) then
    renders the list as part of the paragraph, where GitHub shows a list."""
    found, fence = [], False
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith("```"):
            fence = not fence
            continue
        if fence or i == 0 or not _LIST_ITEM.match(line):
            continue
        prev = lines[i - 1]
        if prev.strip() and not _LIST_ITEM.match(prev) and not prev.startswith((" ", "|", "#")):
            found.append(i + 1)
    return found


def test_the_detector_finds_a_list_glued_to_a_paragraph():
    assert _lists_glued_to_a_paragraph("Methods:\n- a\n- b\n") == [2]
    assert _lists_glued_to_a_paragraph("Methods:\n\n- a\n- b\n\n```\nx:\n- y\n```\n") == []


def test_every_list_in_the_docs_renders_as_a_list():
    root = Path(__file__).resolve().parents[1]
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    glued = {
        str(p.relative_to(root)): lines
        for p in pages
        if (lines := _lists_glued_to_a_paragraph(p.read_text(encoding="utf-8")))
    }
    assert glued == {}, "add a blank line before these lists (file: line numbers)"


def _blocks(page: Path) -> list[tuple[str, str]]:
    """(language, code) of each fenced block of a page, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_the_own_data_page_runs_as_written(tmp_path, monkeypatch, capsys):
    import shlex

    from sue_framework.cli import main

    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for lang, code in _blocks(DOCS / "own_data.md"):
        if lang == "python":
            exec(compile(code, "own_data.md", "exec"), namespace)
        elif lang == "bash":
            for line in code.strip().splitlines():
                argv = shlex.split(line)
                assert argv[0] == "sue" and main(argv[1:]) == 0, line
    out = capsys.readouterr().out
    assert "x2y_R@10" in out and "# auto (sue_framework)" in out
    recall = namespace["figures"]["x2y_R@10"]
    assert recall > 3 * 10 / 300 * 100  # well above chance on held-out pairs
    assert "<svg class='map'" in (tmp_path / "report.html").read_text()
    assert sorted(p.name for p in (tmp_path / "shared_model").iterdir()) == [
        "README.md",
        "model.sue",
    ]
    assert sorted(p.name for p in (tmp_path / "model_onnx").iterdir()) == [
        "README.md",
        "x.onnx",
        "y.onnx",
    ]


@pytest.mark.slow
def test_the_plugin_page_example_is_a_working_plugin(tmp_path):
    import os
    import subprocess
    import sys

    code = next(c for lang, c in _blocks(DOCS / "plugins.md") if "class MomentMatcher" in c)
    pkg = tmp_path / "my_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(code)
    info = tmp_path / "my_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sue_framework]\nmy_plugin = my_plugin\n")
    script = (
        "import numpy as np\n"
        "from sue_framework import SUE, paper_split, registry\n"
        "from sue_framework.io.model_files import load_method\n"
        "from sue_framework.datasets import digits_halves\n"
        "assert [e.provider for e in registry.entries() if e.name == 'moments'] == ['my-plugin']\n"
        "x, y = digits_halves()\n"
        "s = paper_split(x[:600], y[:600], n_pairs=30, n_test=100, seed=0)\n"
        "m = SUE(matcher='moments', se_dim=6, out_dim=4, device='cpu').fit(s.train)\n"
        "m.save('m.sue')\n"
        "back = load_method('m.sue')\n"
        "assert type(back.matcher_).__name__ == 'MomentMatcher'\n"
        "np.testing.assert_array_equal(back.transform(s.y_test, 'y'), m.transform(s.y_test, 'y'))\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@needs("yaml")
def test_every_results_page_shows_a_figure():
    import yaml

    nav = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text())["nav"]
    results = next(entry["Results"] for entry in nav if "Results" in entry)
    pages = [next(iter(item.values())) for item in results]
    assert len(pages) >= 4
    for page in pages:
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (DOCS / page).read_text(encoding="utf-8"))
        assert images, f"{page} shows no figure"
        assert all((DOCS / Path(page).parent / img).is_file() for img in images), page


def documented_parameters(doc: str) -> set[str]:
    """Names listed in a numpy-style docstring's Parameters section ("a, b : type" lines)."""
    import inspect as _inspect

    lines = _inspect.cleandoc(doc).splitlines()
    names: set[str] = set()
    try:
        start = next(i for i, ln in enumerate(lines[:-1]) if ln.strip() == "Parameters"
                     and set(lines[i + 1].strip()) == {"-"})  # fmt: skip
    except StopIteration:
        return names
    body = lines[start + 2 :]
    for i, line in enumerate(body):
        if line and not line.startswith(" "):
            if i + 1 < len(body) and set(body[i + 1].strip()) == {"-"}:  # the next section
                break
            entry = line.split(" : ")[0] if " : " in line else line
            names |= {n.strip().lstrip("*") for n in entry.split(",")}
    return names


def test_the_parameter_parser_reads_numpy_sections():
    doc = """Summary.

    Parameters
    ----------
    a, b : int
        Two.
    c
        Untyped.

    Returns
    -------
    d : int
    """
    assert documented_parameters(doc) == {"a", "b", "c"}


def _public_api() -> list[tuple[str, object]]:
    """Every registered component (the core's and the bundled plugins') and the top-level
    names: what users build by name or import first."""
    import sue_framework
    from sue_framework.registry import registry

    found = [(f"{e.kind} {e.name}", registry.get(e.kind, e.name)) for e in registry.entries()]
    found += [(n, getattr(sue_framework, n)) for n in sue_framework.__all__]
    return [(n, o) for n, o in found if inspect.isclass(o) or inspect.isfunction(o)]


def test_every_parameter_of_the_public_api_is_documented():
    missing = {}
    for label, obj in _public_api():
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            continue
        names = [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        absent = sorted(set(names) - documented_parameters(obj.__doc__ or ""))
        if absent:
            missing[label] = absent
    assert missing == {}, "add them to the docstring's numpy Parameters section"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_parameter_of_every_public_function_and_class_is_documented(package):
    """numpy Parameters sections across the package: every public function's and class's
    parameters (methods of classes: documented on the class, or by the contract they follow)."""
    pytest.importorskip(package)
    missing = {}
    skip = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    for dotted, obj in module_names(package):
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            continue
        names = [p.name for p in params if p.kind not in skip and p.name != "self"]
        absent = sorted(set(names) - documented_parameters(obj.__doc__ or ""))
        if absent:
            missing[dotted] = absent
    assert missing == {}


# a benchmark figure: a ratio (1.3x), a time (27 s, 4 ms), a percentage, an R@k value, a count
# of picks; they go stale with the next change, so they live on the docs pages that hold the
# benchmarks (with their commands), and docstrings link there
FIGURE = re.compile(
    r"R@\d+ (of |at )?\d|\b\d+(\.\d+)?x\b|\b\d+(\.\d+)? ?(s|ms|min)\b"
    r"|\d+ of \d+ (picks|choices|fits|cells)|\d+(\.\d+)? ?%|geometric mean"
    r"|\b\d+(\.\d+)? times (faster|slower|longer|less|more)"
)
NOT_FIGURES = {  # what these say is a definition, not a measurement
    ("sue_encoders.vicreg", "4x"),  # a ResNet bottleneck's channel expansion
    ("sue_tasks.geometry", "50 %"),  # the accuracy that means no modality gap
}


def _docstrings(root: Path):
    import ast

    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    yield module, getattr(node, "name", "(module)"), doc


def test_no_docstring_holds_a_benchmark_figure():
    repo = Path(__file__).resolve().parents[1]
    roots = [repo / "sue_framework", *sorted((repo / "plugins").glob("*/sue_*"))]
    found = [
        f"{module}.{name}: {m.group(0)!r}"
        for root in roots
        for module, name, doc in _docstrings(root)
        for m in FIGURE.finditer(doc)
        if (module, m.group(0)) not in NOT_FIGURES
    ]
    assert not found, "move these figures to the docs page of their benchmark: " + "; ".join(found)


@pytest.mark.parametrize(
    "text", ["was 1.1-1.3x faster", "took 27 s on two cores", "R@10 of 62", "4 of 95 picks"]
)
def test_the_figure_check_finds_figures(text):
    assert FIGURE.search(text)
