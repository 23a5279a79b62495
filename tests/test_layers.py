"""Imports flow one way: no module imports from a higher layer than its own.

The layer order is written once, in the docstring of ``recsys_lessons/__init__.py``; this test
reads it from there, parses every module of the package (``ast``, imports inside functions
included) and fails on any import that climbs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import recsys_lessons

PACKAGE = Path(recsys_lessons.__file__).parent


def layers() -> dict[str, int]:
    """``{"data": 1, "metrics": 2, ...}`` from the numbered list in the package docstring."""
    out: dict[str, int] = {}
    for number, names in re.findall(r"^(\d+)\. ((?:``[\w.]+``(?:, )?)+):", recsys_lessons.__doc__ or "", re.M):
        for name in re.findall(r"``([\w.]+)``", names):
            out[name] = int(number)
    return out


def unit_of(path: Path) -> str:
    """The layer unit of a file: its first component under the package (``models/mf.py`` -> ``models``)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_units(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """``(line, unit)`` for every import of a part of the package in ``path`` (or in ``source``)."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    here = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)  # ["recsys_lessons", "models", "mf"]
    package = here[:-1]  # the package a relative import starts from (for __init__.py, its own)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = base + (node.module.split(".") if node.module else [])
                # "from . import x" / "from .. import x": x itself may be the unit
                targets = [mod + [alias.name] for alias in node.names] if node.module is None else [mod]
            else:
                targets = [(node.module or "").split(".")]
        else:
            continue
        for t in targets:
            if t[0] == "recsys_lessons" and len(t) > 1:
                found.append((node.lineno, t[1]))
    return found


def test_the_docstring_lists_every_part_of_the_package():
    order = layers()
    parts = {unit_of(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts <= set(order), f"not placed in a layer in recsys_lessons/__init__.py: {sorted(parts - set(order))}"
    assert order["data"] < order["metrics"] < order["text"] < order["evaluation"] < order["models"] < order["widgets"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    order = layers()
    unit = unit_of(path)
    if unit == "__init__":
        return  # the package root re-exports the public names of several layers
    climbs = [
        f"line {line}: {unit} (layer {order[unit]}) imports {target} (layer {order[target]})"
        for line, target in imported_units(path)
        if target in order and order[target] > order[unit]
    ]
    assert not climbs, "\n".join(climbs)


def test_the_checker_sees_every_form_of_import():
    """Relative imports, imports inside functions, ``from .. import x`` and absolute imports."""
    source = (
        "import numpy\n"
        "def f():\n    from .models import base\n    from . import widgets\n"
        "import recsys_lessons.plots\nfrom recsys_lessons.text import embed_items\n"
    )
    assert sorted(t for _, t in imported_units(PACKAGE / "metrics.py", source)) == ["models", "plots", "text", "widgets"]
    nested = "from ..evaluation import top_k\nfrom .base import Recommender\nfrom ... import x\n"
    got = [t for _, t in imported_units(PACKAGE / "models" / "mf.py", nested)]
    assert got[:2] == ["evaluation", "models"]
