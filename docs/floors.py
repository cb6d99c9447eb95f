"""The floors of sue_framework, drawn from the code: which top-level units (sub-packages and
root modules) sit on which floor, and which floors each imports. Rewrites the diagram between
the floors markers of docs/architecture.md; tests/test_floors.py checks the page matches.

    python docs/floors.py            # rewrite the diagram
    python docs/floors.py --check    # exit 1 if the page is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "architecture.md"
START, END = "<!-- floors: written by docs/floors.py -->\n", "<!-- /floors -->\n"

# lowest first; a unit is the name after `sue_framework.` ("" is the package root)
FLOORS: list[tuple[str, set[str]]] = [
    ("foundation", {"errors", "hookspecs", "lazy", "keywords", "_moved"}),
    ("runtime", {"runtime"}),
    ("core", {"npy_rows", "validation", "data", "registry", "builtins", "interfaces"}),
    ("io", {"io"}),
    ("model_selection", {"model_selection"}),
    ("components", {"components"}),
    ("methods", {"methods"}),
    ("applications", {"evaluation", "search", "suggest", "datasets"}),
    ("experiments", {"experiment", "demo"}),
    ("command line", {"cli", "__main__", ""}),
]
# imports that go up a floor on purpose: each inside a function, each a base class's
# convenience that calls the floor that implements it
UPCALLS = {
    ("sue_framework.interfaces", "sue_framework.io.model_files"): "Method.save writes a file",
    ("sue_framework.interfaces", "sue_framework.model_selection.selection"): "Method.score",
}


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def floor_of(module: str) -> int:
    for i, (_, units) in enumerate(FLOORS):
        if unit(module) in units:
            return i
    raise KeyError(f"{module} is on no floor: add its unit to docs/floors.py FLOORS")


def graph() -> dict[str, set[str]]:
    sys.path.insert(0, str(REPO))
    from tests.test_imports import import_graph

    return import_graph()


def upward(g: dict[str, set[str]]) -> list[str]:
    """Every import of a higher floor in `g` (module -> modules it imports), but the upcalls."""
    return sorted(
        f"{a} -> {b} ({FLOORS[floor_of(a)][0]} < {FLOORS[floor_of(b)][0]})"
        for a, targets in g.items()
        for b in targets
        if floor_of(b) > floor_of(a) and (a, b) not in UPCALLS
    )


def diagram(g: dict[str, set[str]]) -> str:
    """The floors top to bottom, each with its units and the floors it imports."""
    uses: dict[int, set[int]] = {i: set() for i in range(len(FLOORS))}
    for a, targets in g.items():
        for b in targets:
            if (a, b) not in UPCALLS and floor_of(b) != floor_of(a):
                uses[floor_of(a)].add(floor_of(b))
    width = max(len(n) for n, _ in FLOORS)
    lines = []
    for i in reversed(range(len(FLOORS))):
        name, units = FLOORS[i]
        shown = ", ".join(sorted(u or "(package root)" for u in units))
        below = ", ".join(FLOORS[j][0] for j in sorted(uses[i], reverse=True)) or "-"
        lines.append(f"{i}  {name:<{width}}  {shown}")
        lines.append(f"   {'':<{width}}  imports: {below}")
    return "```\n" + "\n".join(lines) + "\n```\n"


def page_with(text: str, block: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}{block}{END}{tail}"


def main() -> int:
    text = PAGE.read_text(encoding="utf-8")
    if START not in text:
        print(f"{PAGE} lacks the floors markers", file=sys.stderr)
        return 1
    new = page_with(text, diagram(graph()))
    if "--check" in sys.argv:
        return int(new != text)
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
