import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_library_example_runs(tmp_path, monkeypatch, capsys):
    block = re.search(
        r"```python\n(from sue_framework import SUE.*?)```", README.read_text(), re.S
    ).group(1)
    suggest = re.search(
        r"```python\n(from sue_framework import suggest_pairs.*?)```", README.read_text(), re.S
    ).group(1)
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(block, "README.md", "exec"), names)
    assert "x2y_R@10" in capsys.readouterr().out
    assert (tmp_path / "digits.sue").is_file()
    exec(compile(suggest, "README.md", "exec"), names)  # goes on from the example's data
    assert len(names["ask"]) == 20


def test_the_docs_site_quickstart_is_the_readmes():
    """docs/index.md repeats the README's two commands; they must not drift apart."""
    index = (README.parent / "docs" / "index.md").read_text()
    commands = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)[:2]
    assert len(commands) == 2 and all(c in index for c in commands)
