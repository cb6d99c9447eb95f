"""Every public name of the package and its plugins has a docstring, so the API reference the
documentation site generates (mkdocs.yml, docs/api/) describes all of it."""

import importlib
import inspect
import pkgutil

import pytest

PACKAGES = ["sue_framework", "sue_baselines", "sue_tasks", "sue_encoders", "sue_datasets"]


def public_names(package: str) -> list[tuple[str, object]]:
    root = importlib.import_module(package)
    found = []
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            found.append((f"{info.name}.{name}", obj))
            if inspect.isclass(obj):
                found += [(f"{info.name}.{name}.{m}", getattr(obj, m)) for m, f in vars(obj).items()
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
    exec(compile(block, "ablations.md", "exec"), {})
