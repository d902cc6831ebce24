"""The package's shape, as the README's "The code" describes it: folders are floors, imports
only run down (or stay on their floor), and no module outgrows 500 lines."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ovsched"
# top floor first, as in the README
FLOORS = [["__main__"], ["sweep"], ["cli"], ["run"], ["views"], ["derive"], ["data"],
          ["utilization"], ["errors", "files", "__init__"]]
FLOOR_OF = {name: len(FLOORS) - k for k, names in enumerate(FLOORS) for name in names}
MAX_LINES = 500


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def room(path):
    """The top-level name under ovsched/ a file belongs to (its folder, or its module)."""
    first = path.relative_to(PACKAGE).parts[0]
    return first[:-3] if first.endswith(".py") else first


def imported_rooms(path):
    """The rooms of ovsched that ``path`` imports, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE).parent.parts  # the package path of the module
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - (node.level - 1)]) if node.level > 1 else list(here)
                if node.level - 1 > len(here):
                    continue
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:  # "from . import x" at the top: x is the room
                    found.update(a.name for a in node.names)
                    continue
                found.add(parts[0])
            elif node.module and node.module.split(".")[0] == "ovsched":
                parts = node.module.split(".")
                found.add(parts[1] if len(parts) > 1 else node.names[0].name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "ovsched" and len(parts) > 1:
                    found.add(parts[1])
    return {r for r in found if r in FLOOR_OF}


def test_every_room_has_a_floor():
    assert {room(p) for p in modules()} <= set(FLOOR_OF)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down(path):
    mine = FLOOR_OF[room(path)]
    up = {r for r in imported_rooms(path) if FLOOR_OF[r] > mine}
    assert not up, f"{path.relative_to(PACKAGE)} (floor {mine}) imports from above: {up}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outgrows_500_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)}: {lines} lines"
