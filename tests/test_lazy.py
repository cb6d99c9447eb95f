"""Lazy exports of the plugin packages: names resolve on first access, nothing before."""

import subprocess
import sys

import pytest

from tests.conftest import needs


@needs("sue_baselines")
@pytest.mark.slow  # a fresh interpreter per check
def test_a_plugin_package_imports_its_modules_only_when_a_name_is_used():
    code = (
        "import sys\nimport sue_baselines\n"
        "before = 'sue_baselines.asif' in sys.modules\n"
        "from sue_baselines import ASIF\n"
        "print(before, 'sue_baselines.asif' in sys.modules, ASIF.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "True", "ASIF"], out.stderr[-500:]


@needs("sue_tasks")
def test_an_unknown_name_is_an_attribute_error():
    import sue_tasks

    with pytest.raises(AttributeError, match="'sue_tasks' has no attribute 'Nope'"):
        sue_tasks.Nope  # noqa: B018
    assert sue_tasks.ZeroShotTask.__module__ == "sue_tasks.classification"
