"""The package is built in floors: a module never imports one from a higher floor (counting
imports inside functions), save the listed upcalls; the architecture page's diagram is the
one the code draws."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("floors", REPO / "docs" / "floors.py")
floors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(floors)


def test_no_module_imports_a_higher_floor():
    g = floors.graph()
    assert floors.upward(g) == []
    assert all(b in g[a] for a, b in floors.UPCALLS)  # each listed upcall is still there


def test_every_module_is_on_a_floor():
    for module in floors.graph():
        floors.floor_of(module)
    with pytest.raises(KeyError, match="on no floor"):
        floors.floor_of("sue_framework.newthing")


def test_the_check_finds_an_upward_import():
    g = {"sue_framework.runtime.engine": {"sue_framework.methods.sue", "sue_framework.errors"}}
    assert floors.upward(g) == [
        "sue_framework.runtime.engine -> sue_framework.methods.sue (runtime < methods)"
    ]


def test_the_architecture_page_shows_the_diagram_the_code_draws():
    text = floors.PAGE.read_text(encoding="utf-8")
    assert floors.page_with(text, floors.diagram(floors.graph())) == text, (
        "run python docs/floors.py"
    )
