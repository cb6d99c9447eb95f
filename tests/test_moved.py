"""Modules that moved into sub-packages still import by their old paths for one release: the
same module objects, with a DeprecationWarning naming the new path."""

import importlib
import subprocess
import sys

import pytest

from sue_framework._moved import MOVED


@pytest.mark.slow  # a fresh interpreter for each path
@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_an_old_path_gives_the_moved_module_with_a_warning(old, new):
    code = (
        "import importlib, warnings\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({old!r})\n"
        f"new = importlib.import_module({new!r})\n"
        "assert old is new, (old, new)\n"
        f"assert any({new!r} in str(x.message) and x.category is DeprecationWarning for x in w)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_names_import_from_old_paths_and_the_warning_points_at_the_importer():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.modules.pop("sue_framework.pipeline", None)
        from sue_framework.pipeline import SUE  # noqa: F401
    from sue_framework.methods.sue import SUE as moved

    assert SUE is moved
    (warning,) = [w for w in caught if w.category is DeprecationWarning]
    assert "sue_framework.pipeline moved to sue_framework.methods.sue" in str(warning.message)
    assert warning.filename == __file__


def test_the_packages_that_kept_their_names_export_what_the_modules_did():
    methods = importlib.import_module("sue_framework.methods")
    assert set(methods.CORE_VARIANTS) == {"pair_cca", "semi_cca", "self_train"}
    assert callable(importlib.import_module("sue_framework.evaluation").task_inputs)
    assert callable(importlib.import_module("sue_framework.search").search)
