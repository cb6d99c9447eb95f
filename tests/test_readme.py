import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_library_example_runs(tmp_path, monkeypatch, capsys):
    block = re.search(
        r"```python\n(from sue_framework import SUE.*?)```", README.read_text(), re.S
    ).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    assert "x2y_R@10" in capsys.readouterr().out
    assert (tmp_path / "digits.sue").is_file()
